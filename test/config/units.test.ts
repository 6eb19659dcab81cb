import { describe, expect, it } from 'vitest';
import { parseDuration, parseSize } from '../../config/units.js';

describe('parseSize', () => {
  const cases: Record<string, number | null> = {
    '10MB': 10_000_000,
    '10 mb': 10_000_000,
    '1MiB': 1 << 20,
    '2k': 2000,
    '123': 123,
    '1.5KB': 1500,
    ten: null,
    '10XB': null,
    '': null,
  };
  for (const [text, want] of Object.entries(cases))
    it(`${JSON.stringify(text)} → ${want}`, () => expect(parseSize(text)).toBe(want));
});

describe('parseDuration', () => {
  const cases: Record<string, number | null> = {
    '0s': 0,
    '500ms': 500,
    '30s': 30_000,
    '15m': 900_000,
    '4h': 14_400_000,
    '1d': 86_400_000,
    '1.5s': 1500,
    '250': 250,
    '10 years': null,
    '-1s': null,
    '': null,
  };
  for (const [text, want] of Object.entries(cases))
    it(`${JSON.stringify(text)} → ${want}`, () => expect(parseDuration(text)).toBe(want));
});
