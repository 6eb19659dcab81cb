// The sampling run finder must agree exactly with the regular expression it replaces.
import { describe, expect, it } from 'vitest';
import { base64Runs } from '../../../scanner/engine/base64-runs.js';
import { seededRandom } from '../../helpers/seed.js';

const random = seededRandom();

function viaRegex(text: string): Array<[number, number]> {
  return [...text.matchAll(/[A-Za-z0-9+/]{32,}={0,2}/g)].map((m) => [m.index!, m.index! + m[0].length]);
}
function viaSampler(text: string): Array<[number, number]> {
  const runs = base64Runs(Buffer.from(text, 'latin1'));
  const out: Array<[number, number]> = [];
  for (let k = 0; k < runs.length; k += 2) out.push([runs[k]!, runs[k + 1]!]);
  return out;
}

describe('base64Runs', () => {
  it('agrees with /[A-Za-z0-9+/]{32,}={0,2}/g on random mixtures of runs and separators', () => {
    const alphabet = 'ABCabc012+/';
    for (let trial = 0; trial < 300; trial++) {
      const parts: string[] = [];
      const r = random.bytes(64);
      for (let k = 0; k < 20; k++) {
        const len = r[k]! % 70;
        parts.push(Array.from({ length: len }, (_, i) => alphabet[(r[(k + i) % 64]! + i) % alphabet.length]).join(''));
        parts.push(['=', '==', '===', ' ', '-', '\n', '_', '.'][r[k + 20]! % 8]!);
      }
      const text = parts.join('');
      expect(viaSampler(text), text).toEqual(viaRegex(text));
    }
  });

  it('agrees on runs near the threshold split by single separators (each way the run at a sample is checked)', () => {
    for (let trial = 0; trial < 500; trial++) {
      const r = random.bytes(40);
      const parts: string[] = [];
      for (let k = 0; k < 40; k++) parts.push('aB3+/'.repeat(8).slice(0, 26 + (r[k]! % 12)), ' .=\n'[r[k]! % 4]!);
      const text = parts.join('').slice(r[0]! % 7);
      expect(viaSampler(text), text).toEqual(viaRegex(text));
    }
  });

  it('finds runs of exactly 32 at every alignment and ignores 31', () => {
    for (let pad = 0; pad < 40; pad++) {
      const text = `${' '.repeat(pad)}${'A'.repeat(32)} ${'B'.repeat(31)} x`;
      expect(viaSampler(text)).toEqual(viaRegex(text));
    }
  });
});
