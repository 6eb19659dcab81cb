// What keywarden knows and can ask about one finding's key, for `keywarden verify`, `findings show` and
// the API (POST /v1/findings/<fp>/verify, GET /v1/findings/<fp>/lifecycle): the rule's liveness check
// run once (audited; never the secret), the lifecycle read from the audit trail, and the loop's status
// (the raw secret kept or not, whether a check can run, the policy's decision).
import { providerKey, RAW_SECRETS_OFF_MESSAGE } from '../config/sections/rotation.js';
import { livenessAvailability } from '../rotation/liveness-availability.js';
import { type FindingState, isOpen } from './lifecycle.js';
import { hasLivenessCheck, type Loop, storedSecret } from './loop.js';
import type { AuditEvent } from './store.js';

export interface VerifyResult {
  fingerprint: string;
  ruleId: string;
  provider: string;
  verdict: 'live' | 'revoked' | 'unknown';
  reason: string;
  /** For `revoked`: whether the loop would believe it (an `after-live` check needs a key once seen live). */
  trusted?: boolean;
  status?: number;
  call?: string;
  durationMs?: number;
}

/** The rule's liveness check once, audited; `live` is remembered (what `after-live` checks need). */
export async function verifyOnce(loop: Loop, fp: string, actor: string): Promise<VerifyResult> {
  const f = await loop.store.mustGet(fp);
  const rule = loop.rule(f.ruleId);
  const base = { fingerprint: fp, ruleId: f.ruleId, provider: rule?.provider ?? 'unknown' };
  const stored = await storedSecret(loop, fp);
  const availability = livenessAvailability({
    ruleId: f.ruleId,
    hasLivenessCheck: hasLivenessCheck(rule),
    rawSecrets: loop.settings.rawSecrets,
    stored,
  });
  if (!availability.available || !rule || stored?.status !== 'ok') {
    const reason = availability.available ? 'no raw secret to check with' : availability.message;
    await loop.store.note(fp, 'verify', { actor, reason: `not run: ${reason}` });
    return { ...base, verdict: 'unknown', reason };
  }
  const r = await loop.runner.check({
    rule,
    secret: stored.secret.value,
    ...(stored.secret.parts ? { parts: stored.secret.parts } : {}),
  });
  if (r.verdict === 'live') await loop.rotation.markSeenLive(fp, loop.now());
  const progress = await loop.rotation.progress(fp);
  const trusted = r.verdict === 'revoked' ? r.revokedTrust === 'always' || progress.seenLiveAt !== null : undefined;
  const note = trusted === false ? '; not trusted: this check believes revoked only for a key once seen live' : '';
  await loop.store.note(fp, 'verify', { actor, reason: `${r.verdict} (${r.reason})${note}${r.call ? ` [${r.call}]` : ''}` });
  return {
    ...base,
    provider: r.provider,
    verdict: r.verdict,
    reason: `${r.reason}${note}`,
    ...(trusted !== undefined ? { trusted } : {}),
    ...(r.status !== undefined ? { status: r.status } : {}),
    ...(r.call ? { call: r.call } : {}),
    durationMs: r.durationMs,
  };
}

/** One step of the lifecycle: the state entered, when, by what event, who, why. */
export interface LifecycleStep {
  state: FindingState;
  at: string;
  event: string;
  actor: string;
  reason: string;
}

/** The audit trail's state changes, oldest first: what `findings show` calls the lifecycle. */
export function lifecycleOf(audit: readonly AuditEvent[]): LifecycleStep[] {
  return audit
    .filter((e) => e.what === 'detected' || e.from !== e.to)
    .map((e) => ({ state: e.to, at: e.at, event: e.what, actor: e.actor, reason: e.reason }));
}

/** Whether the raw secret is kept, in words: it is what a reader of `findings show` asks first. */
function keepingOf(loop: Loop, state: FindingState, stored: Awaited<ReturnType<typeof storedSecret>>): string {
  const sealed = stored?.status === 'ok';
  if (!isOpen(state)) return sealed ? 'stored (the finding is closed; it will be deleted)' : 'deleted: the finding is closed';
  if (!loop.settings.rawSecrets.kept) return `not kept: ${RAW_SECRETS_OFF_MESSAGE}`;
  return sealed ? 'stored, sealed with AES-256-GCM' : 'not stored for this finding';
}

/** What `findings show` adds for the loop: the raw secret's status and whether keywarden can check the key. */
export async function rotationStatus(loop: Loop, fp: string) {
  const f = await loop.store.mustGet(fp);
  const rule = loop.rule(f.ruleId);
  const progress = await loop.rotation.progress(fp);
  const stored = await storedSecret(loop, fp);
  const availability = livenessAvailability({
    ruleId: f.ruleId,
    hasLivenessCheck: hasLivenessCheck(rule),
    rawSecrets: loop.settings.rawSecrets,
    stored,
  });
  return {
    provider: rule?.provider ?? 'unknown',
    providerKey: rule ? providerKey(rule.provider) : null,
    decision: progress.decision,
    requests: progress.sequence,
    confirmationRounds: progress.round,
    checksThisRound: progress.checksDone,
    seenLive: progress.seenLiveAt !== null,
    rawSecret: keepingOf(loop, f.state, stored),
    liveness: !isOpen(f.state)
      ? `not needed: the finding is ${f.state}`
      : availability.available
        ? 'keywarden can check this key'
        : availability.message,
    githubAlerts: progress.alerts,
  };
}
