// Liveness, readiness (Redis answers PING) and the Prometheus scrape endpoint.
import type { FastifyInstance } from 'fastify';
import { KeywardenError } from '../../errors/error.js';
import type { ApiContext } from '../context.js';

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function registerHealthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  // Liveness says only that the process serves HTTP: restarting it would not fix Redis being away.
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { public: true } }, async () => {
    try {
      // The shared client queues commands while reconnecting (BullMQ needs that); readiness must not wait.
      const pong = await withTimeout(ctx.redis.ping(), ctx.readyTimeoutMs, 'Redis PING');
      if (pong !== 'PONG') throw new Error(`Redis answered ${JSON.stringify(pong)} to PING`);
    } catch (err) {
      throw new KeywardenError('KW_NOT_READY', `not ready: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { status: 'ready', redis: 'ok' };
  });

  app.get('/metrics', async (_req, reply) => {
    let text: string;
    try {
      text = await withTimeout(ctx.metrics.text(), Math.max(5000, ctx.readyTimeoutMs), 'reading metrics from Redis');
    } catch (err) {
      throw new KeywardenError(
        'KW_REDIS',
        `metrics unavailable: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      );
    }
    return reply.type(ctx.metrics.contentType).send(text);
  });
}
