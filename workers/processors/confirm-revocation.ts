// The `confirm-revocation` job kind: one liveness check of a rotated (or self-revoked) key, check
// `check` of confirmation round `round`. The provider's `revoked` closes the finding (the transition
// deletes the raw secret; a GitHub alert it came from is resolved); `live` and `unknown` (network
// error, timeout, 5xx, an unexpected body) never do: the next check is a new delayed job, after the
// backoff (rotation/schedule.ts) or the provider's Retry-After, whichever is later; at the SLA the
// finding is escalated once and checks go on at the longest interval. A killed worker's check runs
// again elsewhere (the job is taken back); asking the provider twice is harmless.
import { formatDuration } from '../../config/sections/rotation.js';
import { KeywardenError } from '../../errors/error.js';
import { livenessAvailability } from '../../rotation/liveness-availability.js';
import { nextRevocationCheck } from '../../rotation/schedule.js';
import type { JobData, TransitionOutcome } from '../jobs.js';
import { isOpen } from '../lifecycle.js';
import { hasLivenessCheck, type Loop, storedSecret } from '../loop.js';
import { describeWait, escalate, startConfirmation } from '../loop-actions.js';

type ConfirmData = JobData<'confirm-revocation'>;

/** States in which a confirmation round's checks run. */
const CHECKED_STATES = new Set(['rotated', 'revocation_pending', 'escalated']);

/** Runs one confirm-revocation job; `actor` is written into the audit trail. */
export async function processConfirmRevocation(data: ConfirmData, loop: Loop, actor: string): Promise<TransitionOutcome> {
  const started = performance.now();
  const fp = data.fingerprint;
  const before = await loop.store.mustGet(fp);
  let outcome: string;
  if (data.round === undefined) {
    // By hand (`keywarden enqueue confirm-revocation --fingerprint`): a round of its own, checked now.
    const r = await startConfirmation(loop, fp, `manual:${loop.now()}`);
    outcome = `round ${r.round} started`;
  } else outcome = await check(loop, fp, data.round, data.check ?? 1, actor);
  const after = await loop.store.mustGet(fp);
  return {
    kind: 'confirm-revocation',
    fingerprint: fp,
    from: before.state,
    to: after.state,
    outcome,
    durationMs: Math.round(performance.now() - started),
  };
}

