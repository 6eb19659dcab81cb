// The HTTP API (`keywarden serve`): fastify over the queues and the finding store, and optionally the
// log-shipper intake at /v1/intake recording into that store. An entry point like the CLI: it alone
// sees workers/, the store and the metrics. Every route but the probes and the OpenAPI document needs
// the API token (the intake's routes, the intake's own); every error is `{error:{code,message}}`.
// Routes declare their zod schemas (api/schemas.ts): requests are validated, responses serialized and
// the OpenAPI document generated from them (api/document.ts).
import { hostname } from 'node:os';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { z } from 'zod';
import { KeywardenError } from '../errors/error.js';
import { bearerTokenCheck } from '../http/auth.js';
import { classify, sendError } from '../http/errors.js';
import { errorResponses, json } from '../http/schemas.js';
import { serializerCompiler, validatorCompiler } from '../http/validate.js';
import { type FindingsSink, type IntakeCommonOptions, type IntakeRoutes, registerIntakeRoutes } from '../intake/server.js';
import { logBatchFindings } from '../workers/log-occurrences.js';
import { createLoop, type Loop, type LoopOptions } from '../workers/loop.js';
import { handOver } from '../workers/loop-actions.js';
import { JobQueues } from '../workers/queue.js';
import { createRedis } from '../workers/redis.js';
import type { Schedule } from '../workers/scheduler.js';
import { FindingStore } from '../workers/store.js';
import type { ApiContext } from './context.js';
import { registerApiDocument } from './document.js';
import { ServiceMetrics } from './metrics.js';
import { registerFindingRoutes } from './routes/findings.js';
import { type GitHubRouteOptions, registerGitHubRoutes } from './routes/github.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerRotationRoutes } from './routes/rotation.js';
import { GUARDED_ERRORS, OpenApiDocumentSchema } from './schemas.js';

/** @defaultValue 8 MiB: a log batch of 100,000 short lines fits. */
export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

/** Where `keywarden serve --intake` mounts the log-shipper intake. */
export const INTAKE_PREFIX = '/v1/intake';

/**
 * The log-shipper intake inside the API server. `token` is KEYWARDEN_INTAKE_TOKEN: its own, never the
 * API token (start-up refuses the same value), because every shipper host holds it and the API token
 * can resolve findings and enqueue scans.
 */
export interface ApiIntakeOptions extends IntakeCommonOptions {
  /** Audit actor of the findings it records. @defaultValue `intake:<host>:<pid>` */
  actor?: string;
  /** Milliseconds a batch's findings may take to reach Redis before the batch is refused with 503. @defaultValue 5000 */
  recordTimeoutMs?: number;
}

export interface ApiServerOptions {
  redisUrl: string;
  /** Key prefix shared with the workers (KEYWARDEN_PREFIX). */
  prefix: string;
  /** KEYWARDEN_API_TOKEN; start-up fails (KW_CONFIG_INVALID) without a usable one. */
  token: string | undefined;
  /** Bytes. @defaultValue DEFAULT_BODY_LIMIT */
  bodyLimit?: number;
  /** Milliseconds /readyz waits for PING. @defaultValue 1000 */
  readyTimeoutMs?: number;
  /** fastify's pino logger options; false for none. Ignored when `loggerInstance` is given. @defaultValue false */
  logger?: FastifyServerOptions['logger'];
  /** A ready logger (logging/logger.ts's `createLogger`, whose redaction covers the Authorization header). */
  loggerInstance?: FastifyBaseLogger;
  /** The nightly schedule to report at /v1/schedules (syncing it is the caller's choice). */
  schedule?: Schedule | null;
  /** Node process metrics on /metrics. @defaultValue true */
  processMetrics?: boolean;
  /** Milliseconds `close()` lets in-flight requests finish before it drops every connection. @defaultValue 5000 */
  closeGraceMs?: number;
  /** Mount the log-shipper intake at INTAKE_PREFIX. @defaultValue none */
  intake?: ApiIntakeOptions;
  /** The rotation loop's routes (callback, rotate, verify, lifecycle) over this server's store and queues. @defaultValue none */
  loop?: Omit<LoopOptions, 'store' | 'queues'>;
  /** `POST /v1/github/webhook` (needs `loop`). @defaultValue none */
  github?: Omit<GitHubRouteOptions, 'loop'>;
}

export interface ApiServer {
  app: FastifyInstance;
  ctx: ApiContext;
  /** `METHOD path` of every route registered (as fastify names them: `:id`, `*`). */
  routes: string[];
  /** The mounted intake's spool and drain, or null without `intake`. */
  intake: IntakeRoutes | null;
  /** Listens; returns the base URL, e.g. `http://127.0.0.1:8787`. */
  listen(host: string, port: number): Promise<string>;
  /** Stops accepting, finishes in-flight requests, closes Redis connections. */
  close(): Promise<void>;
}

