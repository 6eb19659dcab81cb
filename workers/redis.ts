// Redis connections for the service: ioredis clients with the options BullMQ requires, for the URL
// of the service configuration (config/redis.ts). Store, queues and workers take a connection or a URL.
// Two kinds: workers wait through an outage; request paths (API, one-shot CLI) fail fast with KW_REDIS.
import { Redis, type RedisOptions } from 'ioredis';
import { KeywardenError } from '../errors/error.js';
import type { Logger } from '../logging/logger.js';

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

/**
 * A client for request paths (the HTTP API): with Redis away a command fails at once instead of
 * waiting in ioredis' offline queue, and one that Redis does not answer fails after `timeoutMs`
 * (KEYWARDEN_REDIS_REQUEST_TIMEOUT), so a request answers `503 KW_REDIS` within 2 s (docs/api.md).
 * It still reconnects on its own. Blocking readers (BullMQ QueueEvents) must `duplicate()` it with
 * `requestRedisOverrides` removed: a blocking read outlives any command timeout.
 */
export function createRequestRedis(url: string, timeoutMs: number, extra: RedisOptions = {}): Redis {
  return createRedis(url, { enableOfflineQueue: false, commandTimeout: timeoutMs, ...extra });
}

/** What `duplicate()` of a request client needs for a blocking connection (BullMQ QueueEvents, Worker). */
export const BLOCKING_OVERRIDES: RedisOptions = { enableOfflineQueue: true, commandTimeout: undefined };

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

// ioredis' own messages for "no connection" (offline queue off, closed, timed out, gave up retrying)
// and the socket errnos. A ReplyError is Redis answering: not an outage.
const TRANSPORT_MESSAGE =
  /enableOfflineQueue|Connection is closed|Command timed out|Stream isn't writeable|Reached the max retries|connect ETIMEDOUT|ECONNREFUSED|ECONNRESET|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN/;

/** True when `err` says Redis could not be reached (rather than a command failing on a live Redis). */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof KeywardenError) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  const code = (err as NodeJS.ErrnoException).code;
  return TRANSPORT_MESSAGE.test(err.message) || (code !== undefined && TRANSPORT_MESSAGE.test(code));
}

/** KW_REDIS for an outage error, naming the URL without its password; other errors unchanged. */
export function asRedisError(err: unknown, url: string): unknown {
  if (!isRedisUnavailable(err)) return err;
  const reason = (err as Error).message.split('\n')[0];
  return new KeywardenError('KW_REDIS', `Redis at ${safeRedisUrl(url)} is unreachable: ${reason}`, [], { cause: err });
}

/** Rejects with KW_REDIS when `p` takes longer than `ms` (a BullMQ queue waits for its first `ready`). */
export function withRedisDeadline<T>(p: Promise<T>, ms: number, url: string, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new KeywardenError('KW_REDIS', `Redis at ${safeRedisUrl(url)} did not answer ${what} within ${ms} ms`)),
      ms,
    );
  });
  p.catch(() => {}); // lost the race: its own rejection is not news
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export type RedisState = 'up' | 'down' | 'retrying';

/**
 * One log line per change of the Redis connection state, for every client of a process together:
 * `redis-down` (first error or close while up), `redis-retrying` (the first reconnect attempt after
 * that), `redis-up` (every client ready again, with how long it was away). ioredis emits 'error' once
 * per reconnect attempt per client: thousands of lines in an outage, where an operator needs three.
 */
export class RedisStateLog {
  private state: RedisState = 'up';
  private downSince = 0;
  private readonly clients = new Set<Redis>();
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly logger: Pick<Logger, 'warn' | 'info'>,
  ) {}

  get current(): RedisState {
    return this.state;
  }

  /** Follows `client`; also keeps an unhandled 'error' from ending the process. */
  watch(client: Redis): Redis {
    this.clients.add(client);
    client.on('error', (err: Error) => this.down(err));
    client.on('close', () => this.down(null));
    client.on('reconnecting', (delayMs: number) => this.retrying(delayMs));
    client.on('ready', () => this.ready());
    return client;
  }

  /** Before quitting the clients on purpose: their closing is not an outage. */
  stop(): void {
    this.stopped = true;
  }

  private down(err: Error | null): void {
    if (this.state !== 'up' || this.stopped) return;
    this.state = 'down';
    this.downSince = Date.now();
    const code = (err as NodeJS.ErrnoException | null)?.code;
    this.logger.warn(
      { event: 'redis-down', redis: safeRedisUrl(this.url), ...(code ? { code } : {}), ...(err ? { error: err.message } : {}) },
      'Redis unreachable; jobs wait until it is back',
    );
  }

  private retrying(delayMs: number): void {
    if (this.state !== 'down') return;
    this.state = 'retrying';
    this.logger.info({ event: 'redis-retrying', redis: safeRedisUrl(this.url), delayMs }, 'reconnecting to Redis');
  }

  private ready(): void {
    if (this.state === 'up' || this.stopped) return;
    if (![...this.clients].every((c) => c.status === 'ready')) return;
    this.state = 'up';
    this.logger.info(
      { event: 'redis-up', redis: safeRedisUrl(this.url), downMs: Date.now() - this.downSince },
      'Redis reachable again',
    );
  }
}
