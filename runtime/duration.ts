// Durations as the runtime's options take them: milliseconds as a number, or a string such as
// `500ms`, `30s`, `15m`, `4h`, `1d` (the forms keywarden's settings use). Parsed once, when an
// object is created, so a typo fails at start-up rather than on the first refresh.
import { parseDuration } from '../config/units.js';
import { KeywardenError } from '../errors/error.js';

/** Milliseconds, or a string like `'30s'`. */
export type Duration = number | string;

/** The duration in milliseconds; `what` names the option in the error. Throws KW_CONFIG_INVALID. */
export function toMilliseconds(value: Duration, what: string): number {
  const ms = typeof value === 'number' ? value : parseDuration(value, { bareNumber: 'refuse' });
  if (ms === null) {
    throw new KeywardenError('KW_CONFIG_INVALID', `${what}: ${JSON.stringify(value)} is not a duration`, [
      'use milliseconds as a number, or a string such as "500ms", "30s", "15m", "4h", "1d"',
    ]);
  }
  if (!Number.isFinite(ms) || ms < 0) throw new KeywardenError('KW_CONFIG_INVALID', `${what} must be a duration >= 0`);
  return Math.round(ms);
}
