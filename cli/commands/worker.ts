// `keywarden worker`, `keywarden enqueue <kind>`, `keywarden findings list|show|resolve|health`: the
// service side of the CLI (workers/). Settings come from the service configuration (REDIS_URL,
// KEYWARDEN_PREFIX, ...: config/service.ts), built once per command at start-up.
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { FINGERPRINT_KEY_ENV } from '../../config/fingerprint.js';
import type { Environment } from '../../config/section.js';
import type { ServiceConfig } from '../../config/service.js';
import { KeywardenError } from '../../errors/error.js';
import { createLogger } from '../../logging/logger.js';
import { configFromDocument } from '../../scanner/config.js';
import { targetOf } from '../../scanner/target.js';
import { defaultScanSettings } from '../../workers/handlers.js';
import { isJobKind, JOB_KINDS, type JobKind } from '../../workers/jobs.js';
import { FindingState, RESOLUTIONS, type Resolution } from '../../workers/lifecycle.js';
import { JobQueues } from '../../workers/queue.js';
import { createRedis, safeRedisUrl } from '../../workers/redis.js';
import { FindingStore, type StoredFinding } from '../../workers/store.js';
import { startWorkers } from '../../workers/worker.js';
import { serviceFingerprintKey, serviceStartup } from '../startup.js';
import { cliActor, loopOptions, rotationStartupWarnings, showFinding, showText } from './rotation.js';

function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
      throw new KeywardenError('KW_USAGE', `${flag} must be a positive integer; got ${JSON.stringify(v)}`);
    return n;
  };
}

function parseQueues(v: string): JobKind[] {
  const kinds = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = kinds.filter((k) => !isJobKind(k));
  if (bad.length > 0 || kinds.length === 0)
    throw new KeywardenError(
      'KW_USAGE',
      `--queues takes a comma-separated list of ${JOB_KINDS.join(', ')}; got ${JSON.stringify(v)}`,
    );
  return kinds as JobKind[];
}

/** Runs `fn` with a store on a fresh connection, closed afterwards. */
async function withStore<T>(cfg: ServiceConfig, fn: (store: FindingStore) => Promise<T>): Promise<T> {
  // Commands of a one-shot CLI should fail rather than wait forever for a Redis that is not there.
  const redis = createRedis(cfg.redis.url, { maxRetriesPerRequest: 2, retryStrategy: (n) => (n > 3 ? null : 200) });
  try {
    return await fn(new FindingStore(redis, cfg.redis.prefix));
  } finally {
    redis.disconnect();
  }
}

function printJson(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}

function textRow(f: StoredFinding): string {
  return `${f.fingerprint}  ${f.state.padEnd(18)} ${f.ruleId.padEnd(28)} ${f.redacted}  (${f.occurrenceCount} occurrence${f.occurrenceCount === 1 ? '' : 's'}, first seen ${f.firstSeen})`;
}

interface EnqueueFlags {
  json?: string;
  repo?: string;
  branch?: string;
  incremental?: boolean;
  base?: string;
  head?: string;
  path?: string;
  stream?: string;
  line?: string[];
  fingerprint?: string;
  wait?: boolean;
  timeout?: number;
}

/** Job data from `--json`, or from the flags that apply to `kind`. */
function jobData(kind: string, f: EnqueueFlags): unknown {
  if (f.json !== undefined) {
    try {
      return JSON.parse(f.json);
    } catch (err) {
      throw new KeywardenError('KW_USAGE', `--json is not valid JSON: ${(err as Error).message}`);
    }
  }
  const d: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) d[k] = v;
  };
  switch (kind) {
    case 'scan-history':
      set('repo', f.repo);
      set('branch', f.branch);
      set('incremental', f.incremental);
      break;
    case 'scan-diff':
      set('repo', f.repo);
      set('base', f.base);
      set('head', f.head);
      break;
    case 'scan-dump':
      set('path', f.path);
      break;
    case 'scan-log-batch':
      set('stream', f.stream);
      set('lines', f.line);
      break;
    default:
      set('fingerprint', f.fingerprint);
  }
  return d;
}

