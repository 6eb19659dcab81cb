// The callback a receiver makes after rotating: `POST /v1/findings/<fingerprint>/rotated` with
// `Authorization: Bearer <callback.token>` and optional `{"revoked": bool, "note": str}`. Pure: one-time
// tokens (random, only a SHA-256 hash kept, checked in constant time, single use), the body schema,
// and the audit wording. The API route and the store (compare-and-set) persist what these return.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** Marks the token in logs and lets keywarden's own rules recognise a pasted one. */
export const CALLBACK_TOKEN_PREFIX = 'kwcb_';
const TOKEN_SHAPE = /^kwcb_[A-Za-z0-9_-]{43}$/;

/**
 * Tokens kept per finding: every try of every delivery carries a new token, and any of them may call
 * back. Enough for `rotation.delivery.attempts` (at most 100) tries to each of a few targets, so a
 * target retried many times cannot push out the token another target already received.
 */
export const MAX_LIVE_TOKENS = 200;

export const CallbackTokenRecord = z
  .object({
    /** The first 12 hex digits of the hash: names the token in the audit trail. */
    id: z.string(),
    /** Hex SHA-256 of the token. The token itself is never stored. */
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    /** Epoch ms. */
    issuedAt: z.number(),
    expiresAt: z.number(),
  })
  .strict();
export type CallbackTokenRecord = z.infer<typeof CallbackTokenRecord>;

/** What the store keeps per finding (as JSON): hashes only. */
export const CallbackTokens = z
  .object({
    tokens: z.array(CallbackTokenRecord),
    /** Set once a token was accepted; every token of the set is spent from then on. */
    used: z.object({ at: z.number(), tokenId: z.string() }).strict().nullable(),
  })
  .strict();
export type CallbackTokens = z.infer<typeof CallbackTokens>;

export const NO_CALLBACK_TOKENS: CallbackTokens = Object.freeze({ tokens: [], used: null }) as CallbackTokens;

function sha256(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * A new token for the finding's next delivery. Earlier unexpired tokens stay valid (the receiver may
 * answer the first delivery after a retry was sent); once a token was used, a new request starts a
 * fresh set. Returns the token once: only its hash is in `state`.
 */
export function issueCallbackToken(
  state: CallbackTokens | null,
  opts: { now: number; ttlMs: number },
): { token: string; tokenId: string; state: CallbackTokens } {
  const token = `${CALLBACK_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const hash = sha256(token).toString('hex');
  const record: CallbackTokenRecord = { id: hash.slice(0, 12), hash, issuedAt: opts.now, expiresAt: opts.now + opts.ttlMs };
  const kept = state && state.used === null ? state.tokens.filter((t) => t.expiresAt > opts.now) : [];
  return { token, tokenId: record.id, state: { tokens: [...kept, record].slice(-MAX_LIVE_TOKENS), used: null } };
}

export type CallbackRejection = 'missing' | 'malformed' | 'unknown' | 'used' | 'expired';

/** The attempt as the audit trail keeps it: never the token, only the id of a token that matched. */
export interface CallbackAttempt {
  /** ISO. */
  at: string;
  outcome: 'accepted' | 'rejected';
  reason: CallbackRejection | null;
  tokenId: string | null;
  /** One line for the audit event. */
  summary: string;
}

export type CallbackCheck =
  | {
      ok: true;
      tokenId: string;
      /** To persist (compare-and-set) with the transition. */
      state: CallbackTokens;
      attempt: CallbackAttempt;
    }
  | {
      ok: false;
      reason: CallbackRejection;
      /** 401: no valid credential; 403: a real token, spent or expired. */
      status: 401 | 403;
      attempt: CallbackAttempt;
    };

const REJECTION_TEXT: Record<CallbackRejection, string> = {
  missing: 'no bearer token',
  malformed: 'not a callback token',
  unknown: 'no such token for this finding',
  used: 'token already used',
  expired: 'token expired',
};

/**
 * Checks a presented token against the finding's hashes. Every stored hash is compared (constant
 * time, no early exit), so timing tells nothing about which or how many exist. A finding without
 * tokens answers `unknown` like a wrong token, so a guess learns nothing about the finding.
 */
export function checkCallbackToken(
  state: CallbackTokens | null,
  presented: string | null | undefined,
  now: number,
): CallbackCheck {
  const at = new Date(now).toISOString();
  const reject = (reason: CallbackRejection, tokenId: string | null = null): CallbackCheck => ({
    ok: false,
    reason,
    status: reason === 'used' || reason === 'expired' ? 403 : 401,
    attempt: {
      at,
      outcome: 'rejected',
      reason,
      tokenId,
      summary: `callback rejected: ${REJECTION_TEXT[reason]}${tokenId ? ` (token ${tokenId})` : ''}`,
    },
  });
  if (presented === null || presented === undefined || presented === '') return reject('missing');
  if (!TOKEN_SHAPE.test(presented)) return reject('malformed');
  const given = sha256(presented);
  let match: CallbackTokenRecord | null = null;
  for (const t of state?.tokens ?? []) {
    if (timingSafeEqual(given, Buffer.from(t.hash, 'hex')) && match === null) match = t;
  }
  if (!state || match === null) return reject('unknown');
  if (state.used !== null) return reject('used', match.id);
  if (match.expiresAt <= now) return reject('expired', match.id);
  return {
    ok: true,
    tokenId: match.id,
    state: { tokens: state.tokens, used: { at: now, tokenId: match.id } },
    attempt: { at, outcome: 'accepted', reason: null, tokenId: match.id, summary: `callback accepted (token ${match.id})` },
  };
}

/** The token from `Authorization: Bearer <token>`, or null. */
export function bearerToken(authorization: string | string[] | undefined): string | null {
  if (typeof authorization !== 'string') return null;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return m ? (m[1] as string) : null;
}

/** The optional callback body. Unknown fields are ignored: receivers' tools add their own. */
export const CallbackRequest = z.object({
  /** The receiver's claim that the old key is revoked: recorded, never taken as confirmation. */
  revoked: z.boolean().optional(),
  /** Kept in the audit trail (after redaction by the API): never put a key here. */
  note: z.string().max(2000).optional(),
});
export type CallbackRequest = z.infer<typeof CallbackRequest>;

/** The audit reason for an accepted callback. */
export function describeCallback(body: CallbackRequest, tokenId: string | null): string {
  const who = tokenId ? `receiver (token ${tokenId})` : 'admin token';
  let s = `rotated, reported by ${who}`;
  if (body.revoked === true) s += '; claims the old key is revoked (unconfirmed: the provider decides)';
  if (body.revoked === false) s += '; says the old key is not revoked yet';
  if (body.note !== undefined && body.note.trim() !== '') s += `; note: ${body.note.trim()}`;
  return s;
}
