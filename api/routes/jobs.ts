// POST /v1/scans (enqueue a job of any kind), GET /v1/jobs/:id (its state and result) and
// GET /v1/schedules (the nightly scans: next run and last outcome per repository).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { KeywardenError } from '../../errors/error.js';
import { errorResponses, json } from '../../http/schemas.js';
import { JOB_KINDS, type JobKind } from '../../workers/jobs.js';
import type { JobView } from '../../workers/queue.js';
import { scheduleStatus } from '../../workers/scheduler.js';
import type { ApiContext } from '../context.js';
import { BODY_ERRORS, EnqueueBody, EnqueuedSchema, GUARDED_ERRORS, JobParams, JobSchema, SchedulesSchema } from '../schemas.js';

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

export function registerJobRoutes(server: FastifyInstance, ctx: ApiContext): void {
  const app = server.withTypeProvider<ZodTypeProvider>();

  app.post(
    '/v1/scans',
    {
      schema: {
        operationId: 'enqueueScan',
        summary: 'Enqueue a job of any kind',
        description:
          'The job id is derived from kind and data, so the same request twice while the first job is queued, running or kept (an hour after completing) returns the same id with `duplicate: true`.',
        body: EnqueueBody,
        response: {
          202: json('Accepted; `Location` points at the job.', EnqueuedSchema, {
            Location: { description: 'The job’s URL: `/v1/jobs/<id>`.', required: true, schema: { type: 'string' } },
          }),
          ...errorResponses({
            ...GUARDED_ERRORS,
            ...BODY_ERRORS,
            KW_REQUEST_INVALID: 'a field fails its schema (`details` lists each field path, e.g. `body.data.repo`).',
          }),
        },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const queued = await ctx.queues.enqueue(body.kind, body.data);
      const href = `/v1/jobs/${encodeURIComponent(queued.id)}`;
      return reply
        .code(202)
        .header('location', href)
        .send({ id: queued.id, kind: queued.kind, duplicate: queued.duplicate, href });
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        operationId: 'getJob',
        summary: 'A job: state, attempts, failure reason or result',
        params: JobParams,
        response: {
          200: json('The job.', JobSchema),
          ...errorResponses({
            ...GUARDED_ERRORS,
            KW_REQUEST_INVALID: 'the id is empty or longer than 300 characters.',
            KW_JOB_NOT_FOUND: 'no such job (completed jobs are kept for an hour).',
          }),
        },
      },
    },
    async (req) => {
      const { id } = req.params;
      for (const kind of candidateKinds(id)) {
        const v = await ctx.queues.get(kind, id);
        if (v) return publicJob(v);
      }
      throw new KeywardenError('KW_JOB_NOT_FOUND', `no job ${id} (completed jobs are kept for an hour)`);
    },
  );

  app.get(
    '/v1/schedules',
    {
      schema: {
        operationId: 'getSchedules',
        summary: 'Nightly scans: next run and last outcome per repository',
        response: {
          200: json('The configured schedule and its state.', SchedulesSchema),
          ...errorResponses(GUARDED_ERRORS),
        },
      },
    },
    async () => {
      if (!ctx.schedule) return { configured: false, repos: [] };
      const s = ctx.schedule;
      return {
        configured: true,
        ...(s.cron !== undefined ? { cron: s.cron, timezone: s.timezone } : { every: s.every }),
        incremental: s.incremental,
        repos: await scheduleStatus(ctx.queues.queue('scan-history'), s),
      };
    },
  );
}
