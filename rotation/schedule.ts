// When to ask the provider whether the old key still works, and when to escalate: pure functions of
// the times the caller persisted (request, rotation, last check) and the revocation settings. The
// confirm-revocation processor schedules its next job at `at`; no clock is read here.
import type { RevocationSchedule } from '../config/sections/rotation.js';

/** Epoch ms by which the key must be confirmed dead: the rotation request plus the SLA. */
export function slaDeadline(requestedAt: number, schedule: Pick<RevocationSchedule, 'slaMs'>): number {
  return requestedAt + schedule.slaMs;
}

/**
 * The wait after the `checksDone`-th check: `pollInterval` after the first, then multiplied by
 * `backoffFactor` each time, never above `maxPollInterval`.
 */
export function pollDelay(checksDone: number, s: RevocationSchedule): number {
  if (checksDone <= 0) return s.firstPollMs;
  const grown = s.pollIntervalMs * s.backoffFactor ** (checksDone - 1);
  return Math.min(Number.isFinite(grown) ? grown : s.maxPollIntervalMs, s.maxPollIntervalMs);
}

export interface RevocationProgress {
  /** When rotation was requested (epoch ms): the SLA runs from here. */
  requestedAt: number;
  /** When the receiver called back (or a human marked it rotated). */
  rotatedAt: number;
  /** Liveness checks done so far that did not answer `revoked`. */
  checksDone: number;
  /** When the last of them ran; ignored when `checksDone` is 0. */
  lastCheckAt?: number;
  /** Already escalated: keep checking (a human may revoke it later), never escalate twice. */
  escalated: boolean;
}

export interface RevocationStep {
  /** Escalate now (audited, `rotation.escalated` and notifications): the SLA passed without a `revoked`. */
  escalate: boolean;
  /** Epoch ms of the next check. */
  at: number;
  /** 1-based number of that check. */
  check: number;
}

/**
 * The next step after the last check (or after the callback, with `checksDone` 0). Before the
 * deadline, checks follow the backoff but the last one lands on the deadline itself, so a key revoked
 * just in time is not escalated. Once a check at or after the deadline still finds the key alive (or
 * unknown), the step escalates; checks then go on at the longest interval until the provider says
 * revoked or a human closes the finding. An `unknown` answer counts like `live`: it never closes.
 */
export function nextRevocationCheck(p: RevocationProgress, s: RevocationSchedule): RevocationStep {
  const deadline = slaDeadline(p.requestedAt, s);
  if (p.checksDone === 0) {
    const at = p.rotatedAt + s.firstPollMs;
    return { escalate: false, at: p.escalated ? at : Math.min(at, Math.max(deadline, p.rotatedAt)), check: 1 };
  }
  const last = p.lastCheckAt ?? p.rotatedAt;
  if (p.escalated) return { escalate: false, at: last + s.maxPollIntervalMs, check: p.checksDone + 1 };
  if (last >= deadline) return { escalate: true, at: last + s.maxPollIntervalMs, check: p.checksDone + 1 };
  return { escalate: false, at: Math.min(last + pollDelay(p.checksDone, s), deadline), check: p.checksDone + 1 };
}

/**
 * While waiting for the callback: escalate once `now` reaches the deadline. The rotate processor
 * schedules one delayed check at the deadline; it escalates only if the finding is still waiting.
 */
export function callbackOverdue(requestedAt: number, now: number, s: Pick<RevocationSchedule, 'slaMs'>): boolean {
  return now >= slaDeadline(requestedAt, s);
}
