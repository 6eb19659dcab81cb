// The rotation webhook's signature scheme, shared by the sender (rotation/) and receivers
// (runtime/'s rotation receiver, users' own code). A leaf: node:crypto only, so runtime/ may import it.
//
//   Keywarden-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//
// The timestamp is inside the MAC so a captured delivery cannot be replayed after the tolerance
// window; several v1= entries may appear (a receiver accepts any), which lets a sender roll its
// secret without a gap.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header name, as receivers look it up (HTTP header names are case-insensitive). */
export const SIGNATURE_HEADER = 'Keywarden-Signature';

/** Replays older (or clocks further ahead) than this are refused by default: 5 minutes. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

function mac(secret: string, timestamp: number, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** The header value for `rawBody` signed at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, rawBody: string | Buffer, timestamp: number): string {
  return `t=${timestamp},v1=${mac(secret, timestamp, rawBody)}`;
}

export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'mismatch' };

export interface VerifyOptions {
  /** Unix seconds; defaults to the clock. */
  now?: number;
  /** @defaultValue 300 (seconds) */
  toleranceSeconds?: number;
}

/**
 * Checks a `Keywarden-Signature` header against the raw request body (the exact bytes received:
 * re-serialised JSON does not verify). Secrets may be several (during a secret roll-over).
 * Comparison is constant-time; the reason never includes the expected MAC.
 */
export function verifySignature(
  secrets: string | readonly string[],
  rawBody: string | Buffer,
  header: string | undefined | null,
  opts: VerifyOptions = {},
): SignatureCheck {
  if (header === undefined || header === null || header === '') return { ok: false, reason: 'missing' };
  let timestamp: number | undefined;
  const given: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) timestamp = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/i.test(v)) given.push(Buffer.from(v.toLowerCase(), 'hex'));
  }
  if (timestamp === undefined || given.length === 0) return { ok: false, reason: 'malformed' };
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return { ok: false, reason: 'expired' };
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    const want = Buffer.from(mac(secret, timestamp, rawBody), 'hex');
    if (given.some((g) => timingSafeEqual(g, want))) return { ok: true, timestamp };
  }
  return { ok: false, reason: 'mismatch' };
}
