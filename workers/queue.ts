// Submitting jobs: one BullMQ queue per job kind, content-derived job ids (the same scan enqueued twice
// is one job), default retry and retention options. Used by `keywarden enqueue`, the API and the scheduler.
import { randomUUID } from 'node:crypto';
import { type Job, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { KeywardenError } from '../errors/error.js';
import type { Redactor } from '../scanner/redact-spans.js';
import { type AnyJob, DEFAULT_JOB_OPTIONS, JOB_KINDS, type JobKind, jobIdFor, parseSubmission } from './jobs.js';
import { scanLogSubmission } from './processors/log-batch.js';
import { isScannedLogBatch } from './processors/log-batch-data.js';
import { withRedisDeadline } from './redis.js';

export interface Enqueued {
  id: string;
  kind: JobKind;
  /**
   * True when this submission added nothing: a job with this id is queued or running, is being added
   * by a concurrent identical submission, or completed within the hour with a result that still holds.
   */
  duplicate: boolean;
}

export interface EnqueueOptions extends Pick<JobsOptions, 'jobId' | 'priority' | 'delay'> {
  /** Run again even when a completed job with this id is kept (API `force: true`, CLI `--force`). @defaultValue false */
  force?: boolean;
  /** Keeps the content-derived id apart from the same data enqueued by anyone else (per-token log batches). */
  namespace?: string;
}

export interface JobQueuesOptions {
  /**
   * Milliseconds any one call may wait on Redis before it rejects with KW_REDIS (request paths: the
   * API's KEYWARDEN_REDIS_REQUEST_TIMEOUT). @defaultValue none: wait (workers, the scheduler)
   */
  requestTimeoutMs?: number;
  /** Named (without its password) in KW_REDIS messages. */
  redisUrl?: string;
  /**
   * The workers' rules and fingerprint key, to scan a log batch before it is queued (only its findings
   * reach Redis). @defaultValue none: this process cannot enqueue `scan-log-batch`
   */
  logBatches?: Redactor;
  /**
   * KEYWARDEN_SECRET_KEY: a log batch's secrets travel to the worker sealed under it (AES-256-GCM, as
   * the vault keeps them), for the loop's liveness checks. @defaultValue none: no raw secret is queued
   */
  sealKey?: Buffer;
}

/** Milliseconds an enqueue holds its claim on a job id: far longer than the few round trips it takes. */
const CLAIM_MS = 10_000;
// Deletes the claim only if it is still ours (it may have lapsed and been taken by another submission).
const RELEASE_CLAIM = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * Whether a completed job's result still answers the same submission. A log batch carries its content
 * and a diff between two commit ids cannot change; a repository's refs move and a dump path can be
 * overwritten, so for those a kept result is stale by construction and the submission runs again
 * (issue #10: a key committed since the last scan was missed). Finding jobs keep their own state.
 */
export function resultStaysValid(job: AnyJob): boolean {
  switch (job.kind) {
    case 'scan-log-batch':
    case 'rotate':
    case 'confirm-revocation':
      return true;
    case 'scan-diff':
      return SHA.test(job.data.base) && SHA.test(job.data.head);
    case 'scan-history':
    case 'scan-dump':
      return false;
    default: {
      const never: never = job;
      return never;
    }
  }
}

export type JobStatus = Awaited<ReturnType<Job['getState']>>;

/**
 * Every state BullMQ reports for a job (`unknown`: no such job, or removed meanwhile), declared once
 * for the API's schema and the metrics. `satisfies` makes a state BullMQ adds a compile error here.
 */
const JOB_STATE_SET = {
  waiting: true,
  prioritized: true,
  active: true,
  delayed: true,
  'waiting-children': true,
  completed: true,
  failed: true,
  unknown: true,
} as const satisfies Record<JobStatus, true>;
export const JOB_STATES = Object.keys(JOB_STATE_SET) as [JobStatus, ...JobStatus[]];

export interface JobView {
  id: string;
  kind: JobKind;
  state: JobStatus;
  attemptsMade: number;
  failedReason?: string;
  returnvalue?: unknown;
  data: unknown;
}

export class JobQueues {
  private readonly queues = new Map<JobKind, Queue>();
  /**
   * `logBatches`: the workers' rules and fingerprint key, to scan a log batch before it is queued (only
   * its findings reach Redis). Without it, this process cannot enqueue `scan-log-batch`.
   */
  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly opts: JobQueuesOptions = {},
  ) {}

  /** `p`, bounded by the request timeout when one is set (for callers that use `queue()` directly). */
  bounded<T>(p: Promise<T>, what: string): Promise<T> {
    const ms = this.opts.requestTimeoutMs;
    return ms === undefined ? p : withRedisDeadline(p, ms, this.opts.redisUrl ?? '', what);
  }

  /** The job as it may be kept in Redis: a log batch's lines replaced by their findings. */
  private atRest(job: AnyJob): AnyJob {
    if (job.kind !== 'scan-log-batch' || isScannedLogBatch(job.data)) return job;
    const r = this.opts.logBatches;
    if (!r)
      throw new KeywardenError(
        'KW_CONFIG_INVALID',
        'this process cannot enqueue log batches: they are scanned before queueing, with the rules and fingerprint key it lacks',
      );
    return { kind: job.kind, data: scanLogSubmission(r, job.data, this.opts.sealKey) };
  }

  queue(kind: JobKind): Queue {
    let q = this.queues.get(kind);
    if (!q) {
      q = new Queue(kind, { connection: this.connection, prefix: this.prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
      // BullMQ prints every connection error of a queue without a listener (one per reconnect attempt):
      // callers see an outage as the failing call itself (KW_REDIS on request paths).
      q.on('error', () => {});
      this.queues.set(kind, q);
    }
    return q;
  }

  /**
   * Validates `data` against the kind's schema (KW_JOB_INVALID before anything reaches Redis) and adds
   * the job under its content-derived id. `opts.jobId` overrides it (a scheduler that wants a new run
   * of the same data every night passes its own). `namespace` keeps the id apart from the same data
   * enqueued by anyone else (the API's per-token log batches: see api/routes/jobs.ts).
   *
   * A job with the id that failed for good is replaced (its id is free again); a completed one is
   * replaced under `force`, or when its result cannot still hold (`resultStaysValid`); a queued or
   * running one is the answer (`duplicate: true`). A claim on the id (SET NX) makes concurrent
   * identical submissions add one job: the others answer `duplicate: true`.
   */
  async enqueue(kind: string, data: unknown, opts: EnqueueOptions = {}): Promise<Enqueued> {
    const job = this.atRest(parseSubmission(kind, data));
    const { force = false, namespace, ...jobOpts } = opts;
    const id = jobOpts.jobId ?? jobIdFor(job.kind, job.data, namespace);
    return this.bounded(this.addOnce(job, id, force, jobOpts), `enqueueing ${id}`);
  }

  private async addOnce(
    job: AnyJob,
    id: string,
    force: boolean,
    jobOpts: Omit<EnqueueOptions, 'force' | 'namespace'>,
  ): Promise<Enqueued> {
    const q = this.queue(job.kind);
    const claim = `${this.prefix}:enqueue-claim:${id}`;
    const nonce = randomUUID();
    if ((await this.connection.set(claim, nonce, 'PX', CLAIM_MS, 'NX')) !== 'OK') {
      return { id, kind: job.kind, duplicate: true }; // an identical submission is adding it right now
    }
    try {
      const existing = await q.getJob(id);
      if (existing) {
        const state = await existing.getState();
        const rerun = state === 'failed' || (state === 'completed' && (force || !resultStaysValid(job)));
        if (!rerun) return { id, kind: job.kind, duplicate: true };
        await existing.remove();
      }
      const added = await q.add(job.kind, job.data, { ...jobOpts, jobId: id });
      return { id: added.id ?? id, kind: job.kind, duplicate: false };
    } finally {
      await this.connection.eval(RELEASE_CLAIM, 1, claim, nonce).catch(() => {}); // lapses by itself otherwise
    }
  }

  /**
   * Many jobs of one kind in one round trip (log shippers, benchmarks). Ids are content-derived as in
   * `enqueue`; duplicates are not reported here (BullMQ still adds each id once).
   */
  async enqueueMany(kind: string, datas: readonly unknown[]): Promise<string[]> {
    const jobs = datas.map((d) => this.atRest(parseSubmission(kind, d)));
    const q = this.queue(jobs[0]?.kind ?? (kind as JobKind));
    const added = await q.addBulk(
      jobs.map((j) => ({ name: j.kind, data: j.data, opts: { ...DEFAULT_JOB_OPTIONS, jobId: jobIdFor(j.kind, j.data) } })),
    );
    return added.map((j) => j.id ?? '');
  }

  async get(kind: JobKind, id: string): Promise<JobView | null> {
    return this.bounded(this.read(kind, id), `reading job ${id}`);
  }

  private async read(kind: JobKind, id: string): Promise<JobView | null> {
    const q = this.queue(kind);
    // State first, then the job: a job read before a state read could predate the failure it reports.
    const state = await q.getJobState(id);
    const job = await q.getJob(id);
    if (!job) return null;
    const view: JobView = { id, kind, state, attemptsMade: job.attemptsMade, data: job.data };
    if (job.failedReason) view.failedReason = job.failedReason;
    if (job.returnvalue !== undefined && job.returnvalue !== null) view.returnvalue = job.returnvalue;
    return view;
  }

  /** Polls until the job completes or fails for good (or `timeoutMs` passes); survives Redis restarts. */
  async waitFor(kind: JobKind, id: string, timeoutMs: number, pollMs = 100): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let view: JobView | null = null;
      try {
        view = await this.get(kind, id);
      } catch {
        // Redis restarting: keep polling until the deadline.
      }
      if (view && (view.state === 'completed' || view.state === 'failed')) return view;
      if (Date.now() > deadline) return view ?? { id, kind, state: 'unknown', attemptsMade: 0, data: null };
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Waiting, active, delayed, completed, failed counts per kind. */
  async counts(kinds: readonly JobKind[] = JOB_KINDS): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const k of kinds)
      out[k] = await this.bounded(
        this.queue(k).getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed'),
        `counting ${k} jobs`,
      );
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
