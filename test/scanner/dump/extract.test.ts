// The string extractor: ASCII and UTF-16LE runs, the offset map back to input bytes, and the same
// output whatever piece boundaries the stream arrives with.
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../../rules/examples.js';
import { extractStrings, StringExtractor } from '../../../scanner/sources/strings.js';

const u16 = (s: string) => Buffer.from(s, 'utf16le');
const ascii = (s: string) => Buffer.from(s, 'latin1');

/** Random binary with printable runs, UTF-16 runs and newlines mixed in. */
function corpus(seed: number, size: number): Buffer {
  const rng = seededRng(seed);
  const parts: Buffer[] = [];
  let n = 0;
  while (n < size) {
    const r = rng();
    const len = 1 + Math.floor(rng() * 40);
    let p: Buffer;
    if (r < 0.3) p = Buffer.from(Array.from({ length: len }, () => Math.floor(rng() * 256)));
    else if (r < 0.5) p = Buffer.alloc(len);
    else {
      const s = Array.from({ length: len }, () => (rng() < 0.1 ? '\n' : String.fromCharCode(0x21 + Math.floor(rng() * 90)))).join(
        '',
      );
      p = r < 0.8 ? ascii(s) : u16(s);
    }
    parts.push(p);
    n += p.length;
  }
  return Buffer.concat(parts);
}

function extractInPieces(input: Buffer, cuts: number[], minLength = 8) {
  const ex = new StringExtractor({ minLength });
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, input.length]) {
    out.push(ex.push(input.subarray(at, c)));
    at = c;
  }
  out.push(ex.end());
  return { text: Buffer.concat(out), map: ex.map };
}

/** 1 + newlines before `off`, and 1 + bytes since the last newline. */
function lineCol(input: Buffer, off: number) {
  let line = 1;
  let last = -1;
  for (let k = input.indexOf(10); k !== -1 && k < off; k = input.indexOf(10, k + 1)) {
    line++;
    last = k;
  }
  return { line, column: off - last };
}

describe('string extraction', () => {
  it('keeps ASCII and UTF-16LE runs of at least the minimum length, separated by newlines', () => {
    const input = Buffer.concat([
      ascii('\x01\x02short\x00'),
      ascii('long enough run\xff'),
      u16('wide string here'),
      ascii('\x00\x00\x03'),
    ]);
    const { text } = extractStrings(input, { minLength: 8 });
    expect(text.toString('latin1')).toBe('long enough run\nwide string here\n');
  });

  it('maps every extracted character to its input byte offset', () => {
    const input = corpus(1, 200_000);
    const { text, map } = extractStrings(input, { minLength: 6 });
    expect(text.length).toBeGreaterThan(10_000);
    let checked = 0;
    const wrong: number[] = [];
    for (let t = 0; t < text.length; t++) {
      if (text[t] === 10) continue; // separators map nowhere in particular
      const { offset, stride } = map.locate(t);
      if (input[offset] !== text[t] || (stride === 2 && input[offset + 1] !== 0)) wrong.push(t);
      checked++;
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(10_000);
  });

  it('gives exact lines and byte columns for ASCII runs', () => {
    const input = corpus(7, 50_000);
    const { text, map } = extractStrings(input, { minLength: 8 });
    for (let t = 0; t < text.length; t += 97) {
      if (text[t] === 10) continue;
      const loc = map.locate(t);
      if (loc.stride !== 1) continue;
      expect({ line: loc.line, column: loc.column }).toEqual(lineCol(input, loc.offset));
    }
  });

  it('produces the same text and offsets whatever the piece boundaries', () => {
    const input = corpus(3, 100_000);
    const whole = extractInPieces(input, []);
    const rng = seededRng(9);
    for (let round = 0; round < 5; round++) {
      const cuts: number[] = [];
      for (let at = 0; ; ) {
        at += 1 + Math.floor(rng() * (round < 2 ? 7 : 5000));
        if (at >= input.length) break;
        cuts.push(at);
      }
      const pieces = extractInPieces(input, cuts);
      expect(pieces.text.equals(whole.text)).toBe(true);
      for (let t = 0; t < whole.text.length; t += 13) {
        if (whole.text[t] === 10) continue;
        expect(pieces.map.locate(t)).toEqual(whole.map.locate(t));
      }
    }
  });

  it('rejects a minimum length below 4', () => {
    expect(() => new StringExtractor({ minLength: 2 })).toThrow(/minimum string length/);
  });
});
