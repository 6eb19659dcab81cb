// The `rotate` job kind (workers/jobs.ts): the policy's decision for a new finding, a rotation request
// sent now, one try of one webhook delivery, and the SLA deadline of a request. Each run is safe to
// repeat (a worker killed mid-job, a stalled job taken back): the decision is written last, state moves
// are compare-and-set, a delivery that reached its receiver is marked and never sent again, follow-up
// job ids derive from their content, and audit notes a re-run would repeat are written once.
import { formatDuration } from '../../config/sections/rotation.js';
import { KeywardenError } from '../../errors/error.js';
import {
  type AttemptResult,
  describeAttempt,
  nextDeliveryStep,
  notificationPayload,
  rotationPayload,
  sendWebhook,
  type WebhookPayload,
} from '../../rotation/deliver.js';
import {
  escalationIdempotencyKey,
  eventIdFor,
  rotationEscalated,
  rotationIdempotencyKey,
  rotationRequested,
} from '../../rotation/events.js';
import { notification } from '../../rotation/notification.js';
import { decideRotation } from '../../rotation/policy.js';
import type { JobData, TransitionOutcome } from '../jobs.js';
import { isOpen } from '../lifecycle.js';
import { hasLivenessCheck, type Loop, storedSecret } from '../loop.js';
import {
  describeWait,
  enqueueDelivery,
  escalate,
  loadFinding,
  notifyAll,
  requestAgain,
  selfRevoke,
  sendRequest,
  startConfirmation,
} from '../loop-actions.js';

type RotateData = JobData<'rotate'>;
type Delivery = NonNullable<RotateData['delivery']>;

/** The loop, or a clear failure: a worker started without one cannot rotate. */
export function requireLoop(loop: Loop | undefined): Loop {
  if (!loop)
    throw new KeywardenError('KW_CONFIG_INVALID', 'this worker was started without the rotation loop (no rotation settings)');
  return loop;
}

