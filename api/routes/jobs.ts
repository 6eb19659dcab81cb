// POST /v1/scans (enqueue a job of any kind), GET /v1/jobs/:id (its state and result) and
// GET /v1/schedules (the nightly scans: next run and last outcome per repository).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { KeywardenError } from '../../errors/error.js';
import { JOB_KINDS, type JobKind, SUBMISSION_SCHEMAS } from '../../workers/jobs.js';
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
 * The job as the API shows it. A log batch is queued without its lines (processors/log-batch.ts); its
 * findings are shown as a count: fingerprints and previews are the findings routes' to show, to the
 * tokens allowed to read findings. A raw batch queued by an older submitter shows its line count only.
 */
export function publicJob(v: JobView): JobView {
  if (v.kind !== 'scan-log-batch' || typeof v.data !== 'object' || v.data === null) return v;
  const { lines, findings, ...rest } = v.data as { lines?: unknown; findings?: unknown };
  return {
    ...v,
    data: {
      ...rest,
      lines: typeof lines === 'number' ? lines : Array.isArray(lines) ? lines.length : 0,
      ...(Array.isArray(findings) ? { findings: findings.length } : {}),
    },
  };
}

/** The queue a job id belongs to: content-derived ids start with `<kind>-`; other ids (scheduler runs) are looked up everywhere. */
function candidateKinds(id: string): JobKind[] {
  const k = JOB_KINDS.find((kind) => new RegExp(`^${kind}-[0-9a-f]{32}$`).test(id));
  return k ? [k] : [...JOB_KINDS];
}

export function registerJobRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v1/scans', async (req, reply) => {
    const body = parseOrThrow(EnqueueBody, req.body ?? undefined, 'body');
    const r = SUBMISSION_SCHEMAS[body.kind].safeParse(body.data);
    if (!r.success) throw invalid(problemsOf('body.data', r.error));
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
      repos: await scheduleStatus(ctx.queues.queue('scan-history'), s),
    };
  });
}
