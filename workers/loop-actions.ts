// The rotation loop's steps that more than one caller takes (the rotate and confirm-revocation
// processors, the API's callback and rotate routes, `keywarden rotate`): handing a scan's new findings
// to the loop (raw secret into the vault, the policy's job enqueued), sending a rotation request,
// escalating, revoking at the provider, starting a confirmation round. Each is safe to run twice: state
// moves are compare-and-set (the store), follow-up job ids derive from their content, audit notes that
// a re-run would repeat are written once.
import { formatDuration } from '../config/sections/rotation.js';
import { KeywardenError } from '../errors/error.js';
import type { Finding } from '../model/finding.js';
import type { EscalationStage } from '../rotation/events.js';
import { selfRevokeFor, targetsFor } from '../rotation/policy.js';
import { nextRevocationCheck } from '../rotation/schedule.js';
import type { JobData } from './jobs.js';
import { isOpen } from './lifecycle.js';
import { findingView, type Loop, storedSecret } from './loop.js';
import { pairParts } from './pairing.js';
import type { StoredFinding } from './store.js';

type RotateJob = JobData<'rotate'>;
type Delivery = NonNullable<RotateJob['delivery']>;

/** Who did it, for the audit trail. */
export interface Acting {
  actor: string;
}

/**
 * After a scan recorded `findings` (which carry their raw secret in memory only): for each one the
 * policy has not decided yet and that is still open, the raw secret (and the parts found beside it)
 * goes into the vault, sealed, and the policy's job is enqueued. A finding seen before (another
 * repository, a re-run) was decided then: nothing happens, so there is no second rotation request.
 */
export async function handOver(loop: Loop, findings: readonly Finding[]): Promise<number> {
  const byFp = new Map<string, Finding>();
  for (const f of findings) if (!byFp.has(f.fingerprint)) byFp.set(f.fingerprint, f);
  if (byFp.size === 0) return 0;
  const undecided = await loop.rotation.undecided([...byFp.keys()]);
  if (undecided.size === 0) return 0;
  const states = await loop.store.redis
    .pipeline([...undecided].map((fp) => ['hget', `${loop.store.ns}:f:${fp}`, 'state']))
    .exec();
  const open = [...undecided].filter((_, i) => {
    const s = states?.[i]?.[1];
    return typeof s === 'string' && isOpen(s as StoredFinding['state']);
  });
  if (open.length === 0) return 0;
  if (loop.vault) {
    const parts = pairParts(findings, (id) => loop.rule(id));
    for (const fp of open) {
      const f = byFp.get(fp)!;
      if (f.secret === undefined || (await loop.vault.has(fp))) continue;
      const p = parts.get(fp);
      await loop.vault.put(fp, { value: f.secret, ...(p && Object.keys(p).length > 0 ? { parts: p } : {}) });
    }
  }
  await loop.queues.enqueueMany(
    'rotate',
    open.map((fingerprint) => ({ fingerprint })),
  );
  return open.length;
}

/** The current finding, its occurrences and its webhook view. */
export async function loadFinding(loop: Loop, fp: string) {
  const f = await loop.store.mustGet(fp);
  const occurrences = await loop.store.occurrences(fp);
  return { finding: f, occurrences, view: findingView(loop, f, occurrences) };
}

/** Enqueues one try of one delivery (the first, or a retry after `delayMs`). */
export async function enqueueDelivery(loop: Loop, fp: string, sequence: number, d: Delivery, delayMs = 0): Promise<void> {
  await loop.queues.enqueue('rotate', { fingerprint: fp, sequence, delivery: d }, delayMs > 0 ? { delay: delayMs } : {});
}

/**
 * Notifications of `subject` to every notification target that selects the finding. `createdAt` is the
 * step's own time (the request's, the escalation's), so the same step run twice is the same jobs.
 */
export async function notifyAll(
  loop: Loop,
  fp: string,
  sequence: number,
  subject: 'detected' | 'rotation-requested' | 'escalated',
  createdAt: number,
  extra: { stage?: EscalationStage; reason?: string } = {},
): Promise<string[]> {
  const { view } = await loadFinding(loop, fp);
  const names = targetsFor(view, loop.settings).notify.map((t) => t.name);
  for (const target of names)
    await enqueueDelivery(loop, fp, sequence, {
      target,
      type: 'notification',
      subject,
      ...(extra.stage ? { stage: extra.stage } : {}),
      ...(extra.reason ? { reason: extra.reason } : {}),
      attempt: 1,
      createdAt,
    });
  return names;
}

