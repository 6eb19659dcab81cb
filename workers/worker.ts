// The worker side: BullMQ workers, one per job kind, that parse `job.data` with the schema from jobs.ts,
// run the kind's processor (handlers.ts) and map typed errors to BullMQ behaviour by the `retryable`
// column of the error table (errors/codes.ts): retried with backoff, or failed at once. Each job runs
// under its kind's time limit and the worker's shutdown, both one AbortSignal handed to the processor.
import { hostname } from 'node:os';
import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULT_JOB_TIMEOUTS, DEFAULT_SHUTDOWN_GRACE_MS, timeoutVariable } from '../config/sections/limits.js';
import { codeOf, KeywardenError, specOf } from '../errors/error.js';
import type { Logger } from '../logging/logger.js';
import { type ProcessorContext, runProcessor, type ScanSettings } from './handlers.js';
import { JOB_KINDS, type JobKind, type JobResult, parseJob } from './jobs.js';
import { createLoop, type Loop, type LoopOptions } from './loop.js';
import { JobQueues } from './queue.js';
import { createRedis, isRedisUnavailable, RedisStateLog } from './redis.js';
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
  /** Job start, completion and failure from `processJob` (ids, counts, codes; never job data); Redis state changes. @defaultValue none */
  logger?: Logger;
  /** The rotation loop (workers/loop.ts) over this worker's store and queues. @defaultValue none: scans only */
  loop?: Omit<LoopOptions, 'store' | 'queues'>;
  /** Milliseconds a job of each kind may run before it fails with KW_JOB_TIMEOUT (KEYWARDEN_JOB_TIMEOUT_<KIND>). @defaultValue DEFAULT_JOB_TIMEOUTS */
  jobTimeoutMs?: Partial<Record<JobKind, number>>;
  /** Milliseconds `close()` lets in-flight jobs finish before it hands them back (KEYWARDEN_SHUTDOWN_GRACE). @defaultValue 20000 */
  shutdownGraceMs?: number;
}

export interface RunningWorkers {
  workers: Worker[];
  store: FindingStore;
  loop: Loop | null;
  /**
   * Stops taking jobs and lets the in-flight ones finish for up to `graceMs`; then aborts them and
   * hands each back to the queue (waiting, attempts untouched) for another worker; closes connections.
   */
  close(graceMs?: number): Promise<void>;
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

/** After an abort, how long the work gets to record what it read and return (it stops at its next read). */
const WIND_DOWN_MS = 2000;

/**
 * `work`, or the signal's reason once `signal` aborts and the work has had WIND_DOWN_MS to stop: a
 * source that ignores the signal cannot keep the job (or a stopping worker) past its limit.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      timer = setTimeout(() => reject(signal.reason), WIND_DOWN_MS);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  work.catch(() => {}); // settled after losing the race: nothing is waiting for it
  return Promise.race([work, aborted]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  });
}

export async function startWorkers(opts: WorkerOptions): Promise<RunningWorkers> {
  const actor = opts.actor ?? `worker:${hostname()}:${process.pid}`;
  const log = opts.log ?? (() => {});
  // One line per Redis state change for the whole process, not one per failed command per client.
  const redisLog = new RedisStateLog(
    opts.redisUrl,
    opts.logger ?? { warn: (o: object) => log({ ...o }), info: (o: object) => log({ ...o }) },
  );
  const storeConn: Redis = redisLog.watch(createRedis(opts.redisUrl));
  const store = new FindingStore(storeConn, opts.prefix);
  const workers: Worker[] = [];
  // BullMQ leaves connections it was given open on close(): these are ours to quit.
  const conns: Redis[] = [storeConn];
  // Follow-up jobs of the loop (deliveries, retries, checks) are added on the store's connection.
  const queues = new JobQueues(storeConn, opts.prefix);
  const loop = opts.loop ? createLoop({ ...opts.loop, store, queues }) : null;
  // Aborted when the shutdown grace is over: every in-flight job stops and goes back to the queue.
  const shutdown = new AbortController();
  for (const kind of opts.queues ?? JOB_KINDS) {
    const limitMs = opts.jobTimeoutMs?.[kind] ?? DEFAULT_JOB_TIMEOUTS[kind];
    const processor = async (job: Job, token?: string, cancelled?: AbortSignal): Promise<JobResult<JobKind>> => {
      const limit = new AbortController();
      const timer = setTimeout(
        () =>
          limit.abort(
            new KeywardenError(
              'KW_JOB_TIMEOUT',
              `${kind} job ran past its time limit of ${limitMs} ms (${timeoutVariable(kind)}, KEYWARDEN_JOB_TIMEOUT)`,
            ),
          ),
        limitMs,
      );
      const signal = AbortSignal.any([limit.signal, shutdown.signal, ...(cancelled ? [cancelled] : [])]);
      try {
        const ctx: JobContext = {
          scan: opts.scan,
          store,
          actor,
          signal,
          ...(job.id ? { jobId: job.id } : {}),
          ...(opts.afterRecord ? { afterRecord: opts.afterRecord } : {}),
          ...(opts.logger ? { logger: opts.logger } : {}),
          ...(loop ? { loop } : {}),
        };
        return await untilAborted(processJob(kind, job.data, ctx), signal);
      } catch (thrown) {
        // Aborted: whatever the interrupted source threw (an AbortError from a killed git), the reason is the abort's.
        const err = signal.aborted ? signal.reason : thrown;
        if (shutdown.signal.aborted && token) {
          // Handed back, not failed: another worker (or this one, restarted) runs it from the start.
          try {
            await job.moveToWait(token);
            log({ event: 'handed-back', kind, jobId: job.id });
          } catch {
            // Redis away too: the job stays active until its lock lapses; the stalled check then takes it back.
            log({ event: 'hand-back-failed', kind, jobId: job.id });
          }
          throw new WaitingError();
        }
        if (permanent(err)) {
          throw new UnrecoverableError(`${codeOf(err)}: ${(err as Error).message}`);
        }
        throw err;
      } finally {
        clearTimeout(timer);
      }
    };
    const conn = redisLog.watch(createRedis(opts.redisUrl));
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
    // Connection errors are retried by ioredis and logged once per state change (redisLog); others here.
    w.on('error', (err) => {
      if (!isRedisUnavailable(err)) log({ event: 'error', kind, error: err.message });
    });
    workers.push(w);
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    workers,
    store,
    loop,
    async close(graceMs = opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS) {
      const closed = Promise.all(workers.map((w) => w.close()));
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace-over'>((r) => {
        timer = setTimeout(() => r('grace-over'), graceMs);
      });
      if ((await Promise.race([closed, graceOver])) === 'grace-over') {
        shutdown.abort(
          new KeywardenError('KW_WORKER_STOPPING', `the worker stopped before the job finished (grace ${graceMs} ms)`),
        );
        // Each job now has WIND_DOWN_MS to stop and be handed back; a job still running after that is
        // taken back by the stalled-job check once its lock lapses, as after a crash.
        await Promise.race([closed, new Promise((r) => setTimeout(r, WIND_DOWN_MS + 1000))]);
      }
      clearTimeout(timer);
      redisLog.stop();
      await queues.close();
      await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