async function check(loop: Loop, fp: string, round: number, n: number, actor: string): Promise<string> {
  const progress = await loop.rotation.progress(fp);
  if (progress.round !== round) return `stale: round ${progress.round} replaced round ${round}`;
  const f = await loop.store.mustGet(fp);
  if (!isOpen(f.state)) {
    // A re-run after the revocation was recorded: only the GitHub alerts may still be open.
    if (f.state === 'revoked') await resolveAlerts(loop, fp, actor, 'confirmed before');
    return `closed: ${f.state}`;
  }
  if (!CHECKED_STATES.has(f.state)) return `not checked: ${f.state}`;
  const rule = loop.rule(f.ruleId);
  const stored = await storedSecret(loop, fp);
  const availability = livenessAvailability({
    ruleId: f.ruleId,
    hasLivenessCheck: hasLivenessCheck(rule),
    rawSecrets: loop.settings.rawSecrets,
    stored,
  });
  const requestedAt = progress.requestedAt ?? Date.parse(f.firstSeen);
  const deadline = requestedAt + loop.settings.revocation.slaMs;
  if (!availability.available || !rule || stored?.status !== 'ok') {
    // Nothing to ask: a human closes it (confirm_revoked with a reason), so it goes to one now.
    const message = availability.available ? 'no raw secret to check with' : availability.message;
    await loop.store.note(fp, 'liveness_check', { actor, reason: `check ${n}: not run: ${message}` }, `check:${round}:${n}`);
    await escalate(loop, fp, 'revocation', message, { actor, deadline });
    return `not checkable: ${message}`;
  }

  const r = await loop.runner.check({
    rule,
    secret: stored.secret.value,
    ...(stored.secret.parts ? { parts: stored.secret.parts } : {}),
  });
  const now = loop.now();
  await loop.rotation.recordCheck(fp, round, n, now);
  const call = r.call ? ` [${r.call}]` : '';
  const summary = `check ${n}: ${r.verdict} (${r.reason})${call}`;
  if (r.verdict === 'live') await loop.rotation.markSeenLive(fp, now);

  if (r.verdict === 'revoked') {
    if (r.revokedTrust === 'after-live' && progress.seenLiveAt === null) {
      const why =
        'the provider answered revoked, but this check is trusted only for a key once read live and this one never was (a wrong base URL or partner answers the same): a human must confirm';
      await loop.store.note(fp, 'liveness_check', { actor, reason: summary }, `check:${round}:${n}`);
      await escalate(loop, fp, 'revocation', why, { actor, deadline });
      return 'revoked, not trusted: escalated';
    }
    const reason = `the provider no longer accepts the old key: ${r.reason}${call}`;
    await loop.store.apply(fp, 'confirm_revoked', { actor, reason });
    await resolveAlerts(loop, fp, actor, r.reason);
    return 'revoked';
  }

  if (r.verdict === 'unknown' && !r.retryable) {
    await loop.store.note(fp, 'liveness_check', { actor, reason: summary }, `check:${round}:${n}`);
    await escalate(loop, fp, 'revocation', `the check cannot run: ${r.reason}`, { actor, deadline });
    return `unknown, not retryable: ${r.reason}`;
  }

  // Live, or unknown for now: check again later; never closed on anything but `revoked`.
  const escalated = f.state === 'escalated' || (await loop.rotation.has(fp, `escalated:revocation:round${round}`));
  const step = nextRevocationCheck(
    { requestedAt, rotatedAt: progress.roundAt ?? now, checksDone: n, lastCheckAt: now, escalated },
    loop.settings.revocation,
  );
  const at = Math.max(step.at, r.retryAfterMs !== undefined ? now + r.retryAfterMs : 0);
  const next = `${summary}; next check ${describeWait(at - now)}${r.retryAfterMs !== undefined ? ' (the provider asked to wait)' : ''}`;
  if (f.state === 'rotated') await loop.store.apply(fp, 'request_revocation_check', { actor, reason: next });
  else await loop.store.note(fp, 'liveness_check', { actor, reason: next }, `check:${round}:${n}`);
  if (step.escalate) {
    const state = r.verdict === 'live' ? 'still works' : 'could not be confirmed revoked';
    await escalate(
      loop,
      fp,
      'revocation',
      `the old key ${state} ${formatDuration(loop.settings.revocation.slaMs)} after the rotation request (${r.reason})`,
      { actor, deadline },
    );
  }
  const delay = Math.max(0, at - loop.now());
  await loop.queues.enqueue('confirm-revocation', { fingerprint: fp, round, check: n + 1 }, delay > 0 ? { delay } : {});
  return `${r.verdict}: next check ${describeWait(delay)}`;
}

/**
 * The GitHub alerts the finding came from, resolved as `revoked` (each once, audited). A failure is
 * audited and fails the job, so BullMQ tries again; the retry finds the finding revoked and resolves
 * only what is left.
 */
async function resolveAlerts(loop: Loop, fp: string, actor: string, providerSaid: string): Promise<void> {
  const { alerts } = await loop.rotation.progress(fp);
  const failed: string[] = [];
  for (const a of alerts) {
    const name = `${a.repository}#${a.number}`;
    if (await loop.rotation.has(fp, `resolved:${name}`)) continue;
    if (!loop.github) {
      const reason = `GitHub alert ${name} not resolved: KEYWARDEN_GITHUB_TOKEN is not set on this worker`;
      await loop.store.note(fp, 'github_alert', { actor, reason }, `github:${name}:no-token`);
      continue;
    }
    const comment = `keywarden confirmed this key revoked: the provider no longer accepts it (${providerSaid}). Finding ${fp}.`;
    try {
      await loop.github.resolve(a, comment);
      await loop.rotation.once(fp, `resolved:${name}`, loop.now());
      await loop.store.note(fp, 'github_alert', { actor, reason: `GitHub alert ${name} resolved as revoked` }, `github:${name}`);
    } catch (err) {
      failed.push(name);
      await loop.store.note(fp, 'github_alert', {
        actor,
        reason: `GitHub alert ${name} not resolved: ${(err as Error).message}`,
      });
    }
  }
  if (failed.length > 0)
    throw new KeywardenError('KW_PROVIDER_UNAVAILABLE', `could not resolve GitHub alert ${failed.join(', ')}; retrying`);
}
