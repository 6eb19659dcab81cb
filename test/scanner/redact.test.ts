import { describe, expect, it } from 'vitest';
import { MAX_REVEALED_FRACTION, redactPreview } from '../../scanner/redact.js';
import { BASE62, randomString, seeded } from './reporters/fixture.js';

const revealed = (preview: string) => Array.from(preview.replace('…', '')).length;

describe('redactPreview', () => {
  const cases: Record<string, [secret: string, preview: string]> = {
    '16+ chars: first 4 and last 2': ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_…89'],
    'exactly 16': ['0123456789abcdef', '0123…ef'],
    '8-15 chars: first 2 and last 1': ['abcdefghijklmno', 'ab…o'],
    'exactly 8': ['abcdefgh', 'ab…h'],
    'under 8: first 1': ['abcdefg', 'a…'],
    '3 chars': ['abc', 'a…'],
    '2 chars: 1 would be 50%, so nothing': ['ab', '…'],
    '1 char': ['a', '…'],
    empty: ['', '…'],
  };
  it.each(Object.entries(cases))('%s', (_name, [secret, preview]) => {
    expect(redactPreview(secret)).toBe(preview);
  });

  it(`never reveals more than ${MAX_REVEALED_FRACTION * 100}% of the secret, for lengths 0..200`, () => {
    for (let n = 0; n <= 200; n++) {
      const p = redactPreview('x'.repeat(n));
      expect(revealed(p), `length ${n}`).toBeLessThanOrEqual(Math.floor(n * MAX_REVEALED_FRACTION));
    }
  });

  it('never contains the secret, for generated secrets of lengths 1..200', () => {
    const rng = seeded(7);
    const alphabets = [BASE62, '0123456789abcdef', 'ab', '-_=+/.:@ab'];
    for (let n = 1; n <= 200; n++) {
      for (const alphabet of alphabets) {
        for (let k = 0; k < 5; k++) {
          const secret = randomString(rng, n, alphabet);
          const p = redactPreview(secret);
          expect(p.includes(secret), `length ${n}`).toBe(false);
          expect(p).toContain('…');
        }
      }
    }
  });

  it('counts code points, so an astral character is never split into half a surrogate pair', () => {
    const p = redactPreview(`${'😀'.repeat(10)}abcdef😀`);
    expect(p).toBe('😀😀😀😀…f😀');
    // With the `u` flag this class matches lone surrogates only.
    expect(/[\uD800-\uDFFF]/u.test(p)).toBe(false);
  });
});
