// The engine compiles case-insensitive rule patterns folded to ASCII classes (ascii-fold.ts): on ASCII
// text the folded pattern must match exactly what the pattern as written matches, same spans, same
// groups. Checked on every rule's examples and negatives, as written and with random case flips.
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { builtinRuleFiles } from '../../../rules/builtin.js';
import { loadRulePack } from '../../../rules/load.js';
import { foldAsciiCase } from '../../../scanner/engine/ascii-fold.js';
import { enginePattern, relaxRepetitions } from '../../../scanner/engine/compile.js';
import { seededRandom } from '../../helpers/seed.js';

const random = seededRandom();
const rules = loadRulePack(builtinRuleFiles());

function flipCase(text: string): string {
  let out = '';
  for (const ch of text)
    out += /[A-Za-z]/.test(ch) && random.int(3) === 0 ? (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()) : ch;
  return out;
}

function allMatches(re: RE2, text: string): Array<Array<string | undefined>> {
  re.lastIndex = 0;
  const out: Array<Array<string | undefined>> = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push([String(m.index), ...m]);
    if (m[0] === '') re.lastIndex++;
  }
  return out;
}

describe('foldAsciiCase', () => {
  it('spells (?i) parts in ASCII classes and leaves case-sensitive parts alone', () => {
    expect(foldAsciiCase('(?i)tok')).toBe('[tT][oO][kK]');
    expect(foldAsciiCase('ab(?i:cd)ef')).toBe('ab(?:[cC][dD])ef');
    expect(foldAsciiCase('(?i)[a-c_]x')).toBe('[A-C_a-c][xX]');
    expect(foldAsciiCase('(?i)[^a-z]')).toBe('[^A-Za-z]');
    expect(foldAsciiCase('(?im)^key')).toBe('(?m)^[kK][eE][yY]');
    expect(foldAsciiCase('(?i)(?P<v>x)\\d{2,4}')).toBe('(?P<v>[xX])\\d{2,4}');
    expect(foldAsciiCase('(?i)[a-z.-]')).toBe('[\\-.A-Za-z]'); // a trailing `-` stays a literal
    expect(foldAsciiCase('(?i)[\\da-f]')).toBe('[A-Fa-f\\d]');
    expect(foldAsciiCase('no flags [a-z]')).toBe('no flags [a-z]');
  });

  it('returns the pattern unchanged where it cannot fold soundly', () => {
    for (const p of ['(?i)\\p{L}+', '(?i)é', '(?i)[[:alpha:]]', '(?i)\\Qa.b\\E', '(?i)(unclosed'])
      expect(foldAsciiCase(p)).toBe(p);
  });

  it("matches what each rule's pattern matches on its examples and negatives, with random case flips", () => {
    let folded = 0;
    for (const rule of rules) {
      const patterns = [rule.pattern, rule.pair?.pattern, rule.near?.pattern].filter((p): p is string => p !== undefined);
      const texts = [...rule.examples, ...rule.negatives].flatMap((t) => [t, flipCase(t), flipCase(t)]);
      for (const p of patterns) {
        const engine = enginePattern(p);
        if (engine === relaxRepetitions(p)) continue;
        folded++;
        const asWritten = new RE2(relaxRepetitions(p), 'g');
        const asCompiled = new RE2(engine, 'g');
        for (const t of texts) {
          if (!/^[\x00-\x7f]*$/.test(t)) continue; // the fold is exact on ASCII text, which keys are
          expect(allMatches(asCompiled, t), `${rule.id}: ${p} on ${JSON.stringify(t)} (seed ${random.seed})`).toEqual(
            allMatches(asWritten, t),
          );
        }
      }
    }
    expect(folded).toBeGreaterThan(100); // the pack's case-insensitive patterns all fold
  });
});
