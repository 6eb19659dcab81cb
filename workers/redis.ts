// Redis connections for the service: ioredis clients with the options BullMQ requires, for the URL
// of the service configuration (config/redis.ts). Store, queues and workers take a connection or a URL.
import { Redis, type RedisOptions } from 'ioredis';

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
