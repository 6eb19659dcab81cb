// Liveness, readiness (Redis answers PING) and the Prometheus scrape endpoint.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { KeywardenError } from '../../errors/error.js';
import { errorResponses, json } from '../../http/schemas.js';
import type { ApiContext } from '../context.js';
import { INTAKE_METRIC_NAMES, METRIC_NAMES } from '../metrics.js';
import { GUARDED_ERRORS, Liveness, Readiness } from '../schemas.js';

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const NOT_READY = { KW_NOT_READY: 'Redis did not answer PING in time.' };

export function registerHealthRoutes(server: FastifyInstance, ctx: ApiContext): void {
  const app = server.withTypeProvider<ZodTypeProvider>();

  // Liveness says only that the process serves HTTP: restarting it would not fix Redis being away.
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        operationId: 'liveness',
        summary: 'Liveness: the process serves HTTP',
        response: { 200: json('Alive.', Liveness), ...errorResponses({ KW_INTERNAL: GUARDED_ERRORS.KW_INTERNAL }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        operationId: 'readiness',
        summary: 'Readiness: Redis answers PING',
        response: {
          200: json('Ready.', Readiness),
          ...errorResponses({ ...NOT_READY, KW_INTERNAL: GUARDED_ERRORS.KW_INTERNAL }),
        },
      },
    },
    async () => {
      try {
        // The shared client queues commands while reconnecting (BullMQ needs that); readiness must not wait.
        const pong = await withTimeout(ctx.redis.ping(), ctx.readyTimeoutMs, 'Redis PING');
        if (pong !== 'PONG') throw new Error(`Redis answered ${JSON.stringify(pong)} to PING`);
      } catch (err) {
        throw new KeywardenError('KW_NOT_READY', `not ready: ${err instanceof Error ? err.message : String(err)}`);
      }
      return { status: 'ready' as const, redis: 'ok' as const };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        description: `${METRIC_NAMES.queueDepth}{queue,state}, ${METRIC_NAMES.jobDuration}{queue,outcome} (histogram), ${METRIC_NAMES.findings}{state}, ${METRIC_NAMES.timeToRevocation} (histogram), with the intake mounted ${INTAKE_METRIC_NAMES.batches}{outcome}, ${INTAKE_METRIC_NAMES.bytes} and ${INTAKE_METRIC_NAMES.findings}, and Node process metrics.`,
        response: {
          200: { description: 'Prometheus text exposition format 0.0.4.', content: { 'text/plain': { schema: z.string() } } },
          ...errorResponses({
            KW_UNAUTHORIZED: GUARDED_ERRORS.KW_UNAUTHORIZED,
            KW_NOT_READY: 'the figures could not be read from Redis in time.',
            KW_INTERNAL: GUARDED_ERRORS.KW_INTERNAL,
          }),
        },
      },
    },
    async (_req, reply) => {
      let text: string;
      try {
        text = await withTimeout(ctx.metrics.text(), Math.max(5000, ctx.readyTimeoutMs), 'reading metrics from Redis');
      } catch (err) {
        throw new KeywardenError('KW_NOT_READY', `metrics unavailable: ${err instanceof Error ? err.message : String(err)}`);
      }
      return reply.type(ctx.metrics.contentType).send(text);
    },
  );
}
