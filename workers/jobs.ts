// Every job kind the service runs, each with its zod schema: the one contract between whoever enqueues
// (CLI, HTTP API, scheduler) and the workers. One BullMQ queue per kind, named after it.
import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import { KeywardenError } from '../errors/error.js';
import { FindingState, Fingerprint } from '../model/finding.js';
import { ESCALATION_STAGES } from '../rotation/events.js';

const nonEmpty = z.string().min(1);

// Job payloads name findings by the model's fingerprint (model/finding.ts).
export { Fingerprint };

export const JOB_SCHEMAS = {
  /** A repository's history (path or URL the worker can read), every ref or one; incremental keeps tips in Redis. */
  'scan-history': z.object({ repo: nonEmpty, branch: nonEmpty.optional(), incremental: z.boolean().optional() }).strict(),
  /** A PR range: what `head` adds over merge-base(base, head). */
  'scan-diff': z.object({ repo: nonEmpty, base: nonEmpty, head: nonEmpty }).strict(),
  /** A crash dump (or any large binary file) at a path the worker can read. */
  'scan-dump': z.object({ path: nonEmpty }).strict(),
  /**
   * A batch of log lines from one stream. `time`: when the batch was shipped (ISO), kept on each
   * occurrence; `firstLine`: the stream line number of lines[0] (default 1).
   */
  'scan-log-batch': z
    .object({
      stream: nonEmpty,
      lines: z.array(z.string()).min(1).max(100_000),
      time: z.string().optional(),
      firstLine: z.number().int().min(1).optional(),
    })
    .strict(),
  /**
   * The rotation loop for one finding (docs/rotation.md). `{fingerprint}` alone: the policy's decision
   * for a new finding (first liveness check, then the rotation request, notifications, self-revocation).
   * With `sequence`: rotation request number `sequence` (each `keywarden rotate` adds one) sent to every
   * rotation target now, whatever the policy. With `delivery`: one try of one webhook to one configured
   * target (retries are new delayed jobs with `attempt` + 1). With `deadline`: at the SLA, escalate
   * request `sequence` if nobody called back. Every job id derives from this data, so a re-run sends nothing twice.
   */
  rotate: z
    .object({
      fingerprint: Fingerprint,
      sequence: z.number().int().min(1).optional(),
      delivery: z
        .object({
          /** A configured target's name (never a URL: only settings name destinations). */
          target: z.string().min(1).max(64),
          type: z.enum(['rotation.requested', 'rotation.escalated', 'notification']),
          /** rotation.escalated, and a notification about an escalation. */
          stage: z.enum(ESCALATION_STAGES).optional(),
          /** What a notification says. */
          subject: z.enum(['detected', 'rotation-requested', 'escalated']).optional(),
          /** Why the finding was escalated, in words (no secret): the body's `escalation.reason`. */
          reason: z.string().max(2000).optional(),
          /** The SLA deadline that passed, epoch ms. */
          deadline: z.number().int().optional(),
          /** 1-based try of this delivery. */
          attempt: z.number().int().min(1),
          /** When the event was made (epoch ms): every try keeps it. */
          createdAt: z.number().int(),
        })
        .strict()
        .optional(),
      deadline: z.literal(true).optional(),
    })
    .strict()
    .refine((d) => !(d.delivery && d.deadline), { message: 'a rotate job is a delivery or a deadline, not both' })
    .refine((d) => !((d.delivery || d.deadline) && d.sequence === undefined), {
      message: 'a delivery or a deadline names the request (sequence)',
    }),
  /**
   * One liveness check of a rotated (or self-revoked) key: check `check` (1-based) of confirmation
   * round `round` (one per callback or self-revocation). Absent: start a round now (`keywarden enqueue`).
   */
  'confirm-revocation': z
    .object({
      fingerprint: Fingerprint,
      round: z.number().int().min(1).optional(),
      check: z.number().int().min(1).optional(),
    })
    .strict(),
} as const;

