// The rotation loop's routes: the receiver's callback (`POST /v1/findings/<fp>/rotated`, its own
// one-time token or the admin token), a rotation request now (`.../rotate`), one liveness check
// (`.../verify`), and the lifecycle with times (`.../lifecycle`). The work is workers/'s
// (loop-callback.ts, loop-actions.ts, loop-status.ts); the routes parse, authorise and answer.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { TokenCheck } from '../../http/auth.js';
import { sendError } from '../../http/errors.js';
import { bearerToken, CallbackRequest } from '../../rotation/callback.js';
import { Fingerprint } from '../../workers/jobs.js';
import type { Loop } from '../../workers/loop.js';
import { requestAgain } from '../../workers/loop-actions.js';
import { acceptCallback } from '../../workers/loop-callback.js';
import { lifecycleOf, rotationStatus, verifyOnce } from '../../workers/loop-status.js';
import { parseOrThrow } from '../validate.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The token scope a route needs (the hardening issue's scoped tokens enforce it; until then every
     * scope is the API token). @defaultValue admin
     */
    scope?: 'submit' | 'read' | 'admin';
  }
}

const FpParams = z.object({ fingerprint: Fingerprint }).strict();

/** `POST .../rotate` and `.../verify`: who asks (the audit trail shows `api:<actor>`), and why. */
export const RotationActionBody = z
  .object({
    reason: z.string().trim().min(1).max(2000).optional(),
    actor: z
      .string()
      .regex(/^[\w.@+-]{1,100}$/, 'letters, digits and . @ + - _ only, at most 100')
      .optional(),
  })
  .strict();

export interface RotationRouteOptions {
  loop: Loop;
  /** The admin API token's check: it may call back for any finding (people, scripts). */
  isAdmin: TokenCheck;
}

export function registerRotationRoutes(app: FastifyInstance, opts: RotationRouteOptions): void {
  const { loop } = opts;

  // Not behind the API token: a receiver holds only its one-time token. The route checks it.
  app.post('/v1/findings/:fingerprint/rotated', { config: { ownToken: true } }, async (req, reply) => {
    const { fingerprint } = parseOrThrow(FpParams, req.params, 'params');
    const body = parseOrThrow(CallbackRequest, req.body ?? {}, 'body');
    const admin = opts.isAdmin(req.headers.authorization);
    const r = await acceptCallback(loop, fingerprint, {
      presented: bearerToken(req.headers.authorization),
      admin,
      body,
      actor: admin ? 'api' : 'api:callback',
    });
    if (!r.ok) {
      if (r.reason === 'no-finding') return sendError(reply, 'KW_FINDING_NOT_FOUND', `no finding ${fingerprint}`);
      if (r.status === 401) reply.header('www-authenticate', 'Bearer realm="keywarden-callback"');
      return sendError(reply, r.status === 403 ? 'KW_FORBIDDEN' : 'KW_WEBHOOK_REJECTED', r.message);
    }
    return {
      fingerprint,
      from: r.from,
      state: r.to,
      confirmation: { round: r.round, firstCheckAt: new Date(r.firstCheckAt).toISOString() },
    };
  });

  app.post('/v1/findings/:fingerprint/rotate', { config: { scope: 'admin' } }, async (req, reply) => {
    const { fingerprint } = parseOrThrow(FpParams, req.params, 'params');
    const body = parseOrThrow(RotationActionBody, req.body ?? {}, 'body');
    const r = await requestAgain(loop, fingerprint, {
      actor: body.actor ? `api:${body.actor}` : 'api',
      reason: body.reason ? `requested through the API: ${body.reason}` : 'requested through the API',
    });
    return reply.code(202).send({ fingerprint, request: r.sequence, targets: r.targets });
  });

  app.post('/v1/findings/:fingerprint/verify', { config: { scope: 'admin' } }, async (req) => {
    const { fingerprint } = parseOrThrow(FpParams, req.params, 'params');
    const body = parseOrThrow(RotationActionBody, req.body ?? {}, 'body');
    return verifyOnce(loop, fingerprint, body.actor ? `api:${body.actor}` : 'api');
  });

  app.get('/v1/findings/:fingerprint/lifecycle', { config: { scope: 'read' } }, async (req) => {
    const { fingerprint } = parseOrThrow(FpParams, req.params, 'params');
    const finding = await loop.store.mustGet(fingerprint);
    return {
      fingerprint,
      state: finding.state,
      lifecycle: lifecycleOf(await loop.store.audit(fingerprint)),
      rotation: await rotationStatus(loop, fingerprint),
    };
  });
}
