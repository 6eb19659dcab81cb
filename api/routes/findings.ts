// Findings and their lifecycle: list with filters, one finding with its occurrences, its audit trail,
// and lifecycle transitions (each one audited with the API as actor).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, json } from '../../http/schemas.js';
import { targetOf } from '../../scanner/target.js';
import type { ApiContext } from '../context.js';
import {
  AuditTrail,
  BODY_ERRORS,
  FindingDetail,
  FindingList,
  FindingsQuery,
  FingerprintParams,
  GUARDED_ERRORS,
  TransitionBody,
  TransitionResult,
} from '../schemas.js';

const MALFORMED_FINGERPRINT = { KW_REQUEST_INVALID: 'the fingerprint is malformed (`details` names `params.fingerprint`).' };
const NO_SUCH_FINDING = { KW_FINDING_NOT_FOUND: 'no finding with that fingerprint.' };

export function registerFindingRoutes(server: FastifyInstance, ctx: ApiContext): void {
  const app = server.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/v1/findings',
    {
      schema: {
        operationId: 'listFindings',
        summary: 'Findings matching every given filter, oldest first',
        querystring: FindingsQuery,
        response: {
          200: json('The findings.', FindingList),
          ...errorResponses({ ...GUARDED_ERRORS, KW_REQUEST_INVALID: 'an unknown filter or a bad value.' }),
        },
      },
    },
    async (req) => {
      const q = req.query;
      const findings = await ctx.store.list({
        limit: q.limit,
        ...(q.state ? { state: q.state } : {}),
        ...(q.rule ? { ruleId: q.rule } : {}),
        ...(q.repo ? { target: targetOf(q.repo) } : {}),
        ...(q.stream ? { target: q.stream } : {}),
      });
      return { count: findings.length, findings };
    },
  );

  app.get(
    '/v1/findings/:fingerprint',
    {
      schema: {
        operationId: 'getFinding',
        summary: 'One finding with all its occurrences',
        params: FingerprintParams,
        response: {
          200: json('The finding.', FindingDetail),
          ...errorResponses({ ...GUARDED_ERRORS, ...MALFORMED_FINGERPRINT, ...NO_SUCH_FINDING }),
        },
      },
    },
    async (req) => {
      const { fingerprint } = req.params;
      const finding = await ctx.store.mustGet(fingerprint);
      return { finding, occurrences: await ctx.store.occurrences(fingerprint) };
    },
  );

  app.get(
    '/v1/findings/:fingerprint/audit',
    {
      schema: {
        operationId: 'getFindingAudit',
        summary: 'The finding’s audit trail, oldest first',
        params: FingerprintParams,
        response: {
          200: json('The audit events.', AuditTrail),
          ...errorResponses({ ...GUARDED_ERRORS, ...MALFORMED_FINGERPRINT, ...NO_SUCH_FINDING }),
        },
      },
    },
    async (req) => {
      const { fingerprint } = req.params;
      await ctx.store.mustGet(fingerprint);
      return { fingerprint, events: await ctx.store.audit(fingerprint) };
    },
  );

  app.post(
    '/v1/findings/:fingerprint/transitions',
    {
      schema: {
        operationId: 'transitionFinding',
        summary: 'Apply a lifecycle event (audited as `api:<actor>`, or `api`)',
        params: FingerprintParams,
        body: TransitionBody,
        response: {
          200: json('The transition made.', TransitionResult),
          ...errorResponses({
            ...GUARDED_ERRORS,
            ...BODY_ERRORS,
            KW_REQUEST_INVALID: 'a malformed fingerprint or a field failing its schema (`details` lists each field path).',
            ...NO_SUCH_FINDING,
            KW_ILLEGAL_TRANSITION:
              'the event is not allowed from the finding’s current state (`details` lists the allowed events).',
          }),
        },
      },
    },
    async (req) => {
      const { fingerprint } = req.params;
      const body = req.body;
      const r = await ctx.store.apply(fingerprint, body.event, {
        actor: body.actor ? `api:${body.actor}` : 'api',
        reason: body.reason,
      });
      return { fingerprint, event: body.event, from: r.from, to: r.to, auditId: r.auditId };
    },
  );
}
