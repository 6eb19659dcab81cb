// Short keyed hashes for audit lines: enough to tell two values apart and to follow a value through
// the trail (the `to` of one rotation is the `from` of the next), never enough to recover or confirm
// a guessed value. Keyed (HMAC-SHA256) so a weak secret cannot be confirmed offline from a log.
import { createHmac, randomBytes } from 'node:crypto';

/** A per-process key: hashes correlate within one process's audit trail. */
const PROCESS_KEY = randomBytes(32);

/** 12 hex digits (48 bits) of HMAC-SHA256(key, value). Pass the same `key` everywhere for stable hashes. */
export function shortHash(value: string, key: Buffer | string = PROCESS_KEY): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 12);
}
