// Prometheus metrics of the service (prom-client), read at scrape time from Redis: queue depth per
// queue, job durations (from BullMQ queue events, as this process sees them), findings by state and the
// time from detection to confirmed revocation; with the intake mounted, its batch, byte and finding
// counters. One registry per server, so tests can run several.
import { type Job, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { IntakeBatchEvent, IntakeOutcome } from '../intake/server.js';
import { JOB_KINDS, type JobKind } from '../workers/jobs.js';
import { FindingState } from '../workers/lifecycle.js';
import { JOB_STATES, type JobQueues, type JobStatus } from '../workers/queue.js';
import type { FindingStore } from '../workers/store.js';

/** Job states reported as queue depth: everything that is not finished, plus failed (kept for people). */
export const DEPTH_STATES = JOB_STATES.filter(
  (s): s is Exclude<JobStatus, 'completed' | 'unknown'> => s !== 'completed' && s !== 'unknown',
);

/** Seconds. Small log batches take milliseconds; a large repository's full history, tens of minutes. */
const JOB_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Seconds: 1 h, 6 h, 12 h, 1 d, 2 d, 3 d, 7 d, 14 d, 30 d, 90 d — rotation is counted in hours to weeks. */
const REVOCATION_BUCKETS = [3600, 21_600, 43_200, 86_400, 172_800, 259_200, 604_800, 1_209_600, 2_592_000, 7_776_000];

/** Metric names, for the docs and the tests. */
export const METRIC_NAMES = {
  queueDepth: 'keywarden_queue_depth',
  jobDuration: 'keywarden_job_duration_seconds',
  findings: 'keywarden_findings',
  timeToRevocation: 'keywarden_time_to_revocation_seconds',
} as const;

/** Registered only when `keywarden serve` mounts the log-shipper intake. */
export const INTAKE_METRIC_NAMES = {
  batches: 'keywarden_intake_batches_total',
  bytes: 'keywarden_intake_bytes_total',
  findings: 'keywarden_intake_findings_total',
} as const;

const INTAKE_OUTCOMES: readonly IntakeOutcome[] = ['forwarded', 'spooled', 'spool_full', 'record_failed'];

export interface MetricsDeps {
  queues: JobQueues;
  store: FindingStore;
  /** Each queue's events are read on a connection of their own (a blocking XREAD); this one is duplicated. */
  redis: Redis;
  prefix: string;
  /** Include Node's process metrics (CPU, memory, event loop). @defaultValue true */
  processMetrics?: boolean;
  /** Register the intake counters. @defaultValue false */
  intake?: boolean;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly events: QueueEvents[] = [];
  private readonly conns: Redis[] = [];
  private readonly jobDuration: Histogram<'queue' | 'outcome'>;
  private readonly intake: { batches: Counter<'outcome'>; bytes: Counter; findings: Counter } | null = null;

  constructor(private readonly deps: MetricsDeps) {
    const { queues, store } = deps;
    const registers = [this.registry];
    new Gauge({
      name: METRIC_NAMES.queueDepth,
      help: 'Jobs in each queue by state (waiting, prioritized, active, delayed, waiting-children, failed).',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        const counts = await Promise.all(JOB_KINDS.map((k) => queues.queue(k).getJobCounts(...DEPTH_STATES)));
        for (const [i, kind] of JOB_KINDS.entries()) {
          for (const s of DEPTH_STATES) this.set({ queue: kind, state: s }, counts[i]?.[s] ?? 0);
        }
      },
    });
    this.jobDuration = new Histogram({
      name: METRIC_NAMES.jobDuration,
      help: 'Time from a worker taking a job to its completion or final failure, seconds (jobs finished while this process listened).',
      labelNames: ['queue', 'outcome'] as const,
      buckets: JOB_DURATION_BUCKETS,
      registers,
    });
    new Gauge({
      name: METRIC_NAMES.findings,
      help: 'Findings (distinct secrets) by lifecycle state.',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const h = await store.health();
        for (const s of FindingState.options) this.set({ state: s }, h.open.byState[s]?.count ?? h.closed[s] ?? 0);
      },
    });
    new Histogram({
      name: METRIC_NAMES.timeToRevocation,
      help: 'Time from first detection to confirmed revocation, seconds, over every revoked finding in the store.',
      buckets: REVOCATION_BUCKETS,
      registers,
      // Rebuilt from the store at each scrape: revocations are confirmed by workers in other processes,
      // so the store, not this process, is the source of truth.
      async collect() {
        const revoked = await store.list({ state: 'revoked', limit: Number.MAX_SAFE_INTEGER });
        this.reset();
        for (const f of revoked) {
          const at = f.stateTimes.revoked;
          if (at) this.observe(Math.max(0, (Date.parse(at) - Date.parse(f.firstSeen)) / 1000));
        }
      },
    });
    if (deps.intake) {
      // Counted in this process (each API replica its own), unlike the Redis-backed figures above.
      const batches = new Counter({
        name: INTAKE_METRIC_NAMES.batches,
        help: 'Log-shipper batches by outcome: forwarded downstream, spooled, refused with 503 (spool_full, record_failed).',
        labelNames: ['outcome'] as const,
        registers,
      });
      for (const o of INTAKE_OUTCOMES) batches.inc({ outcome: o }, 0); // every outcome visible from the first scrape
      this.intake = {
        batches,
        bytes: new Counter({
          name: INTAKE_METRIC_NAMES.bytes,
          help: 'Bytes of accepted log-shipper batches (after gzip decompression).',
          registers,
        }),
        findings: new Counter({
          name: INTAKE_METRIC_NAMES.findings,
          help: 'Findings (occurrences) recorded from accepted log-shipper batches.',
          registers,
        }),
      };
    }
    if (deps.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** One intake batch; a no-op unless the counters were registered (`intake: true`). */
  observeIntakeBatch(e: IntakeBatchEvent): void {
    if (!this.intake) return;
    this.intake.batches.inc({ outcome: e.outcome });
    if (e.outcome !== 'forwarded' && e.outcome !== 'spooled') return;
    this.intake.bytes.inc(e.bytes);
    this.intake.findings.inc(e.findings);
  }

  /**
   * Starts listening to every queue's completed and failed events (for the job duration histogram).
   * Waits up to `readyMs` for the listeners to be in place; with Redis away it returns anyway and the
   * listeners attach when Redis comes back (the HTTP server must come up regardless).
   */
  async start(readyMs = 5000): Promise<void> {
    for (const kind of JOB_KINDS) {
      const conn = this.deps.redis.duplicate();
      conn.on('error', () => {});
      this.conns.push(conn);
      const ev = new QueueEvents(kind, { connection: conn, prefix: this.deps.prefix });
      ev.on('completed', ({ jobId, returnvalue }) => void this.observeJob(kind, jobId, 'completed', returnvalue));
      ev.on('failed', ({ jobId }) => void this.observeJob(kind, jobId, 'failed'));
      // ioredis reconnects by itself; an unhandled 'error' would crash the server.
      ev.on('error', () => {});
      this.events.push(ev);
    }
    let timer: NodeJS.Timeout | undefined;
    const ready = Promise.all(this.events.map((e) => e.waitUntilReady())).catch(() => {});
    await Promise.race([ready, new Promise((r) => (timer = setTimeout(r, readyMs)))]);
    clearTimeout(timer);
  }

  private async observeJob(kind: JobKind, jobId: string, outcome: 'completed' | 'failed', returnvalue?: unknown): Promise<void> {
    // Scan jobs report their own duration; anything else is timed from the job's timestamps.
    const ms = (returnvalue as { durationMs?: unknown } | undefined)?.durationMs;
    if (typeof ms === 'number' && Number.isFinite(ms)) {
      this.jobDuration.observe({ queue: kind, outcome }, ms / 1000);
      return;
    }
    try {
      const job: Job | undefined = await this.deps.queues.queue(kind).getJob(jobId);
      if (job?.processedOn && job.finishedOn)
        this.jobDuration.observe({ queue: kind, outcome }, Math.max(0, job.finishedOn - job.processedOn) / 1000);
    } catch {
      // The job was removed meanwhile or Redis is away: one sample fewer, nothing worse.
    }
  }

  /** The exposition text; rejects when Redis cannot be read. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async close(): Promise<void> {
    // Disconnect first: closing a QueueEvents politely waits for its blocking read, or for a Redis that is away.
    for (const c of this.conns) c.disconnect();
    await Promise.all(this.events.map((e) => e.close().catch(() => {})));
    this.registry.clear();
  }
}
