// The rotation loop's routes: the receiver's callback (`POST /v1/findings/<fp>/rotated`, its own
// one-time token or the admin token), a rotation request now (`.../rotate`), one liveness check
// (`.../verify`), and the lifecycle with times (`.../lifecycle`). The work is workers/'s
// (loop-callback.ts, loop-actions.ts, loop-status.ts); the routes parse, authorise and answer.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { TokenCheck } from '../../http/auth.js';
import { sendError } from '../../http/errors.js';
import { errorResponses, json } from '../../http/schemas.js';
import { bearerToken } from '../../rotation/callback.js';
import type { Loop } from '../../workers/loop.js';
import { requestAgain } from '../../workers/loop-actions.js';
import { acceptCallback } from '../../workers/loop-callback.js';
import { lifecycleOf, rotationStatus, verifyOnce } from '../../workers/loop-status.js';
import {
  BODY_ERRORS,
  CallbackBody,
  CallbackResult,
  FingerprintParams,
  GUARDED_ERRORS,
  LifecycleResult,
  RotateResult,
  RotationActionBody,
  VerifyResult,
} from '../schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The token scope a route needs (the hardening issue's scoped tokens enforce it; until then every
     * scope is the API token). @defaultValue admin
     */
    scope?: 'submit' | 'read' | 'admin';
  }
}

const MALFORMED_FINGERPRINT = { KW_REQUEST_INVALID: 'the fingerprint is malformed, or a body field fails its schema.' };
const NO_SUCH_FINDING = { KW_FINDING_NOT_FOUND: 'no finding with that fingerprint.' };

export interface RotationRouteOptions {
  loop: Loop;
  /** The admin API token's check: it may call back for any finding (people, scripts). */
  isAdmin: TokenCheck;
}

export function registerRotationRoutes(server: FastifyInstance, opts: RotationRouteOptions): void {
  const app = server.withTypeProvider<ZodTypeProvider>();
  const { loop } = opts;

  // Not behind the API token: a receiver holds only its one-time token. The route checks it.
  app.post(
    '/v1/findings/:fingerprint/rotated',
    {
      config: { ownToken: true, openapi: { security: [{ callbackToken: [] }, { bearer: [] }] } },
      schema: {
        operationId: 'reportRotation',
        summary:
          'The receiver’s callback: the key was rotated (`Authorization: Bearer <callback.token>`, one-time; or the API token)',
        params: FingerprintParams,
        body: CallbackBody.optional(),
        response: {
          200: json('The finding moved to `rotated`; keywarden starts confirming the revocation.', CallbackResult),
          ...errorResponses({
            ...BODY_ERRORS,
            ...MALFORMED_FINGERPRINT,
            KW_WEBHOOK_REJECTED:
              'no bearer token, not a callback token, or not one of this finding’s (an unknown finding answers the same).',
            KW_FORBIDDEN: 'the token was already used (any of the finding’s tokens, once one is accepted) or has expired.',
            ...NO_SUCH_FINDING,
            KW_ILLEGAL_TRANSITION: 'the finding is in a state a rotation cannot be reported from (e.g. already revoked).',
            KW_REDIS: GUARDED_ERRORS.KW_REDIS,
            KW_INTERNAL: GUARDED_ERRORS.KW_INTERNAL,
          }),
        },
      },
    },
    async (req, reply) => {
      const { fingerprint } = req.params;
      const admin = opts.isAdmin(req.headers.authorization);
      const r = await acceptCallback(loop, fingerprint, {
        presented: bearerToken(req.headers.authorization),
        admin,
        body: req.body ?? {},
        actor: admin ? 'api' : 'api:callback',
      });
      if (!r.ok) {
        if (r.reason === 'no-finding') return sendError(reply, 'KW_FINDING_NOT_FOUND', `no finding ${fingerprint}`);
        return sendError(reply, r.status === 403 ? 'KW_FORBIDDEN' : 'KW_WEBHOOK_REJECTED', r.message);
      }
      return {
        fingerprint,
        from: r.from,
        state: r.to,
        confirmation: { round: r.round, firstCheckAt: new Date(r.firstCheckAt).toISOString() },
      };
    },
  );

  app.post(
    '/v1/findings/:fingerprint/rotate',
    {
      config: { scope: 'admin' },
      schema: {
        operationId: 'requestRotation',
        summary: 'Send the rotation webhook now, to every rotation target that selects the finding (audited)',
        params: FingerprintParams,
        body: RotationActionBody.optional(),
        response: {
          202: json('The request is queued; workers deliver it (signed, retried).', RotateResult),
          ...errorResponses({
            ...GUARDED_ERRORS,
            ...BODY_ERRORS,
            ...MALFORMED_FINGERPRINT,
            ...NO_SUCH_FINDING,
            KW_ILLEGAL_TRANSITION: 'the finding is closed: nothing to rotate.',
            KW_CONFIG_INVALID: 'no rotation target selects the finding (KEYWARDEN_ROTATION_WEBHOOK_URL, rotation.targets).',
          }),
        },
      },
    },
    async (req, reply) => {
      const { fingerprint } = req.params;
      const body = req.body ?? {};
      const r = await requestAgain(loop, fingerprint, {
        actor: body.actor ? `api:${body.actor}` : 'api',
        reason: body.reason ? `requested through the API: ${body.reason}` : 'requested through the API',
      });
      return reply.code(202).send({ fingerprint, request: r.sequence, targets: r.targets });
    },
  );

  app.post(
    '/v1/findings/:fingerprint/verify',
    {
      config: { scope: 'admin' },
      schema: {
        operationId: 'verifyFinding',
        summary: 'Ask the provider once whether the finding’s key still works (audited; never the secret)',
        params: FingerprintParams,
        body: RotationActionBody.optional(),
        response: {
          200: json('What the provider said: live, revoked or unknown, and why.', VerifyResult),
          ...errorResponses({ ...GUARDED_ERRORS, ...BODY_ERRORS, ...MALFORMED_FINGERPRINT, ...NO_SUCH_FINDING }),
        },
      },
    },
    async (req) => {
      const body = req.body ?? {};
      return verifyOnce(loop, req.params.fingerprint, body.actor ? `api:${body.actor}` : 'api');
    },
  );

  app.get(
    '/v1/findings/:fingerprint/lifecycle',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'getFindingLifecycle',
        summary: 'The finding’s lifecycle with times, and the rotation loop’s status (raw secret kept, checks possible)',
        params: FingerprintParams,
        response: {
          200: json('The lifecycle.', LifecycleResult),
          ...errorResponses({ ...GUARDED_ERRORS, ...MALFORMED_FINGERPRINT, ...NO_SUCH_FINDING }),
        },
      },
    },
    async (req) => {
      const { fingerprint } = req.params;
      const finding = await loop.store.mustGet(fingerprint);
      return {
        fingerprint,
        state: finding.state,
        lifecycle: lifecycleOf(await loop.store.audit(fingerprint)),
        rotation: await rotationStatus(loop, fingerprint),
      };
    },
  );
}
