// Durations as the runtime's options take them: milliseconds as a number, or a string such as
// `500ms`, `30s`, `15m`, `4h`, `1d` (the forms keywarden's settings use). Parsed once, when an
// object is created, so a typo fails at start-up rather than on the first refresh.
import { KeywardenError } from '../errors/error.js';

/** Milliseconds, or a string like `'30s'`. */
export type Duration = number | string;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** The duration in milliseconds; `what` names the option in the error. Throws KW_CONFIG_INVALID. */
export function toMilliseconds(value: Duration, what: string): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else {
    const m = DURATION.exec(value.trim());
    if (m === null) {
      throw new KeywardenError('KW_CONFIG_INVALID', `${what}: ${JSON.stringify(value)} is not a duration`, [
        'use milliseconds as a number, or a string such as "500ms", "30s", "15m", "4h", "1d"',
      ]);
    }
    ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  }
  if (!Number.isFinite(ms) || ms < 0) throw new KeywardenError('KW_CONFIG_INVALID', `${what} must be a duration >= 0`);
  return Math.round(ms);
}
