// Redis connections for the service: one place reads REDIS_URL (at start-up) and builds ioredis clients
// with the options BullMQ requires. Store, queues and workers take a connection or these settings.
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { KeywardenError } from '../errors/error.js';

/** @defaultValue `redis://127.0.0.1:6379` */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Key prefix of queues (`<prefix>:<kind>:…`) and of the finding store (`<prefix>:store:…`). @defaultValue `keywarden` */
export const DEFAULT_PREFIX = 'keywarden';

export interface ServiceConfig {
  /** `REDIS_URL`: redis:// or rediss:// URL, credentials and db number included. */
  readonly redisUrl: string;
  /** `KEYWARDEN_PREFIX`: lets several deployments (or tests) share one Redis. */
  readonly prefix: string;
}

const Env = z.object({
  REDIS_URL: z
    .string()
    .default(DEFAULT_REDIS_URL)
    .refine((u) => /^rediss?:\/\//.test(u), 'must start with redis:// or rediss://'),
  KEYWARDEN_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
    .default(DEFAULT_PREFIX),
});

/** Reads the service settings once; KW_CONFIG_INVALID-like ServiceError (KW_REDIS) lists every problem. */
export function serviceConfigFromEnv(env: NodeJS.ProcessEnv): ServiceConfig {
  const r = Env.safeParse({ REDIS_URL: env.REDIS_URL || undefined, KEYWARDEN_PREFIX: env.KEYWARDEN_PREFIX || undefined });
  if (!r.success) {
    const details = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new KeywardenError('KW_REDIS', 'invalid service settings', details);
  }
  return Object.freeze({ redisUrl: r.data.REDIS_URL, prefix: r.data.KEYWARDEN_PREFIX });
}

/**
 * A client for `url`. `maxRetriesPerRequest: null` is what BullMQ workers need (blocking commands
 * wait through a Redis restart instead of failing); the reconnect delay is capped at 2 s so a
 * restarted Redis is picked up quickly.
 */
export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(100 * times, 2000),
    ...extra,
  });
}

/** `url` without its password, for messages. */
export function safeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable REDIS_URL)';
  }
}