export type JobKind = keyof typeof JOB_SCHEMAS;
export const JOB_KINDS = Object.keys(JOB_SCHEMAS) as JobKind[];
export type JobData<K extends JobKind> = z.infer<(typeof JOB_SCHEMAS)[K]>;
export type AnyJob = { [K in JobKind]: { kind: K; data: JobData<K> } }[JobKind];

export function isJobKind(s: string): s is JobKind {
  return Object.hasOwn(JOB_SCHEMAS, s);
}

/** Validates `data` for `kind`, or throws KW_JOB_INVALID listing every problem with its field. */
export function parseJob(kind: string, data: unknown): AnyJob {
  if (!isJobKind(kind))
    throw new KeywardenError('KW_JOB_INVALID', `unknown job kind ${JSON.stringify(kind)}`, [`kinds: ${JOB_KINDS.join(', ')}`]);
  const r = JOB_SCHEMAS[kind].safeParse(data);
  if (!r.success) {
    const details = r.error.issues.map((i) => `${kind} > ${i.path.length > 0 ? i.path.join('.') : '(data)'}: ${i.message}`);
    throw new KeywardenError('KW_JOB_INVALID', `invalid ${kind} job data: ${details.join('; ')}`, details);
  }
  return { kind, data: r.data } as AnyJob;
}

/** JSON with object keys sorted, so equal data always hashes the same. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The job id is derived from the content (`<kind>-<sha256 prefix>`), so enqueuing the same scan twice
 * while the first is queued, running, or kept as completed yields one job. No `:` (BullMQ keys use it).
 */
export function jobIdFor(kind: JobKind, data: unknown): string {
  return `${kind}-${createHash('sha256').update(kind).update('\0').update(canonicalJson(data)).digest('hex').slice(0, 32)}`;
}

/**
 * Defaults for every job: 5 attempts with exponential backoff (1 s, 2 s, 4 s, 8 s); failed jobs are
 * kept with their error (never silently dropped); completed jobs kept an hour (the window in which an
 * identical enqueue is a no-op) and at most 10,000.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnFail: false,
  removeOnComplete: { age: 3600, count: 10_000 },
};

/** The kinds whose processor scans something and records what it found (workers/handlers.ts). */
export const SCAN_KINDS = ['scan-history', 'scan-diff', 'scan-dump', 'scan-log-batch'] as const satisfies readonly JobKind[];
export type ScanKind = (typeof SCAN_KINDS)[number];

/** What a scan job returns (BullMQ keeps it as the job's return value). */
export const ScanOutcome = z
  .object({
    kind: z.enum(SCAN_KINDS),
    /** Distinct fingerprints this job saw. */
    findings: z.number().int(),
    /** Fingerprints the store had never seen before this job. */
    newFindings: z.number().int(),
    occurrences: z.number().int(),
    /** Occurrences the store had not recorded before (0 when the job is re-run). */
    newOccurrences: z.number().int(),
    /** Bytes scanned. */
    bytes: z.number().int(),
    durationMs: z.number(),
  })
  .strict();
export type ScanOutcome = z.infer<typeof ScanOutcome>;

/**
 * What a job acting on one finding returns: the state before and after it, and what it did in words
 * (`decided: rotate`, `delivered (HTTP 202)`, `check 2: live`, `stale: a newer request owns it`).
 */
export const TransitionOutcome = z
  .object({
    kind: z.enum(['rotate', 'confirm-revocation']),
    fingerprint: Fingerprint,
    from: FindingState,
    to: FindingState,
    outcome: z.string(),
    durationMs: z.number(),
  })
  .strict();
export type TransitionOutcome = z.infer<typeof TransitionOutcome>;

/** Each kind's return value, as BullMQ keeps it and `GET /v1/jobs/:id` shows it (`returnvalue`). */
export const JOB_RESULT_SCHEMAS = {
  'scan-history': ScanOutcome,
  'scan-diff': ScanOutcome,
  'scan-dump': ScanOutcome,
  'scan-log-batch': ScanOutcome,
  rotate: TransitionOutcome,
  'confirm-revocation': TransitionOutcome,
} as const satisfies Record<JobKind, z.ZodType>;
export type JobResult<K extends JobKind> = z.infer<(typeof JOB_RESULT_SCHEMAS)[K]>;
