// POST /v1/scans (enqueue a job of any kind), GET /v1/jobs/:id (its state and result) and
// GET /v1/schedules (the nightly scans: next run and last outcome per repository).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
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
    /** Run again even if a completed job with the same id is kept (its result is replaced). @defaultValue false */
    force: z.boolean().optional(),
  })
  .strict();

const JobParams = z.object({ id: z.string().min(1).max(300) }).strict();

/**
 * The job as the API shows it. Log-batch data is reduced to its line count: the lines may hold the
 * very secrets being looked for, and a job view must not hand them to every API client.
 */
export function publicJob(v: JobView): JobView {
  if (v.kind !== 'scan-log-batch' || typeof v.data !== 'object' || v.data === null) return v;
  const { lines, ...rest } = v.data as { lines?: unknown };
  return { ...v, data: { ...rest, lines: Array.isArray(lines) ? lines.length : 0 } };
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
    const queued = await ctx.queues.enqueue(body.kind, r.data, { force: body.force === true });
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
      repos: await ctx.queues.bounded(scheduleStatus(ctx.queues.queue('scan-history'), s), 'reading the schedule'),
    };
  });
}
