// The worker side: BullMQ workers, one per job kind, that parse `job.data` with the schema from jobs.ts,
// run the kind's processor (handlers.ts) and map typed errors to BullMQ behaviour by the `retryable`
// column of the error table (errors/codes.ts): retried with backoff, or failed at once.
import { hostname } from 'node:os';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { codeOf, specOf } from '../errors/error.js';
import type { Logger } from '../logging/logger.js';
import { type ProcessorContext, runProcessor, type ScanSettings } from './handlers.js';
import { JOB_KINDS, type JobKind, type JobResult, parseJob } from './jobs.js';
import { createLoop, type Loop, type LoopOptions } from './loop.js';
import { JobQueues } from './queue.js';
import { createRedis } from './redis.js';
import { FindingStore } from './store.js';

export interface WorkerOptions {
  redisUrl: string;
  prefix: string;
  /** @defaultValue every kind */
  queues?: readonly JobKind[];
  /** Jobs run at once per queue. @defaultValue 1 */
  concurrency?: number;
  /** Milliseconds a job's lock lasts without renewal; a killed worker's job is taken back after it. @defaultValue 30000 */
  lockDurationMs?: number;
  /** Milliseconds between checks for stalled jobs. @defaultValue 30000 */
  stalledIntervalMs?: number;
  scan: ScanSettings;
  /** Written into audit events. @defaultValue `worker:<host>:<pid>` */
  actor?: string;
  /**
   * Test hook: record occurrences one at a time and await this after each, with the count so far
   * (`keywarden worker --debug-hold-after`: to stop a worker mid-job at a known point).
   */
  afterRecord?: (recorded: number) => Promise<void>;
  /** One line per job outcome. @defaultValue nothing */
  log?: (entry: Record<string, unknown>) => void;
  /** Job start, completion and failure from `processJob` (ids, counts, codes; never job data). @defaultValue none */
  logger?: Logger;
  /** The rotation loop (workers/loop.ts) over this worker's store and queues. @defaultValue none: scans only */
  loop?: Omit<LoopOptions, 'store' | 'queues'>;
}

export interface RunningWorkers {
  workers: Worker[];
  store: FindingStore;
  loop: Loop | null;
  /** Stops taking jobs, waits for the in-flight ones, closes connections. */
  close(): Promise<void>;
}

export type JobContext = ProcessorContext & { logger?: Logger };

/** Runs one job: parse, then the kind's processor. Exported for embedded use (tests, bench) without BullMQ. */
export async function processJob<K extends JobKind>(kind: K, data: unknown, ctx: JobContext): Promise<JobResult<K>>;
export async function processJob(kind: string, data: unknown, ctx: JobContext): Promise<JobResult<JobKind>>;
export async function processJob(kind: string, data: unknown, ctx: JobContext): Promise<JobResult<JobKind>> {
  const started = performance.now();
  // `kind` is the queue's name, not job data; the data itself is never logged (a log batch is secrets).
  const log = ctx.logger?.child({ jobId: ctx.jobId, kind });
  log?.info({ event: 'job-start' }, 'job started');
  try {
    const job = parseJob(kind, data);
    const result: JobResult<JobKind> = await runProcessor(job.kind, job.data, ctx);
    const { kind: _kind, ...counts } = result; // the child logger already names the kind
    log?.info({ event: 'job-done', ...counts }, 'job completed');
    return result;
  } catch (err) {
    // The code only: an error message may quote the job's input.
    const code = codeOf(err);
    log?.info({ event: 'job-failed', code, durationMs: Math.round(performance.now() - started) }, 'job failed');
    throw err;
  }
}

/**
 * Errors that no retry can fix fail the job at once, with the code in the visible reason. Whether a
 * code is one of them is the table's `retryable` column; what is not ours (KW_INTERNAL) is retried.
 */
function permanent(err: unknown): boolean {
  return !specOf(err).retryable;
}

export async function startWorkers(opts: WorkerOptions): Promise<RunningWorkers> {
  const actor = opts.actor ?? `worker:${hostname()}:${process.pid}`;
  const storeConn: Redis = createRedis(opts.redisUrl);
  const store = new FindingStore(storeConn, opts.prefix);
  const log = opts.log ?? (() => {});
  const workers: Worker[] = [];
  // BullMQ leaves connections it was given open on close(): these are ours to quit.
  const conns: Redis[] = [storeConn];
  // Follow-up jobs of the loop (deliveries, retries, checks) are added on the store's connection.
  const queues = new JobQueues(storeConn, opts.prefix);
  const loop = opts.loop ? createLoop({ ...opts.loop, store, queues }) : null;
  for (const kind of opts.queues ?? JOB_KINDS) {
    const processor = async (job: Job): Promise<JobResult<JobKind>> => {
      try {
        const ctx = {
          scan: opts.scan,
          store,
          actor,
          ...(job.id ? { jobId: job.id } : {}),
          ...(opts.afterRecord ? { afterRecord: opts.afterRecord } : {}),
          ...(opts.logger ? { logger: opts.logger } : {}),
          ...(loop ? { loop } : {}),
        };
        return await processJob(kind, job.data, ctx);
      } catch (err) {
        if (permanent(err)) {
          throw new UnrecoverableError(`${codeOf(err)}: ${(err as Error).message}`);
        }
        throw err;
      }
    };
    const conn = createRedis(opts.redisUrl);
    conns.push(conn);
    const w = new Worker(kind, processor, {
      connection: conn,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 1,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.stalledIntervalMs ?? 30_000,
      // A job whose worker died is retried, up to this many stalls, before it fails visibly.
      maxStalledCount: 3,
    });
    w.on('completed', (job, result: JobResult<JobKind>) => log({ event: 'completed', jobId: job.id, ...result }));
    w.on('failed', (job, err) =>
      log({ event: 'failed', kind, jobId: job?.id, attemptsMade: job?.attemptsMade, error: err.message }),
    );
    // Connection errors are retried by ioredis; log them rather than crash on an unhandled 'error'.
    w.on('error', (err) => log({ event: 'error', kind, error: err.message }));
    workers.push(w);
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    workers,
    store,
    loop,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await queues.close();
      await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
