// Shannon entropy: the ASCII fast path must give the bits the plain definition gives, or entropy
// floors would move for secrets near them.
import { describe, expect, it } from 'vitest';
import { shannonEntropy } from '../../../scanner/engine/entropy.js';

/** The definition, by code point, as a reader counts characters. */
function reference(s: string): number {
  const tally = new Map<string, number>();
  const chars = [...s];
  for (const ch of chars) tally.set(ch, (tally.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of tally.values()) h -= (c / chars.length) * Math.log2(c / chars.length);
  return h;
}

describe('shannonEntropy', () => {
  it('is 0 for empty and one-character text, log2(n) for n distinct characters', () => {
    expect(shannonEntropy('')).toBe(0);
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
    expect(shannonEntropy('0123456789abcdef')).toBe(4);
  });

  it('gives the same bits as the definition on ASCII and non-ASCII text', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-.~:';
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let t = 0; t < 200; t++) {
      const len = 1 + (next() % 80);
      let s = '';
      for (let i = 0; i < len; i++) s += alphabet[next() % alphabet.length];
      expect(shannonEntropy(s)).toBe(reference(s));
    }
    for (const s of ['pässwörd123', 'key🔑key🔑', 'ascii then é', '日本語のパスワード']) {
      expect(shannonEntropy(s)).toBe(reference(s));
      // The fast path's scratch counts are cleared when it falls back: the next call is unaffected.
      expect(shannonEntropy('abcd')).toBe(2);
    }
  });
});
