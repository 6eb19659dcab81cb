// POST /v1/scans (enqueue a job of any kind), GET /v1/jobs/:id (its state and result) and
// GET /v1/schedules (the nightly scans: next run and last outcome per repository).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccessPolicy } from '../../access/policy.js';
import { redactUrl } from '../../access/redact-url.js';
import { checkDumpPath, checkRepo, credentialsInUrlProblem } from '../../access/repo.js';
import { KeywardenError } from '../../errors/error.js';
import { JOB_KINDS, JOB_SCHEMAS, type JobKind } from '../../workers/jobs.js';
import type { JobView } from '../../workers/queue.js';
import { scheduleStatus } from '../../workers/scheduler.js';
import type { ApiContext } from '../context.js';
import { invalid, parseOrThrow, problemsOf } from '../validate.js';

export const EnqueueBody = z
  .object({
    kind: z.enum(JOB_KINDS as [JobKind, ...JobKind[]]),
    /** Validated against the kind's schema in workers/jobs.ts. */
    data: z.unknown(),
  })
  .strict();

const JobParams = z.object({ id: z.string().min(1).max(300) }).strict();

/**
 * The job as the API shows it. Log-batch data is reduced to its line count: the lines may hold the
 * very secrets being looked for, and a job view must not hand them to every API client. Repository
 * URLs and the failure reason are shown without credentials (a job enqueued before they were
 * refused at submission may still hold some).
 */
export function publicJob(v: JobView): JobView {
  const shown: JobView = { ...v, ...(v.failedReason !== undefined ? { failedReason: redactUrl(v.failedReason) } : {}) };
  if (typeof v.data !== 'object' || v.data === null) return shown;
  if (v.kind === 'scan-log-batch') {
    const { lines, ...rest } = v.data as { lines?: unknown };
    return { ...shown, data: { ...rest, lines: Array.isArray(lines) ? lines.length : 0 } };
  }
  const { repo } = v.data as { repo?: unknown };
  return typeof repo === 'string' ? { ...shown, data: { ...v.data, repo: redactUrl(repo) } } : shown;
}

/**
 * The early answer to a job that names what no worker may touch: a credential in the URL is a bad
 * field (400); a refused scheme, host or path is 403 (KW_HOST_NOT_ALLOWED, KW_PATH_NOT_ALLOWED).
 * Paths are judged as given (the worker resolves symlinks); DNS is asked now and again by the worker.
 */
async function admit(kind: JobKind, data: unknown, access: AccessPolicy): Promise<void> {
  if (kind === 'scan-history' || kind === 'scan-diff') {
    const { repo } = data as { repo: string };
    const problem = credentialsInUrlProblem(repo);
    if (problem !== null) throw invalid([{ path: 'body.data.repo', message: problem }]);
    await checkRepo(repo, access, { realPaths: false });
  } else if (kind === 'scan-dump') {
    await checkDumpPath((data as { path: string }).path, access, { realPaths: false });
  }
}

/** The queue a job id belongs to: content-derived ids start with `<kind>-`; other ids (scheduler runs) are looked up everywhere. */
function candidateKinds(id: string): JobKind[] {
  const k = JOB_KINDS.find((kind) => new RegExp(`^${kind}-[0-9a-f]{32}$`).test(id));
  return k ? [k] : [...JOB_KINDS];
}

export function registerJobRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v1/scans', async (req, reply) => {
    const body = parseOrThrow(EnqueueBody, req.body ?? undefined, 'body');
    const r = JOB_SCHEMAS[body.kind].safeParse(body.data);
    if (!r.success) throw invalid(problemsOf('body.data', r.error));
    await admit(body.kind, r.data, ctx.access);
    const queued = await ctx.queues.enqueue(body.kind, r.data);
    return reply
      .code(202)
      .header('location', `/v1/jobs/${encodeURIComponent(queued.id)}`)
      .send({ id: queued.id, kind: queued.kind, duplicate: queued.duplicate, href: `/v1/jobs/${encodeURIComponent(queued.id)}` });
  });

  app.get('/v1/jobs/:id', async (req) => {
    const { id } = parseOrThrow(JobParams, req.params, 'params');
    for (const kind of candidateKinds(id)) {
      const v = await ctx.queues.get(kind, id);
      if (v) return publicJob(v);
    }
    throw new KeywardenError('KW_JOB_NOT_FOUND', `no job ${id} (completed jobs are kept for an hour)`);
  });

  app.get('/v1/schedules', async () => {
    if (!ctx.schedule) return { configured: false, repos: [] };
    const s = ctx.schedule;
    return {
      configured: true,
      ...(s.cron !== undefined ? { cron: s.cron, timezone: s.timezone } : { every: s.every }),
      incremental: s.incremental,
      // A repository URL in the schedule file may carry credentials: never shown.
      repos: (await scheduleStatus(ctx.queues.queue('scan-history'), s)).map((r) => ({
        ...r,
        repo: redactUrl(r.repo),
        ...(r.lastRun?.failedReason !== undefined
          ? { lastRun: { ...r.lastRun, failedReason: redactUrl(r.lastRun.failedReason) } }
          : {}),
      })),
    };
  });
}
