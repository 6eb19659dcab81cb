// `keywarden verify <fingerprint>` (the liveness check once: live, revoked or unknown, and why; never
// the secret) and `keywarden rotate <fingerprint>` (the rotation webhook now: the emergency path), plus
// what `findings show` prints of the loop (the lifecycle with times, the raw secret's status). Every
// one is audited. Settings are the service configuration's (config/service.ts), built once.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { Environment } from '../../config/section.js';
import { unknownRotationNames } from '../../config/sections/rotation.js';
import type { ServiceConfig } from '../../config/service.js';
import { resolveProviderBaseUrls } from '../../providers/base-urls.js';
import { configFromDocument, resolveRules } from '../../scanner/config.js';
import { createGitHubAlerts } from '../../workers/github-alerts.js';
import { createLoop, type Loop, type LoopOptions } from '../../workers/loop.js';
import { requestAgain } from '../../workers/loop-actions.js';
import { lifecycleOf, rotationStatus, verifyOnce } from '../../workers/loop-status.js';
import { deliver } from '../../workers/processors/rotate.js';
import { JobQueues } from '../../workers/queue.js';
import { createRedis } from '../../workers/redis.js';
import { FindingStore } from '../../workers/store.js';
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

/**
 * What `serve` and `worker` say at start-up about the rotation settings: raw secrets off, a loopback
 * public URL, and names in policy, targets or selfRevoke that match no loaded rule or provider (a typo
 * there would silently do nothing).
 */
export function rotationStartupWarnings(cfg: ServiceConfig, rules: LoopOptions['rules']): string[] {
  const unknown = unknownRotationNames(cfg.rotation, {
    ruleIds: rules.map((r) => r.id),
    providers: [...new Set(rules.map((r) => r.provider))],
  });
  return [...cfg.rotation.warnings, ...unknown.map((u) => `${u} (it selects nothing)`)];
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
      const out = await withLoop(env, (loop) => verifyOnce(loop, fp, actor));
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