/**
 * Rotation request `sequence` to `targets` (names of rotation targets), with the deadline job at the
 * SLA. Moves the finding to rotation_requested when it is not there already (audited with `reason`).
 */
export async function sendRequest(
  loop: Loop,
  fp: string,
  sequence: number,
  targets: readonly string[],
  who: Acting & { reason: string; enqueueDeliveries?: boolean },
): Promise<void> {
  const f = await loop.store.mustGet(fp);
  if (f.state !== 'rotation_requested') await loop.store.apply(fp, 'request_rotation', { actor: who.actor, reason: who.reason });
  const requestedAt = (await loop.rotation.requestedAt(fp, sequence)) ?? loop.now();
  if (who.enqueueDeliveries !== false)
    for (const target of targets)
      await enqueueDelivery(loop, fp, sequence, { target, type: 'rotation.requested', attempt: 1, createdAt: requestedAt });
  const wait = Math.max(0, requestedAt + loop.settings.revocation.slaMs - loop.now());
  await loop.queues.enqueue('rotate', { fingerprint: fp, sequence, deadline: true }, wait > 0 ? { delay: wait } : {});
}

/**
 * `keywarden rotate` and `POST /v1/findings/<fp>/rotate`: a new request (the next sequence number, the
 * same idempotency key) to every rotation target that selects the finding, whatever the policy said.
 * Returns the request number and the targets. Throws KW_CONFIG_INVALID when no rotation target is set.
 */
export async function requestAgain(
  loop: Loop,
  fp: string,
  who: Acting & { reason?: string; enqueueDeliveries?: boolean },
): Promise<{ sequence: number; targets: string[]; requestedAt: number }> {
  const { finding, view } = await loadFinding(loop, fp);
  const targets = targetsFor(view, loop.settings).rotation.map((t) => t.name);
  if (targets.length === 0)
    throw new KeywardenError(
      'KW_CONFIG_INVALID',
      'no rotation target selects this finding: set KEYWARDEN_ROTATION_WEBHOOK_URL or rotation.targets',
    );
  if (!isOpen(finding.state) && finding.state !== 'accepted_risk')
    throw new KeywardenError('KW_ILLEGAL_TRANSITION', `finding ${fp} is ${finding.state}: nothing to rotate`);
  const sequence = await loop.rotation.nextRequest(fp, loop.now());
  const reason = `${who.reason ?? 'rotation requested now'} (request #${sequence} to ${targets.join(', ')})`;
  if (finding.state === 'rotation_requested')
    await loop.store.note(fp, 'request_rotation_again', { actor: who.actor, reason }, `request:${sequence}`);
  await sendRequest(loop, fp, sequence, targets, {
    actor: who.actor,
    reason,
    ...(who.enqueueDeliveries !== undefined ? { enqueueDeliveries: who.enqueueDeliveries } : {}),
  });
  const requestedAt = (await loop.rotation.requestedAt(fp, sequence)) ?? loop.now();
  await notifyAll(loop, fp, sequence, 'rotation-requested', requestedAt);
  return { sequence, targets, requestedAt };
}

/**
 * Escalates: the finding to `escalated` (audited with the stage and reason), `rotation.escalated` to
 * the rotation targets, an `ESCALATED` message to the notification targets, and with `selfRevoke:
 * on-sla` a revocation by keywarden when the SLA is what passed. Once per stage and request (or
 * round, for `revocation`): a later check of the same round does not escalate again, and a re-run
 * after a crash redoes only what is missing, with the first run's time (so the same job ids).
 * Returns false when that escalation had happened already.
 */
