// A sliding-window rate limit per client address, for the emergency endpoint: a guessed admin token
// costs the guesser a window per few tries. In memory, bounded in the number of addresses it tracks.
export interface RateLimitOptions {
  /** Requests per window and address. @defaultValue 10 */
  max?: number;
  /** @defaultValue 60000 (ms) */
  windowMs?: number;
}

/** Tracked addresses; past this the oldest entries go (loopback-bound endpoints see few addresses). */
const MAX_KEYS = 10_000;

export type RateLimitDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export function createRateLimiter(opts: RateLimitOptions = {}): (key: string, now?: number) => RateLimitDecision {
  const max = opts.max ?? 10;
  const windowMs = opts.windowMs ?? 60_000;
  const hits = new Map<string, number[]>();
  return (key, now = Date.now()) => {
    let times = hits.get(key);
    if (times === undefined) {
      if (hits.size >= MAX_KEYS) hits.delete(hits.keys().next().value as string);
      times = [];
      hits.set(key, times);
    }
    while (times.length > 0 && times[0]! <= now - windowMs) times.shift();
    if (times.length >= max) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((times[0]! + windowMs - now) / 1000)) };
    times.push(now);
    return { ok: true };
  };
}
