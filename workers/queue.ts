// Submitting jobs: one BullMQ queue per job kind, content-derived job ids (the same scan enqueued twice
// is one job), default retry and retention options. Used by `keywarden enqueue`, the API and the scheduler.
import { type Job, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULT_JOB_OPTIONS, JOB_KINDS, type JobKind, jobIdFor, parseJob } from './jobs.js';

export interface Enqueued {
  id: string;
  kind: JobKind;
  /** True when a job with this id already existed (queued, running, or kept after completing). */
  duplicate: boolean;
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
  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {}

  queue(kind: JobKind): Queue {
    let q = this.queues.get(kind);
    if (!q) {
      q = new Queue(kind, { connection: this.connection, prefix: this.prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
      this.queues.set(kind, q);
    }
    return q;
  }

  /**
   * Validates `data` against the kind's schema (KW_JOB_INVALID before anything reaches Redis) and adds
   * the job under its content-derived id. `opts.jobId` overrides it (a scheduler that wants a new run
   * of the same data every night passes its own).
   */
  async enqueue(kind: string, data: unknown, opts: Pick<JobsOptions, 'jobId' | 'priority' | 'delay'> = {}): Promise<Enqueued> {
    const job = parseJob(kind, data);
    const id = opts.jobId ?? jobIdFor(job.kind, job.data);
    const q = this.queue(job.kind);
    const existing = await q.getJob(id);
    const added = await q.add(job.kind, job.data, { ...opts, jobId: id });
    return { id: added.id ?? id, kind: job.kind, duplicate: existing !== undefined && existing !== null };
  }

  /**
   * Many jobs of one kind in one round trip (log shippers, benchmarks). Ids are content-derived as in
   * `enqueue`; duplicates are not reported here (BullMQ still adds each id once).
   */
  async enqueueMany(kind: string, datas: readonly unknown[]): Promise<string[]> {
    const jobs = datas.map((d) => parseJob(kind, d));
    const q = this.queue(jobs[0]?.kind ?? (kind as JobKind));
    const added = await q.addBulk(
      jobs.map((j) => ({ name: j.kind, data: j.data, opts: { ...DEFAULT_JOB_OPTIONS, jobId: jobIdFor(j.kind, j.data) } })),
    );
    return added.map((j) => j.id ?? '');
  }

  async get(kind: JobKind, id: string): Promise<JobView | null> {
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
    for (const k of kinds) out[k] = await this.queue(k).getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