function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => {},
      () => {},
    ),
    new Promise<void>((r) => (timer = setTimeout(r, ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The intake's findings into the store, placed as `scan-log-batch` jobs place theirs (target = stream,
 * occurrence keys on the batch digest): a shipper re-sending a batch adds nothing. Bounded:
 * the store's client waits through a Redis outage, but a shipper must get its 503 and retry.
 */
function storeSink(store: FindingStore, actor: string, timeoutMs: number, loop: Loop | null): FindingsSink {
  return async (findings, meta) => {
    const placed = logBatchFindings(findings, { stream: meta.stream, body: meta.body, time: meta.receivedAt });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new KeywardenError('KW_REDIS', `recording the batch's findings took longer than ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      // Then into the rotation loop like a scan's findings: raw secrets (in memory only) to the vault.
      await Promise.race([store.record(placed, { actor }).then(() => (loop ? handOver(loop, placed) : 0)), late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  // Before any connection is opened: a missing token is a configuration error, reported at once.
  const authorized = bearerTokenCheck(opts.token);
  if (opts.intake) {
    bearerTokenCheck(opts.intake.token, 'KEYWARDEN_INTAKE_TOKEN'); // validated here too: before Redis
    if (opts.intake.token === opts.token) {
      throw new KeywardenError(
        'KW_CONFIG_INVALID',
        'KEYWARDEN_INTAKE_TOKEN must differ from KEYWARDEN_API_TOKEN: shippers must not hold the API token',
      );
    }
  }
  const redis = createRedis(opts.redisUrl);
  // ioredis retries on its own; an unhandled 'error' event would end the process.
  redis.on('error', () => {});
  const queues = new JobQueues(redis, opts.prefix);
  const store = new FindingStore(redis, opts.prefix);
  const metrics = new ServiceMetrics({
    queues,
    store,
    redis,
    prefix: opts.prefix,
    processMetrics: opts.processMetrics ?? true,
    intake: opts.intake !== undefined,
  });
  const loop = opts.loop ? createLoop({ ...opts.loop, store, queues }) : null;
  const ctx: ApiContext = {
    redis,
    queues,
    store,
    metrics,
    schedule: opts.schedule ?? null,
    readyTimeoutMs: opts.readyTimeoutMs ?? 1000,
  };

  const app: FastifyInstance = Fastify({
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : { logger: opts.logger ?? false }),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    trustProxy: false,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const routes: string[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push(`${m} ${r.url}`);
    // The token check below answers 401 on every guarded route: each must say so in its schema.
    const guarded = !r.config?.public && !r.config?.ownToken && r.method !== 'HEAD';
    const response = (r.schema?.response ?? {}) as Record<string, unknown>;
    if (guarded && !('401' in response)) throw new Error(`${r.method} ${r.url} is guarded but documents no 401`);
  });
  await registerApiDocument(app, {
    intake: opts.intake !== undefined,
    loop: opts.loop !== undefined,
    github: opts.loop !== undefined && opts.github !== undefined,
  });

  app.addHook('onRequest', async (req, reply) => {
    // Unknown routes answer 404 either way: nothing is served there, so there is nothing to guard.
    const config = req.routeOptions.config;
    if (req.is404 || config.public || config.ownToken) return;
    if (!authorized(req.headers.authorization)) {
      reply.header('www-authenticate', 'Bearer realm="keywarden"');
      return sendError(reply, 'KW_UNAUTHORIZED', 'missing or wrong bearer token (Authorization: Bearer <KEYWARDEN_API_TOKEN>)');
    }
  });

  app.setErrorHandler((err, req, reply) => {
    const c = classify(err);
    if (c.internal || c.status >= 500) req.log.error({ err }, 'request failed');
    return reply.code(c.status).type('application/json; charset=utf-8').send(c.body);
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 'KW_ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`),
  );

  registerHealthRoutes(app, ctx);
  registerJobRoutes(app, ctx);
  registerFindingRoutes(app, ctx);
  if (loop) {
    registerRotationRoutes(app, { loop, isAdmin: authorized });
    if (opts.github) await registerGitHubRoutes(app, { ...opts.github, loop });
  }
  const intake = opts.intake
    ? await registerIntakeRoutes(app, {
        ...opts.intake,
        prefix: INTAKE_PREFIX,
        tokenName: 'KEYWARDEN_INTAKE_TOKEN',
        streamFromPath: true,
        onFindings: storeSink(
          store,
          opts.intake.actor ?? `intake:${hostname()}:${process.pid}`,
          opts.intake.recordTimeoutMs ?? 5000,
          loop,
        ),
        onBatch: (e) => metrics.observeIntakeBatch(e),
      })
    : null;
  app.get(
    '/v1/openapi.json',
    {
      config: { public: true },
      schema: {
        operationId: 'openapi',
        summary: 'This document',
        response: {
          200: json(
            'The OpenAPI 3.1 description, generated from the schemas the routes validate and serialize with.',
            OpenApiDocumentSchema,
          ),
          ...errorResponses({ KW_INTERNAL: GUARDED_ERRORS.KW_INTERNAL }),
        },
      },
    },
    async () => app.swagger() as z.output<typeof OpenApiDocumentSchema>,
  );

  app.addHook('onClose', async () => {
    // Each step is bounded: with Redis away, a polite close would wait for a reconnection forever.
    await bounded(metrics.close(), 2000);
    await bounded(queues.close(), 2000);
    if (redis.status === 'ready') await bounded(redis.quit(), 1000);
    redis.disconnect();
  });

  await app.ready();
  await metrics.start(Math.min(2000, 5 * ctx.readyTimeoutMs));

  return {
    app,
    ctx,
    routes,
    intake,
    async listen(host, port) {
      return app.listen({ host, port });
    },
    async close() {
      // fastify closes idle keep-alive connections, but not one opened without a request yet (HTTP
      // clients open spares): Node would wait its 60 s headers timeout. In-flight requests get the grace.
      const force = setTimeout(() => app.server.closeAllConnections(), opts.closeGraceMs ?? 5000);
      try {
        await app.close();
      } finally {
        clearTimeout(force);
      }
    },
  };
}
