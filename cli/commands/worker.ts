// `keywarden worker`, `keywarden enqueue <kind>`, `keywarden findings list|show|resolve|health`: the
// service side of the CLI (workers/). Settings come from the service configuration (REDIS_URL,
// KEYWARDEN_PREFIX, ...: config/service.ts), built once per command at start-up.
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { Redis, RedisOptions } from 'ioredis';
import { credentialsInUrlProblem } from '../../access/repo.js';
import { publicJob } from '../../api/routes/jobs.js';
import type { ConfigDocument } from '../../config/file.js';
import { FINGERPRINT_KEY_ENV } from '../../config/fingerprint.js';
import type { Environment } from '../../config/section.js';
import type { ServiceConfig } from '../../config/service.js';
import { isKeywardenError, KeywardenError } from '../../errors/error.js';
import { createLogger } from '../../logging/logger.js';
import { configFromDocument, resolveRules } from '../../scanner/config.js';
import { createRedactor, type Redactor } from '../../scanner/redact-spans.js';
import { isRemoteUrl } from '../../scanner/sources/git/remote.js';
import { targetOf } from '../../scanner/target.js';
import { defaultScanSettings } from '../../workers/handlers.js';
import { isJobKind, JOB_KINDS, type JobKind } from '../../workers/jobs.js';
import { FindingState, RESOLUTIONS, type Resolution } from '../../workers/lifecycle.js';
import { JobQueues } from '../../workers/queue.js';
import { asRedisError, createRedis, safeRedisUrl } from '../../workers/redis.js';
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
  const { redis, failure } = oneShotRedis(cfg.redis.url, {
    maxRetriesPerRequest: 2,
    retryStrategy: (n) => (n > 3 ? null : 200),
  });
  try {
    return await fn(new FindingStore(redis, cfg.redis.prefix)).catch(failure);
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
  force?: boolean;
}

/**
 * A local repository or dump named relative to where the command runs is made absolute here: the
 * worker runs elsewhere (another directory, another machine), where `./repo` means nothing. A relative
 * name that is not there is refused before anything is queued.
 */
function localPathsResolved(kind: string, data: unknown): unknown {
  if (typeof data !== 'object' || data === null) return data;
  const field = kind === 'scan-history' || kind === 'scan-diff' ? 'repo' : kind === 'scan-dump' ? 'path' : undefined;
  const d = data as Record<string, unknown>;
  const v = field === undefined ? undefined : d[field];
  if (field === undefined || typeof v !== 'string' || v === '' || isAbsolute(v) || isRemoteUrl(v)) return data;
  const abs = resolve(v);
  if (!existsSync(abs)) throw new KeywardenError('KW_USAGE', `--${field} ${v}: ${abs} does not exist`);
  return { ...d, [field]: abs };
}

/** The workers' rules (built-in pack + ./.keywarden.yaml) and fingerprint key, to scan a log batch before it is queued. */
async function logBatchScanner(document: ConfigDocument | null, key: Buffer): Promise<Redactor> {
  const config = await configFromDocument(document);
  return createRedactor({ rules: await resolveRules(config), globalAllow: config.allowlist, fingerprintKey: key });
}

/**
 * A client for a one-shot command, and how its failures read: one line naming the server (without its
 * password) and the connection's own reason (ECONNREFUSED, WRONGPASS), not ioredis' retry count.
 */
function oneShotRedis(url: string, opts: RedisOptions): { redis: Redis; failure: (err: unknown) => never } {
  const redis = createRedis(url, opts);
  let reason: string | undefined;
  // Kept, not printed: the failed command reports it once.
  redis.on('error', (err: Error) => {
    reason = err.message;
  });
  const failure = (err: unknown): never => {
    if (isKeywardenError(err)) throw err;
    const why = reason ?? (err instanceof Error ? err.message : String(err));
    throw new KeywardenError('KW_REDIS', `cannot reach Redis at ${safeRedisUrl(url)}: ${why}`, [], { cause: err });
  };
  return { redis, failure };
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
          cfg.access,
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
          // Limits (config/sections/limits.ts): per-kind time limits, the dump byte limit, the SIGTERM grace.
          jobTimeoutMs: cfg.limits.jobTimeout,
          shutdownGraceMs: cfg.limits.shutdownGrace,
          scan: { ...scan, dumpMaxBytes: cfg.limits.dumpMaxBytes },
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
        // First signal: let in-flight jobs finish for KEYWARDEN_SHUTDOWN_GRACE, then hand the rest back
        // to the queue and exit. A second one: exit now; the jobs' locks lapse and other workers take
        // them back (stalled-job check), as after a crash.
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
        logger.info({ event: 'stopped' }, 'stopped');
        setExit(0);
        // A read an abort could not interrupt (a FIFO, a hung NFS file) keeps the event loop alive: the
        // jobs are handed back already, so exit regardless.
        setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
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
    .option('--force', 'run again even if the same job completed within the hour (its result is replaced)')
    .option('--wait', 'wait for the job to finish and print its result')
    .option('--timeout <ms>', 'with --wait: give up after this long', positiveInt('--timeout'), 600_000)
    .action(async (kind: string, flags: EnqueueFlags) => {
      const { config: cfg, document } = await serviceStartup(env);
      const data = localPathsResolved(kind, jobData(kind, flags));
      // A log batch is scanned here and only its findings are queued: no raw line reaches Redis.
      let logBatches: Redactor | undefined;
      if (kind === 'scan-log-batch') {
        const fk = serviceFingerprintKey(cfg);
        if (fk.origin !== 'env')
          process.stderr.write(
            `keywarden: warning: ${FINGERPRINT_KEY_ENV} is not set: this batch's fingerprints are this machine's, not the workers', so its secrets may become new findings\n`,
          );
        logBatches = await logBatchScanner(document, fk.key);
      }
      // Without Redis the ping below fails in 1-3 s; once enqueued, --wait polls through short restarts.
      const { redis, failure } = oneShotRedis(cfg.redis.url, {
        maxRetriesPerRequest: 5,
        retryStrategy: (n) => (n > 50 ? null : 200),
      });
      const keeping = cfg.rotation.rawSecrets;
      const queues = new JobQueues(redis, cfg.redis.prefix, {
        ...(logBatches ? { logBatches } : {}),
        // With KEYWARDEN_SECRET_KEY, a batch's secrets travel sealed, for the loop's liveness checks.
        ...(keeping.kept ? { sealKey: keeping.key.reveal() } : {}),
      });
      try {
        // A token in a repository URL would be kept in Redis with the job: refused, as the API refuses it.
        const repo = (data as { repo?: unknown } | null)?.repo;
        const problem = typeof repo === 'string' ? credentialsInUrlProblem(repo) : null;
        if (problem !== null) throw new KeywardenError('KW_USAGE', `--repo ${problem}`);
        // Reached first with our own client, so an absent Redis is one line naming it (in ~1 s), not
        // BullMQ's connection errors, one per retry.
        await redis.ping().catch(failure);
        if (isJobKind(kind)) queues.queue(kind).on('error', () => {});
        const r = await queues.enqueue(kind, data, { force: flags.force === true }).catch(failure);
        if (!flags.wait) {
          printJson(r);
          return;
        }
        const view = await queues.waitFor(r.kind, r.id, flags.timeout ?? 600_000);
        // The view the API gives: a log batch's findings as a count, never lines (api/routes/jobs.ts).
        printJson({ ...r, ...publicJob(view) });
        if (view.state !== 'completed') setExit(2);
      } catch (err) {
        throw asRedisError(err, cfg.redis.url);
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