export function registerQueueCommands(program: Command, setExit: (code: number) => void, env: Environment): void {
  /** The service configuration of this run: environment and ./.keywarden.yaml, read once. */
  const serviceConfig = async (): Promise<ServiceConfig> => (await serviceStartup(env)).config;

  program
    .command('worker')
    .description('run scan workers against REDIS_URL until SIGTERM (in-flight jobs finish first)')
    .option('--queues <kinds>', `comma-separated job kinds to take (default: all: ${JOB_KINDS.join(',')})`, parseQueues)
    .option('--concurrency <n>', 'jobs at once per queue', positiveInt('--concurrency'), 1)
    .option(
      '--lock-duration <ms>',
      "job lock lifetime: a dead worker's job is taken back after this",
      positiveInt('--lock-duration'),
      30_000,
    )
    .option('--stalled-interval <ms>', 'how often to look for jobs of dead workers', positiveInt('--stalled-interval'), 30_000)
    .addOption(
      new Option(
        '--debug-hold-after <n>',
        'test hook: after recording n occurrences of a job, log debug-hold and wait for SIGTERM',
      )
        .argParser(positiveInt('--debug-hold-after'))
        .hideHelp(),
    )
    .action(
      async (flags: {
        queues?: JobKind[];
        concurrency: number;
        lockDuration: number;
        stalledInterval: number;
        debugHoldAfter?: number;
      }) => {
        const { config: cfg, document } = await serviceStartup(env);
        // JSON lines on stderr, level from KEYWARDEN_LOG_LEVEL; secrets censored (logging/logger.ts).
        const logger = createLogger({ name: 'worker', level: cfg.log.level });
        const fk = serviceFingerprintKey(cfg);
        if (fk.origin !== 'env') {
          logger.warn(
            { event: 'fingerprint-key-local' },
            `${FINGERPRINT_KEY_ENV} is not set: this worker's fingerprints differ from other machines', so one secret may become several findings`,
          );
        }
        // Dumps and log batches: the built-in pack plus ./.keywarden.yaml's scan settings (the same file, read once).
        const scan = await defaultScanSettings(
          await configFromDocument(document),
          fk.key,
          join(cfg.paths.cacheDir, 'repos'),
          cfg.childEnv,
        );
        // The rotation loop: what start-up says about it (raw secrets off, a loopback public URL).
        for (const w of rotationStartupWarnings(cfg, scan.rules)) logger.warn({ event: 'rotation-settings' }, w);
        // Resolved by the first SIGTERM or SIGINT: what --debug-hold-after waits for.
        let stopRequested!: () => void;
        const stopping = new Promise<void>((resolve) => {
          stopRequested = resolve;
        });
        const holdAfter = flags.debugHoldAfter;
        const running = await startWorkers({
          redisUrl: cfg.redis.url,
          prefix: cfg.redis.prefix,
          ...(flags.queues ? { queues: flags.queues } : {}),
          concurrency: flags.concurrency,
          lockDurationMs: flags.lockDuration,
          stalledIntervalMs: flags.stalledInterval,
          scan,
          ...(holdAfter
            ? {
                afterRecord: async (recorded: number) => {
                  if (recorded !== holdAfter) return;
                  logger.info({ event: 'debug-hold', recorded }, 'holding the job until SIGTERM');
                  await stopping;
                },
              }
            : {}),
          logger,
          log: (e) => logger.info(e, String(e.event)),
          loop: loopOptions(cfg, scan.rules),
        });
        logger.info({ event: 'ready', redis: safeRedisUrl(cfg.redis.url), queues: flags.queues ?? JOB_KINDS }, 'ready');
        // First signal: finish in-flight jobs, then exit. A second one: exit now; the jobs' locks lapse
        // and other workers take them back (stalled-job check), as after a crash.
        let signalled = false;
        const onSignal = (sig: string) => {
          if (signalled) {
            logger.warn({ event: 'forced', signal: sig }, 'forced exit');
            process.exit(1);
          }
          signalled = true;
          logger.info({ event: 'stopping', signal: sig }, 'stopping');
          stopRequested();
        };
        process.on('SIGTERM', () => onSignal('SIGTERM'));
        process.on('SIGINT', () => onSignal('SIGINT'));
        await stopping;
        await running.close();
        setExit(0);
      },
    );

  program
    .command('enqueue')
    .description('submit a job: scan-history, scan-diff, scan-dump, scan-log-batch (rotate, confirm-revocation)')
    .argument('<kind>', JOB_KINDS.join(' | '))
    .option('--json <data>', 'the job data as JSON (instead of the flags below)')
    .option('--repo <repo>', 'scan-history, scan-diff: repository path or URL (as the worker sees it)')
    .option('--branch <ref>', 'scan-history: only this ref')
    .option('--incremental', 'scan-history: only commits not scanned by the last incremental run')
    .option('--base <ref>', 'scan-diff: the branch the change merges into')
    .option('--head <ref>', 'scan-diff: the change')
    .option('--path <file>', 'scan-dump: dump path (as the worker sees it)')
    .option('--stream <name>', 'scan-log-batch: log stream name')
    .option('--line <text...>', 'scan-log-batch: log lines')
    .option('--fingerprint <fp>', 'rotate, confirm-revocation: the finding')
    .option('--wait', 'wait for the job to finish and print its result')
    .option('--timeout <ms>', 'with --wait: give up after this long', positiveInt('--timeout'), 600_000)
    .action(async (kind: string, flags: EnqueueFlags) => {
      const cfg = await serviceConfig();
      // Give up after ~10 s without Redis rather than hang; --wait polls through short restarts.
      const redis = createRedis(cfg.redis.url, { maxRetriesPerRequest: 5, retryStrategy: (n) => (n > 50 ? null : 200) });
      const queues = new JobQueues(redis, cfg.redis.prefix);
      try {
        const r = await queues.enqueue(kind, jobData(kind, flags));
        if (!flags.wait) {
          printJson(r);
          return;
        }
        const view = await queues.waitFor(r.kind, r.id, flags.timeout ?? 600_000);
        printJson({ ...r, ...view });
        if (view.state !== 'completed') setExit(2);
      } finally {
        await queues.close();
        redis.disconnect();
      }
    });

  const findings = program
    .command('findings')
    .description('findings in the service store (REDIS_URL): list, show, resolve, health');

  findings
    .command('list')
    .description('findings, oldest first, filtered by state, repository or stream, rule')
    .addOption(new Option('--state <state>', 'only this lifecycle state').choices(FindingState.options))
    .option('--repo <repo>', 'only findings seen in this repository (path or URL)')
    .option('--stream <name>', 'only findings seen in this log stream')
    .option('--dump <path>', 'only findings seen in this dump')
    .option('--rule <id>', 'only this rule')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 1000)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['json', 'text']).default('json'))
    .action(
      async (flags: {
        state?: FindingState;
        repo?: string;
        stream?: string;
        dump?: string;
        rule?: string;
        limit: number;
        format: string;
      }) => {
        const cfg = await serviceConfig();
        const given = [flags.repo, flags.stream, flags.dump].filter((x) => x !== undefined);
        if (given.length > 1) throw new KeywardenError('KW_USAGE', 'give at most one of --repo, --stream, --dump');
        const target =
          flags.repo !== undefined ? targetOf(flags.repo) : flags.dump !== undefined ? targetOf(flags.dump) : flags.stream;
        const list = await withStore(cfg, (s) =>
          s.list({
            ...(flags.state ? { state: flags.state } : {}),
            ...(flags.rule ? { ruleId: flags.rule } : {}),
            ...(target !== undefined ? { target } : {}),
            limit: flags.limit,
          }),
        );
        if (flags.format === 'text') process.stdout.write(list.map((f) => `${textRow(f)}\n`).join(''));
        else printJson(list);
      },
    );

  findings
    .command('show')
    .description(
      "one finding: its lifecycle with times, the raw secret's status, occurrences and audit trail (JSON, or -f text; audited)",
    )
    .argument('<fingerprint>')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['json', 'text']).default('json'))
    .option('--actor <name>', 'who, for the audit trail (default: cli:<user>)')
    .action(async (fp: string, flags: { format: string; actor?: string }) => {
      const out = await showFinding(env, fp, flags.actor ?? cliActor());
      if (flags.format === 'text') process.stdout.write(showText(out));
      else printJson(out);
    });

  findings
    .command('resolve')
    .description(
      "close a finding by judgement: false positive, accepted risk, or revoked (a human's confirm_revoked, for a key keywarden cannot check); audited, the raw secret deleted",
    )
    .argument('<fingerprint>')
    .addOption(new Option('--as <resolution>', 'how it is resolved').choices(Object.keys(RESOLUTIONS)).makeOptionMandatory())
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--actor <name>', 'who (default: cli:<user>)')
    .action(async (fp: string, flags: { as: Resolution; reason: string; actor?: string }) => {
      const cfg = await serviceConfig();
      const r = await withStore(cfg, (s) => s.resolve(fp, flags.as, { actor: flags.actor ?? cliActor(), reason: flags.reason }));
      printJson({ fingerprint: fp, ...r });
    });

  findings
    .command('health')
    .description('open findings by state and age; time from detection to confirmed revocation (JSON)')
    .action(async () => {
      const cfg = await serviceConfig();
      printJson(await withStore(cfg, (s) => s.health()));
    });
  void setExit;
}