export async function escalate(
  loop: Loop,
  fp: string,
  stage: EscalationStage,
  reason: string,
  who: Acting & { deadline?: number },
): Promise<boolean> {
  const progress = await loop.rotation.progress(fp);
  const marker = `escalated:${stage}:${stage === 'revocation' ? `round${progress.round}` : `request${progress.sequence}`}`;
  const { first, at } = await loop.rotation.onceAt(fp, marker, loop.now());
  const { finding, view } = await loadFinding(loop, fp);
  if (!isOpen(finding.state)) return false;
  const text = `${stage}: ${reason}`;
  if (finding.state !== 'escalated') await loop.store.apply(fp, 'escalate', { actor: who.actor, reason: text });
  else await loop.store.note(fp, 'escalate', { actor: who.actor, reason: text }, marker);
  const sequence = Math.max(1, progress.sequence);
  // Only the targets that were asked to rotate hear that the loop stopped.
  const rotationTargets = progress.sequence > 0 ? targetsFor(view, loop.settings).rotation.map((t) => t.name) : [];
  for (const target of rotationTargets)
    await enqueueDelivery(loop, fp, sequence, {
      target,
      type: 'rotation.escalated',
      stage,
      reason,
      ...(who.deadline !== undefined ? { deadline: who.deadline } : {}),
      attempt: 1,
      createdAt: at,
    });
  await notifyAll(loop, fp, sequence, 'escalated', at, { stage, reason });
  if (stage !== 'delivery' && selfRevokeFor(view, loop.settings) === 'on-sla') await selfRevoke(loop, fp, 'on-sla', who);
  return first;
}

/**
 * Revocation by keywarden itself through the provider's API (the rule's revocation plan), as policy
 * allows: audited whatever the answer; accepted, the finding moves to revocation_pending and a
 * confirmation round starts (only the liveness check closes it). Once per mode.
 */
export async function selfRevoke(
  loop: Loop,
  fp: string,
  mode: 'on-sla' | 'immediately' | 'manual',
  who: Acting,
): Promise<'accepted' | 'rejected' | 'unknown' | 'skipped'> {
  if (!(await loop.rotation.once(fp, `selfRevoke:${mode}`, loop.now()))) return 'skipped';
  const f = await loop.store.mustGet(fp);
  const rule = loop.rule(f.ruleId);
  const stored = await storedSecret(loop, fp);
  if (!rule?.revocation?.length || stored?.status !== 'ok') {
    const why = !rule?.revocation?.length
      ? `rule ${f.ruleId} has no revocation plan`
      : stored === null
        ? 'no raw secret is kept (KEYWARDEN_SECRET_KEY is not set)'
        : 'no raw secret is stored for this finding';
    await loop.store.note(fp, 'self_revoke', { actor: who.actor, reason: `selfRevoke ${mode}: not possible: ${why}` });
    return 'skipped';
  }
  const r = await loop.runner.revoke({
    rule,
    secret: stored.secret.value,
    ...(stored.secret.parts ? { parts: stored.secret.parts } : {}),
  });
  const reason = `keywarden asked ${r.provider} to revoke the key (selfRevoke ${mode}): ${r.outcome} (${r.reason})${r.call ? ` [${r.call}]` : ''}`;
  if (r.outcome !== 'accepted') {
    await loop.store.note(fp, 'self_revoke', { actor: who.actor, reason });
    return r.outcome;
  }
  const now = await loop.store.mustGet(fp);
  if (now.state !== 'revocation_pending' && isOpen(now.state))
    await loop.store.apply(fp, 'self_revoked', { actor: who.actor, reason });
  else await loop.store.note(fp, 'self_revoke', { actor: who.actor, reason });
  await startConfirmation(loop, fp, `selfRevoke:${mode}`);
  return 'accepted';
}

/**
 * A confirmation round (after a callback or a self-revocation): check 1 after the first-poll delay,
 * capped at the SLA deadline. The same `cause` twice is the same round (a re-run schedules nothing new).
 */
export async function startConfirmation(loop: Loop, fp: string, cause: string): Promise<{ round: number; at: number }> {
  const now = loop.now();
  const { round } = await loop.rotation.roundFor(fp, cause, now);
  const progress = await loop.rotation.progress(fp);
  const f = await loop.store.mustGet(fp);
  const requestedAt = progress.requestedAt ?? Date.parse(f.firstSeen);
  const step = nextRevocationCheck(
    { requestedAt, rotatedAt: progress.roundAt ?? now, checksDone: 0, escalated: f.state === 'escalated' },
    loop.settings.revocation,
  );
  const delay = Math.max(0, step.at - now);
  await loop.queues.enqueue('confirm-revocation', { fingerprint: fp, round, check: 1 }, delay > 0 ? { delay } : {});
  return { round, at: step.at };
}

/** `formatDuration` for waits that may be 0 or fractional. */
export function describeWait(ms: number): string {
  return ms <= 0 ? 'now' : `in ${formatDuration(Math.ceil(ms))}`;
}
