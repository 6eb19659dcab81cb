// `keywarden verify <fingerprint>` (the liveness check once: live, revoked or unknown, and why; never
// the secret) and `keywarden rotate <fingerprint>` (the rotation webhook now: the emergency path), plus
// what `findings show` prints of the loop (the lifecycle with times, the raw secret's status). Every
// one is audited. Settings are the service configuration's (config/service.ts), built once.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { Environment } from '../../config/section.js';
import { providerKey, RAW_SECRETS_OFF_MESSAGE } from '../../config/sections/rotation.js';
import type { ServiceConfig } from '../../config/service.js';
import { resolveProviderBaseUrls } from '../../providers/base-urls.js';
import { livenessAvailability } from '../../rotation/liveness-availability.js';
import { configFromDocument, resolveRules } from '../../scanner/config.js';
import { createGitHubAlerts } from '../../workers/github-alerts.js';
import { isOpen } from '../../workers/lifecycle.js';
import { createLoop, hasLivenessCheck, type Loop, type LoopOptions, storedSecret } from '../../workers/loop.js';
import { requestAgain } from '../../workers/loop-actions.js';
import { deliver } from '../../workers/processors/rotate.js';
import { JobQueues } from '../../workers/queue.js';
import { createRedis } from '../../workers/redis.js';
import { type AuditEvent, FindingStore } from '../../workers/store.js';
import { serviceStartup } from '../startup.js';

export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/** What every process running the loop builds from the service configuration (worker, serve, these commands). */
export function loopOptions(cfg: ServiceConfig, rules: LoopOptions['rules']): Omit<LoopOptions, 'store' | 'queues'> {
  return {
    settings: cfg.rotation,
    rules,
    // KEYWARDEN_PROVIDER_<NAME>_BASE_URL from the start-up environment; a malformed one stops start-up (exit 2).
    baseUrls: resolveProviderBaseUrls(cfg.childEnv),
    github: cfg.github.token ? createGitHubAlerts({ apiUrl: cfg.github.apiUrl, token: cfg.github.token }) : null,
  };
}

/** Runs `fn` with the loop on fresh connections, closed afterwards. */
async function withLoop<T>(env: Environment, fn: (loop: Loop) => Promise<T>): Promise<T> {
  const { config: cfg, document } = await serviceStartup(env);
  const rules = await resolveRules(await configFromDocument(document));
  // A one-shot command fails rather than waits forever for a Redis that is not there.
  const redis = createRedis(cfg.redis.url, { maxRetriesPerRequest: 2, retryStrategy: (n) => (n > 3 ? null : 200) });
  const queues = new JobQueues(redis, cfg.redis.prefix);
  try {
    const store = new FindingStore(redis, cfg.redis.prefix);
    return await fn(createLoop({ ...loopOptions(cfg, rules), store, queues }));
  } finally {
    await queues.close().catch(() => {});
    redis.disconnect();
  }
}

function printJson(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}

/** Exit codes of `verify`: scripts can tell a dead key from a live one without parsing. */
const VERIFY_EXIT = { revoked: 0, live: 1, unknown: 2 } as const;

