// The callback a receiver makes after rotating (`POST /v1/findings/<fingerprint>/rotated`), as the API
// route calls it: the one-time token checked against the finding's hashes (rotation/callback.ts), the
// token spent and the finding moved to `rotated` in one compare-and-set (workers/store.ts), then the
// confirmation round started. A refused attempt changes nothing and is audited without the token; an
// unknown finding is refused like a wrong token, so a guess learns nothing.
import { randomBytes } from 'node:crypto';
import {
  type CallbackRejection,
  type CallbackRequest,
  CallbackTokens,
  checkCallbackToken,
  describeCallback,
} from '../rotation/callback.js';
import { compilePack } from '../scanner/engine/compile.js';
import { redactLines } from '../scanner/redact-lines.js';
import type { Redactor } from '../scanner/redact-spans.js';
import type { Loop } from './loop.js';
import { startConfirmation } from './loop-actions.js';

export type CallbackOutcome =
  | {
      ok: true;
      from: string;
      to: string;
      /** The confirmation round started, and when its first check runs (epoch ms). */
      round: number;
      firstCheckAt: number;
      tokenId: string | null;
    }
  | { ok: false; status: 401 | 403; reason: CallbackRejection | 'no-finding'; message: string };

const redactors = new WeakMap<Loop, Redactor>();

/**
 * The note as the audit trail keeps it: keywarden's own rules redact any key pasted into it, control
 * characters become spaces (one audit line stays one line).
 */
export function redactNote(loop: Loop, note: string): string {
  let r = redactors.get(loop);
  if (!r) {
    // A key of this process only: the markers' short fingerprints match nothing outside it.
    r = { pack: compilePack(loop.rules, {}), key: randomBytes(32), stream: 'callback-note', markers: new Map() };
    redactors.set(loop, r);
  }
  const clean = note.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  return redactLines(r, Buffer.from(clean, 'utf8'), false).out.toString('utf8');
}

/**
 * `presented`: the bearer token, or null; `admin`: the caller presented the admin API token instead
 * (people and scripts), which needs no callback token.
 */
export async function acceptCallback(
  loop: Loop,
  fp: string,
  input: {
    presented: string | null;
    admin: boolean;
    body: CallbackRequest;
    actor: string;
  },
): Promise<CallbackOutcome> {
  const finding = await loop.store.get(fp);
  if (!finding) {
    if (input.admin) return { ok: false, status: 401, reason: 'no-finding', message: `no finding ${fp}` };
    // The same answer as a wrong token: whether a fingerprint exists is not told to a guesser.
    return { ok: false, status: 401, reason: 'unknown', message: 'callback rejected: no such token for this finding' };
  }
  const body: CallbackRequest = {
    ...(input.body.revoked !== undefined ? { revoked: input.body.revoked } : {}),
    ...(input.body.note !== undefined ? { note: redactNote(loop, input.body.note) } : {}),
  };
  let tokenId: string | null = null;
  if (!input.admin) {
    const now = loop.now();
    const { state } = await loop.rotation.tokens(fp);
    const check = checkCallbackToken(state, input.presented, now);
    if (!check.ok) {
      await loop.store.note(fp, 'callback_rejected', { actor: input.actor, reason: check.attempt.summary });
      return { ok: false, status: check.status, reason: check.reason, message: check.attempt.summary };
    }
    tokenId = check.tokenId;
  }
  const key = loop.store.keyOf(fp, 'callback');
  let refused: { status: 401 | 403; reason: CallbackRejection; message: string } | null = null;
  const moved = await loop.store
    .apply(
      fp,
      'rotated',
      { actor: input.actor, reason: describeCallback(body, tokenId) },
      input.admin
        ? {}
        : {
            // Checked again with the move: of two racing callbacks with the same token, one spends it.
            guard: async () => {
              const { raw, state } = await loop.rotation.tokens(fp);
              const again = checkCallbackToken(state, input.presented, loop.now());
              if (!again.ok) {
                refused = { status: again.status, reason: again.reason, message: again.attempt.summary };
                throw new CallbackRefused();
              }
              return { key, expected: raw, value: JSON.stringify(CallbackTokens.parse(again.state)) };
            },
          },
    )
    .catch((err: unknown) => {
      if (err instanceof CallbackRefused) return null;
      throw err;
    });
  if (moved === null) {
    const r = refused as unknown as { status: 401 | 403; reason: CallbackRejection; message: string };
    await loop.store.note(fp, 'callback_rejected', { actor: input.actor, reason: r.message });
    return { ok: false, ...r };
  }
  const confirmation = await startConfirmation(loop, fp, `callback:${tokenId ?? `admin:${moved.auditId}`}`);
  return { ok: true, from: moved.from, to: moved.to, round: confirmation.round, firstCheckAt: confirmation.at, tokenId };
}

class CallbackRefused extends Error {}
