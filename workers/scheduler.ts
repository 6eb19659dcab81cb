// Nightly history scans: the `schedule` section of the config (cron and timezone, or a fixed interval,
// and the repositories) becomes one BullMQ job scheduler per repository on the scan-history queue.
// Each repository runs as its own job, so one that fails is retried and reported without holding up the rest.
import { createHash } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import { z } from 'zod';
import { type ConfigDocument, loadConfigDocument } from '../config/file.js';
import { parseYaml } from '../config/yaml.js';
import { KeywardenError } from '../errors/error.js';
import { DEFAULT_JOB_OPTIONS, type JobData } from './jobs.js';

const DEFAULT_ATTEMPTS = DEFAULT_JOB_OPTIONS.attempts ?? 5;
const DEFAULT_BACKOFF_MS = 1000;

/** Every scheduler this module owns has an id starting with this; others on the queue are left alone. */
export const SCHEDULER_ID_PREFIX = 'nightly-';

const RepoEntry = z.union([
  z.string().min(1),
  z
    .object({
      /** Local path or URL the workers can read, as for `keywarden enqueue scan-history`. */
      repo: z.string().min(1),
      /** One ref; without it every ref is scanned. */
      branch: z.string().min(1).optional(),
    })
    .strict(),
]);

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const ScheduleConfig = z
  .object({
    /** Cron expression (5 fields, or 6 with seconds first), e.g. `0 2 * * *` for 02:00 every night. */
    cron: z
      .string()
      .trim()
      .refine(
        (c) => [5, 6].includes(c.split(/\s+/).length),
        'a cron expression has 5 fields (minute hour day month weekday) or 6 (seconds first)',
      )
      .optional(),
    /** Instead of `cron`: run every this many milliseconds (tests, or "every 6 h"). Minimum 100. */
    every: z.number().int().min(100).optional(),
    /** IANA time zone the cron expression is read in. @defaultValue UTC */
    timezone: z.string().refine(validTimeZone, 'not an IANA time zone (e.g. Europe/Berlin, UTC)').default('UTC'),
    /** Scan only what is new since the last run of the same repo and ref (tips kept in Redis). @defaultValue true */
    incremental: z.boolean().default(true),
    /** Tries per run before it counts as failed (then it waits for the next night). @defaultValue 5 */
    attempts: z.number().int().min(1).max(100).default(DEFAULT_ATTEMPTS),
    /** Milliseconds before the first retry; doubled for each next one. @defaultValue 1000 */
    backoff: z.number().int().min(0).default(DEFAULT_BACKOFF_MS),
    repos: z.array(RepoEntry).min(1, 'list at least one repository'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if ((s.cron === undefined) === (s.every === undefined))
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give exactly one of cron or every' });
    const seen = new Set<string>();
    s.repos.forEach((r, i) => {
      const k = schedulerId(normalizeEntry(r));
      if (seen.has(k))
        ctx.addIssue({ code: 'custom', path: ['repos', i], message: 'this repository and branch are listed twice' });
      seen.add(k);
    });
  });

export interface ScheduledRepo {
  repo: string;
  branch?: string;
}

/** The validated schedule, frozen. */
export interface Schedule {
  readonly file: string;
  readonly cron?: string;
  readonly every?: number;
  readonly timezone: string;
  readonly incremental: boolean;
  readonly attempts: number;
  /** Milliseconds. */
  readonly backoff: number;
  readonly repos: readonly ScheduledRepo[];
}

function normalizeEntry(e: z.infer<typeof RepoEntry>): ScheduledRepo {
  return typeof e === 'string' ? { repo: e } : e.branch ? { repo: e.repo, branch: e.branch } : { repo: e.repo };
}

/** Stable per (repo, branch), free of `:` (BullMQ builds keys with it), and no longer than it must be. */
export function schedulerId(r: ScheduledRepo): string {
  return `${SCHEDULER_ID_PREFIX}${createHash('sha256')
    .update(r.repo)
    .update('\0')
    .update(r.branch ?? '')
    .digest('hex')
    .slice(0, 20)}`;
}

/**
 * Parses a schedule file: either a file whose top level is `schedule:` (a `.keywarden.yaml`, whose
 * other keys are the scanner's business) or a bare schedule. Null when a `.keywarden.yaml` has none.
 * Throws KW_CONFIG_INVALID listing every problem with its field.
 */
export function parseSchedule(text: string, file: string): Schedule | null {
  return scheduleFromData(parseYaml(text, file), file);
}

/** The `schedule:` section of a config file parsed at start-up; null when it has none. */
export function scheduleFromDocument(doc: ConfigDocument | null): Schedule | null {
  return doc === null ? null : scheduleFromData(doc.data, doc.path);
}

function scheduleFromData(raw: unknown, file: string): Schedule | null {
  const isObj = typeof raw === 'object' && raw !== null && !Array.isArray(raw);
  const hasSection = isObj && Object.hasOwn(raw, 'schedule');
  if (isObj && !hasSection && !Object.hasOwn(raw, 'repos')) return null;
  const section = hasSection ? (raw as { schedule: unknown }).schedule : raw;
  const r = ScheduleConfig.safeParse(section);
  if (!r.success) {
    const at = hasSection ? 'schedule' : '';
    const details = r.error.issues.map(
      (i) => `${file} > ${[at, ...i.path.map(String)].filter(Boolean).join('.') || '(top level)'}: ${i.message}`,
    );
    throw new KeywardenError(
      'KW_CONFIG_INVALID',
      `invalid schedule in ${file} (${details.length} problem${details.length === 1 ? '' : 's'})`,
      details,
    );
  }
  const s = r.data;
  return Object.freeze({
    file,
    ...(s.cron !== undefined ? { cron: s.cron } : {}),
    ...(s.every !== undefined ? { every: s.every } : {}),
    timezone: s.timezone,
    incremental: s.incremental,
    attempts: s.attempts,
    backoff: s.backoff,
    repos: Object.freeze(s.repos.map((e) => Object.freeze(normalizeEntry(e)))),
  });
}

/** A schedule file given on the command line (`serve --schedule FILE`, which must exist). */
export async function loadSchedule(path: string): Promise<Schedule | null> {
  const doc = await loadConfigDocument('.', path);
  return scheduleFromDocument(doc);
}

export interface SyncReport {
  /** Scheduler ids created or updated, one per repository. */
  upserted: { id: string; repo: string; branch?: string; next: string | null }[];
  /** Schedulers of repositories no longer configured, removed. */
  removed: string[];
  /** Repositories whose scheduler could not be written; the others are in place regardless. */
  failed: { repo: string; branch?: string; error: string }[];
}

/**
 * Makes the queue's job schedulers match the schedule: one per repository (upsert is idempotent, so
 * several API processes may all run this at start-up), and removes ours for repositories dropped
 * from the list. `queue` is the scan-history queue.
 */
export async function syncSchedules(queue: Queue, schedule: Schedule): Promise<SyncReport> {
  const report: SyncReport = { upserted: [], removed: [], failed: [] };
  const wanted = new Set<string>();
  // Retention as for every job (failed runs kept, so a failing repo stays visible); BullMQ gives each run its own id.
  const { removeOnComplete, removeOnFail } = DEFAULT_JOB_OPTIONS;
  const backoff = { type: 'exponential', delay: schedule.backoff };
  for (const r of schedule.repos) {
    const id = schedulerId(r);
    wanted.add(id);
    const data: JobData<'scan-history'> = {
      repo: r.repo,
      incremental: schedule.incremental,
      ...(r.branch ? { branch: r.branch } : {}),
    };
    const repeat =
      schedule.cron !== undefined ? { pattern: schedule.cron, tz: schedule.timezone } : { every: schedule.every ?? 86_400_000 };
    try {
      const job = await queue.upsertJobScheduler(id, repeat, {
        name: 'scan-history',
        data,
        opts: { attempts: schedule.attempts, backoff, removeOnComplete, removeOnFail },
      });
      const next = job?.timestamp !== undefined ? new Date(job.timestamp + (job.opts.delay ?? 0)).toISOString() : null;
      report.upserted.push({ id, ...r, next });
    } catch (err) {
      report.failed.push({ ...r, error: err instanceof Error ? err.message : String(err) });
    }
  }
  for (const s of await queue.getJobSchedulers(0, -1)) {
    const id = s.id ?? s.key;
    if (id.startsWith(SCHEDULER_ID_PREFIX) && !wanted.has(id)) {
      await queue.removeJobScheduler(id);
      report.removed.push(id);
    }
  }
  return report;
}

export interface RunView {
  jobId: string;
  state: 'completed' | 'failed';
  /** ISO time the run finished. */
  finishedAt: string | null;
  attemptsMade: number;
  failedReason?: string;
}

export interface RepoStatus {
  id: string;
  repo: string;
  branch?: string;
  /** ISO time of the next run; null when the scheduler is missing (not synced, or removed). */
  next: string | null;
  /** The latest finished run, among the jobs the queue still keeps. */
  lastRun: RunView | null;
}

/**
 * Per configured repository: next run and last outcome. Looks at the newest `window` completed and
 * failed jobs of the queue (failed ones are kept until removed by hand, so a failing repo stays visible).
 */
export async function scheduleStatus(queue: Queue, schedule: Schedule, window = 1000): Promise<RepoStatus[]> {
  const [completed, failed] = await Promise.all([queue.getCompleted(0, window - 1), queue.getFailed(0, window - 1)]);
  const latest = new Map<string, Job>();
  for (const job of [...completed, ...failed]) {
    const key = job.repeatJobKey;
    if (!key) continue;
    const prev = latest.get(key);
    if (!prev || (job.finishedOn ?? 0) > (prev.finishedOn ?? 0)) latest.set(key, job);
  }
  const out: RepoStatus[] = [];
  for (const r of schedule.repos) {
    const id = schedulerId(r);
    const s = await queue.getJobScheduler(id);
    const job = latest.get(id);
    let lastRun: RunView | null = null;
    if (job) {
      const state = failed.includes(job) ? 'failed' : 'completed';
      lastRun = {
        jobId: job.id ?? '',
        state,
        finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
        attemptsMade: job.attemptsMade,
      };
      if (state === 'failed' && job.failedReason) lastRun.failedReason = job.failedReason;
    }
    out.push({ id, ...r, next: s?.next !== undefined ? new Date(s.next).toISOString() : null, lastRun });
  }
  return out;
}
