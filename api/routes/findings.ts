// Findings and their lifecycle: list with filters, one finding with its occurrences, its audit trail,
// and lifecycle transitions (each one audited with the API as actor).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { targetOf } from '../../scanner/target.js';
import { Fingerprint } from '../../workers/jobs.js';
import { FindingState, LifecycleEvent } from '../../workers/lifecycle.js';
import type { ApiContext } from '../context.js';
import { parseOrThrow } from '../validate.js';

/** @defaultValue limit 1000, at most 10,000. */
export const FindingsQuery = z
  .object({
    state: FindingState.optional(),
    /** Repository path or URL, or a dump path: named by `targetOf` (scanner/target.ts), as the workers record it. */
    repo: z.string().min(1).optional(),
    /** A log stream (an intake path such as `web/nginx`, or a scan-log-batch job's stream), taken as is. */
    stream: z.string().min(1).optional(),
    rule: z.string().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  })
  .strict()
  // A stream name is not a path: resolving it (as `repo` is) could turn `intake` into `/srv/intake`.
  .refine((q) => q.repo === undefined || q.stream === undefined, { message: 'give repo or stream, not both', path: ['stream'] });

const FpParams = z.object({ fingerprint: Fingerprint }).strict();

export const TransitionBody = z
  .object({
    event: LifecycleEvent,
    /** Why: kept in the audit trail. */
    reason: z.string().trim().min(1, 'say why (kept in the audit trail)').max(2000),
    /** Who, as the audit trail shows it (`api:<actor>`), e.g. the person's login. @defaultValue `api` */
    actor: z
      .string()
      .regex(/^[\w.@+-]{1,100}$/, 'letters, digits and . @ + - _ only, at most 100')
      .optional(),
  })
  .strict();

export function registerFindingRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/findings', async (req) => {
    const q = parseOrThrow(FindingsQuery, req.query, 'query');
    const findings = await ctx.store.list({
      limit: q.limit,
      ...(q.state ? { state: q.state } : {}),
      ...(q.rule ? { ruleId: q.rule } : {}),
      ...(q.repo ? { target: targetOf(q.repo) } : {}),
      ...(q.stream ? { target: q.stream } : {}),
    });
    return { count: findings.length, findings };
  });

  app.get('/v1/findings/:fingerprint', async (req) => {
    const { fingerprint } = parseOrThrow(FpParams, req.params, 'params');
    const finding = await ctx.store.mustGet(fingerprint);
    return { finding, occurrences: await ctx.store.occurrences(fingerprint) };
  });

  app.get('/v1/findings/:fingerprint/audit', async (req) => {
    const { fingerprint } = parseOrThrow(FpParams, req.params, 'params');
    await ctx.store.mustGet(fingerprint);
    return { fingerprint, events: await ctx.store.audit(fingerprint) };
  });

  app.post('/v1/findings/:fingerprint/transitions', async (req) => {
    const { fingerprint } = parseOrThrow(FpParams, req.params, 'params');
    const body = parseOrThrow(TransitionBody, req.body ?? undefined, 'body');
    const r = await ctx.store.apply(fingerprint, body.event, {
      actor: body.actor ? `api:${body.actor}` : 'api',
      reason: body.reason,
    });
    return { fingerprint, event: body.event, from: r.from, to: r.to, auditId: r.auditId };
  });
}