export function registerRotationCommands(program: Command, setExit: (code: number) => void, env: Environment): void {
  program
    .command('verify')
    .description(
      "ask the provider once whether a finding's key still works: live (exit 1), revoked (exit 0) or unknown (exit 2), and why; never prints the secret (audited)",
    )
    .argument('<fingerprint>')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--actor <name>', 'who, for the audit trail (default: cli:<user>)')
    .action(async (fp: string, flags: { format: string; actor?: string }) => {
      const actor = flags.actor ?? cliActor();
      const out = await withLoop(env, (loop) => verify(loop, fp, actor));
      if (flags.format === 'json') printJson(out);
      else process.stdout.write(`${out.fingerprint}  ${out.verdict}  ${out.reason}${out.call ? `  [${out.call}]` : ''}\n`);
      setExit(VERIFY_EXIT[out.verdict]);
    });

  program
    .command('rotate')
    .description(
      'send the rotation webhook for a finding now, to every rotation target that selects it, whatever the policy (the emergency path; audited). Tries each target once here; workers retry the rest',
    )
    .argument('<fingerprint>')
    .option('--reason <text>', 'why (kept in the audit trail)')
    .option('--actor <name>', 'who (default: cli:<user>)')
    .action(async (fp: string, flags: { reason?: string; actor?: string }) => {
      const actor = flags.actor ?? cliActor();
      const out = await withLoop(env, async (loop) => {
        const r = await requestAgain(loop, fp, {
          actor,
          reason: flags.reason ? `keywarden rotate: ${flags.reason}` : 'keywarden rotate',
          enqueueDeliveries: false,
        });
        const targets: Array<{ target: string; outcome: string }> = [];
        for (const target of r.targets) {
          const outcome = await deliver(
            loop,
            fp,
            r.sequence,
            { target, type: 'rotation.requested', attempt: 1, createdAt: r.requestedAt },
            actor,
          );
          targets.push({ target, outcome });
        }
        return { fingerprint: fp, request: r.sequence, state: (await loop.store.mustGet(fp)).state, targets };
      });
      printJson(out);
      if (!out.targets.some((t) => t.outcome.startsWith('delivered'))) setExit(2);
    });
}

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
export async function verify(loop: Loop, fp: string, actor: string): Promise<VerifyResult> {
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
  state: string;
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

/** What `findings show` adds for the loop: the raw secret's status and whether keywarden can check the key. */
export async function rotationStatus(loop: Loop, fp: string) {
  const f = await loop.store.mustGet(fp);
  const rule = loop.rule(f.ruleId);
  const progress = await loop.rotation.progress(fp);
  const stored = await storedSecret(loop, fp);
  let rawSecret: string;
  if (!isOpen(f.state))
    rawSecret = stored?.status === 'ok' ? 'stored (the finding is closed; it will be deleted)' : 'deleted: the finding is closed';
  else if (!loop.settings.rawSecrets.kept) rawSecret = `not kept: ${RAW_SECRETS_OFF_MESSAGE}`;
  else rawSecret = stored?.status === 'ok' ? 'stored, sealed with AES-256-GCM' : 'not stored for this finding';
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
    rawSecret,
    liveness: availability.available ? 'keywarden can check this key' : availability.message,
    githubAlerts: progress.alerts,
  };
}

/** `findings show`: the finding, its lifecycle with times, the loop's status, occurrences and the audit trail. Audited. */
export async function showFinding(env: Environment, fp: string, actor: string) {
  return withLoop(env, async (loop) => {
    const finding = await loop.store.mustGet(fp);
    await loop.store.note(fp, 'viewed', { actor, reason: 'findings show' });
    const audit = await loop.store.audit(fp);
    return {
      finding,
      lifecycle: lifecycleOf(audit),
      rotation: await rotationStatus(loop, fp),
      occurrences: await loop.store.occurrences(fp),
      audit,
    };
  });
}

/** `findings show -f text`: the lifecycle as a timeline, then the loop's status. */
export function showText(v: Awaited<ReturnType<typeof showFinding>>): string {
  const f = v.finding;
  const lines = [
    `${f.fingerprint}  ${f.ruleId}  ${f.redacted}  ${f.state}  (${f.occurrenceCount} occurrence${f.occurrenceCount === 1 ? '' : 's'})`,
  ];
  for (const s of v.lifecycle) lines.push(`  ${s.at}  ${s.state.padEnd(18)} ${s.actor}: ${s.reason}`);
  lines.push(`  raw secret: ${v.rotation.rawSecret}`);
  lines.push(`  liveness: ${v.rotation.liveness}`);
  if (v.rotation.decision) lines.push(`  policy: ${v.rotation.decision.reason}`);
  for (const a of v.rotation.githubAlerts) lines.push(`  GitHub alert: ${a.url || `${a.repository}#${a.number}`}`);
  return `${lines.join('\n')}\n`;
}