/** Runs one rotate job; `actor` is written into the audit trail. */
export async function processRotate(data: RotateData, loop: Loop, actor: string): Promise<TransitionOutcome> {
  const started = performance.now();
  const fp = data.fingerprint;
  const before = await loop.store.mustGet(fp);
  let outcome: string;
  if (data.delivery) outcome = await deliver(loop, fp, data.sequence ?? 1, data.delivery, actor);
  else if (data.deadline) outcome = await deadline(loop, fp, data.sequence ?? 1, actor);
  else if (data.sequence !== undefined) {
    const r = await requestAgain(loop, fp, { actor: actor, reason: 'rotation requested by a rotate job' });
    outcome = `request #${r.sequence} to ${r.targets.join(', ')}`;
  } else outcome = await decide(loop, fp, actor);
  const after = await loop.store.mustGet(fp);
  return {
    kind: 'rotate',
    fingerprint: fp,
    from: before.state,
    to: after.state,
    outcome,
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * The policy for a new finding. First one liveness check (before any webhook): a check marked
 * `revokedTrust: after-live` believes a later `revoked` only for a key once read `live`, and this is
 * the moment the key is known to have been in use. Then the decision (rotate, notify, none), its
 * requests and notifications, and a self-revocation if the policy says `immediately`.
 */
async function decide(loop: Loop, fp: string, actor: string): Promise<string> {
  const progress = await loop.rotation.progress(fp);
  if (progress.decision) return `already decided: ${progress.decision.action}`;
  const { finding, view } = await loadFinding(loop, fp);
  const rule = loop.rule(finding.ruleId);
  const checkable = hasLivenessCheck(rule);
  if (finding.state !== 'detected') {
    await loop.rotation.markDecided(fp, {
      action: 'none',
      rotationTargets: [],
      notifyTargets: [],
      selfRevoke: 'never',
      reason: `not decided: the finding was already ${finding.state}`,
      at: loop.now(),
    });
    return `not decided: ${finding.state}`;
  }

  if (checkable && rule) {
    const stored = await storedSecret(loop, fp);
    if (stored?.status === 'ok' && progress.seenLiveAt === null) {
      const r = await loop.runner.check({
        rule,
        secret: stored.secret.value,
        ...(stored.secret.parts ? { parts: stored.secret.parts } : {}),
      });
      if (r.verdict === 'live') await loop.rotation.markSeenLive(fp, loop.now());
      await loop.store.note(
        fp,
        'liveness_check',
        { actor, reason: `at detection: ${r.verdict} (${r.reason})${r.call ? ` [${r.call}]` : ''}` },
        'check:detection',
      );
    } else if (stored === null || stored.status !== 'ok') {
      const why =
        stored === null
          ? 'KEYWARDEN_SECRET_KEY is not set: no raw secret is kept, so keywarden cannot confirm a revocation of this key'
          : 'no raw secret is stored for this finding: keywarden cannot confirm a revocation of this key';
      await loop.store.note(fp, 'liveness_check', { actor, reason: `at detection: not run: ${why}` }, 'check:detection');
    }
  }

  const d = decideRotation(view, { hasLivenessCheck: checkable }, loop.settings);
  const decision = {
    action: d.action,
    rotationTargets: d.rotationTargets.map((t) => t.name),
    notifyTargets: d.notifyTargets.map((t) => t.name),
    selfRevoke: d.selfRevoke,
    reason: d.reason,
    at: loop.now(),
  };
  if (d.action === 'rotate') {
    const requestedAt = await loop.rotation.firstRequest(fp, loop.now());
    await sendRequest(loop, fp, 1, decision.rotationTargets, {
      actor,
      reason: `${d.reason} (request #1 to ${decision.rotationTargets.join(', ')})`,
    });
    await notifyAll(loop, fp, 1, 'rotation-requested', requestedAt);
  } else {
    await loop.store.note(fp, 'policy', { actor, reason: d.reason }, 'policy');
    if (d.action === 'notify')
      await notifyAll(
        loop,
        fp,
        1,
        'detected',
        finding.stateTimes.detected ? Date.parse(finding.stateTimes.detected) : loop.now(),
      );
  }
  if (d.selfRevoke === 'immediately') await selfRevoke(loop, fp, 'immediately', { actor });
  await loop.rotation.markDecided(fp, decision);
  return `decided: ${d.action}`;
}

/** At request `sequence`'s SLA deadline: nobody called back, so the loop stopped; a human must act. */
async function deadline(loop: Loop, fp: string, sequence: number, actor: string): Promise<string> {
  const progress = await loop.rotation.progress(fp);
  if (progress.sequence !== sequence) return `stale: request #${progress.sequence} owns the deadline`;
  const f = await loop.store.mustGet(fp);
  const requestedAt = progress.requestedAt ?? loop.now();
  const due = requestedAt + loop.settings.revocation.slaMs;
  if (f.state === 'rotation_requested') {
    await escalate(loop, fp, 'callback', `no callback within the ${formatDuration(loop.settings.revocation.slaMs)} SLA`, {
      actor,
      deadline: due,
    });
    return 'escalated: no callback';
  }
  // A callback that was accepted but whose confirmation never started (the API died in between).
  if (f.state === 'rotated' && progress.round === 0) {
    await startConfirmation(loop, fp, `deadline:${sequence}`);
    return 'confirmation started';
  }
  return `nothing to do: ${f.state}`;
}

/** The delivery's name in the loop's state: one per request, target, type and stage or subject. */
function deliveryKey(sequence: number, d: Delivery): string {
  return `${sequence}:${d.target}:${d.type}:${d.stage ?? d.subject ?? ''}`;
}

/**
 * One try of one webhook to one configured target; a retry is a new delayed job. `keywarden rotate`
 * runs the first try itself (the emergency path), so the operator sees the receiver's answer at once.
 */
export async function deliver(loop: Loop, fp: string, sequence: number, d: Delivery, actor: string): Promise<string> {
  const target = loop.settings.targets.find((t) => t.name === d.target);
  const key = deliveryKey(sequence, d);
  if (!target) {
    await loop.store.note(
      fp,
      'webhook',
      { actor, reason: `${d.type} #${sequence}: target ${d.target} is no longer configured; not sent` },
      `deliver:${key}:gone`,
    );
    return 'target gone';
  }
  if (await loop.rotation.delivered(fp, key)) return 'already delivered';
  const { finding, view } = await loadFinding(loop, fp);
  const progress = await loop.rotation.progress(fp);
  if (d.type === 'rotation.requested') {
    // A later request (or a callback, or the finding closing) makes this one moot: stop retrying it.
    if (progress.sequence > sequence) return `stale: request #${progress.sequence} replaced it`;
    if (finding.state !== 'rotation_requested' && finding.state !== 'escalated') return `not sent: ${finding.state}`;
  }
  if (target.type === 'notify' && d.type !== 'notification') return 'not sent: a notification target gets text only';
  if (target.type === 'rotation' && d.type === 'notification') return 'not sent: a rotation target gets events only';

  const createdAt = new Date(d.createdAt);
  let payload: WebhookPayload;
  if (d.type === 'notification') {
    const subject =
      d.subject === 'escalated'
        ? { kind: 'escalated' as const, stage: d.stage ?? 'revocation', reason: d.reason ?? 'the loop stopped' }
        : d.subject === 'rotation-requested'
          ? { kind: 'rotation-requested' as const, targets: progress.decision?.rotationTargets ?? [] }
          : { kind: 'detected' as const };
    const idem =
      d.subject === 'escalated' ? escalationIdempotencyKey(fp, d.stage ?? 'revocation', sequence) : rotationIdempotencyKey(fp);
    payload = notificationPayload(`${idem}.notification`, notification(view, subject));
  } else {
    // A fresh one-time token per try: only its hash is stored, so the body cannot be kept for a retry.
    const { token } = await loop.rotation.issueToken(fp, loop.now(), loop.settings.callbackTokenTtlMs);
    const base = { finding: view, publicUrl: loop.settings.publicUrl, callbackToken: token, createdAt };
    const event =
      d.type === 'rotation.requested'
        ? rotationRequested({ ...base, id: eventIdFor(rotationIdempotencyKey(fp), sequence) })
        : rotationEscalated({
            ...base,
            stage: d.stage ?? 'revocation',
            reason: d.reason ?? 'the loop stopped',
            sequence,
            ...(d.deadline !== undefined ? { deadline: d.deadline } : {}),
            id: eventIdFor(escalationIdempotencyKey(fp, d.stage ?? 'revocation', sequence), sequence),
          });
    payload = rotationPayload(event);
  }

  const result: AttemptResult = await sendWebhook(target, payload, { timeoutMs: loop.settings.delivery.timeoutMs });
  const step = nextDeliveryStep(d.attempt, result, loop.settings.delivery);
  const what = `${d.type}${d.stage ? ` (${d.stage})` : ''} #${sequence} to ${target.name}, try ${d.attempt}`;
  const next = step.kind === 'retry' ? `; next try ${describeWait(step.delayMs)}` : '';
  await loop.store.note(
    fp,
    'webhook',
    { actor, reason: `${what}: ${describeAttempt(result)}${next}` },
    `deliver:${key}:${d.attempt}`,
  );
  if (step.kind === 'done') {
    await loop.rotation.markDelivered(fp, key, loop.now());
    return describeAttempt(result);
  }
  if (step.kind === 'retry') {
    await enqueueDelivery(loop, fp, sequence, { ...d, attempt: d.attempt + 1 }, step.delayMs);
    return `retry ${describeWait(step.delayMs)}`;
  }
  // Given up: a rotation request that cannot be delivered stops the loop; a human must act.
  if (d.type === 'rotation.requested' && isOpen(finding.state))
    await escalate(loop, fp, 'delivery', `${target.name}: ${step.reason}`, { actor });
  return `given up: ${step.reason}`;
}
