// A secret that rotates under a running app: read synchronously (`secret.value`) on every use, kept
// fresh from its source by polling (and watching, where the source can), with the previous value
// kept for an overlap window. A failed fetch keeps the last good value: the app never sees a throw.
// Values never reach a log, an error message or `util.inspect`.
import { inspect } from 'node:util';
import { KeywardenError } from '../errors/error.js';
import { type Duration, toMilliseconds } from './duration.js';
import { shortHash } from './short-hash.js';
import { type SecretSource, type SecretSourceObject, sourceError, toSourceObject } from './sources/types.js';

export interface RotationEvent {
  name: string;
  /** 1 for the first value, +1 per change. */
  version: number;
  at: Date;
  /** `source`: the source changed; `set`: `secret.set()` (the emergency endpoint). */
  cause: 'source' | 'set';
  /** Short keyed hashes (short-hash.ts) of the old and new value; `from` is absent for the first value. */
  from?: string;
  to: string;
}

export interface RotatableSecretOptions {
  /** Names the secret in status, errors and audit lines. */
  name: string;
  source: SecretSource;
  /** How often to fetch. @defaultValue 30 s */
  refreshInterval?: Duration;
  /** Called after each change of value (and for the first value), with hashes, never values. */
  onRotation?: (event: RotationEvent) => void;
  /** Called on each failed fetch (KW_SECRET_SOURCE); the last good value stays in use. */
  onError?: (error: KeywardenError) => void;
  /** How long `previous` stays readable after a rotation, so in-flight work can finish. @defaultValue 5 min */
  overlap?: Duration;
  /** `ready` rejects (KW_SECRET_NOT_READY) if no value arrived in this time. @defaultValue never: it keeps retrying */
  readyTimeout?: Duration;
  /** A fetch taking longer is abandoned and counted as failed. @defaultValue 30 s */
  fetchTimeout?: Duration;
}

export type RefreshOutcome =
  | { ok: true; rotated: boolean; version: number }
  | { ok: false; error: KeywardenError; version: number };

export interface SecretStatus {
  name: string;
  /** `file`, `env`, `vault-kv`, `aws-secrets-manager`, `function`. */
  source: string;
  ready: boolean;
  version: number;
  /** ISO 8601: when the current value took effect. */
  rotatedAt: string | null;
  /** ISO 8601: the last successful fetch. */
  lastRefreshAt: string | null;
  /** Failed fetches since creation, and since the last good one. */
  errors: number;
  consecutiveErrors: number;
  lastErrorCode: string | null;
  /** Fetches started by the poll timer (not by watch events or `refresh()`). */
  polls: number;
}

export interface RotatableSecret {
  readonly name: string;
  /** The current value. Throws KW_SECRET_NOT_READY only before the first value: await `ready` first. */
  readonly value: string;
  /** The value before the last rotation, within the overlap window; otherwise undefined. */
  readonly previous: string | undefined;
  /** Resolves with the first value. */
  readonly ready: Promise<string>;
  /** Fetches now; concurrent calls share one fetch. Never rejects: a failure is an outcome. */
  refresh(): Promise<RefreshOutcome>;
  /**
   * Puts `value` in place now (the emergency path). It holds until the source yields a value other
   * than the one it yielded when `set` was called, so the next poll does not bring the old key back.
   */
  set(value: string): RotationEvent;
  status(): SecretStatus;
  /** Stops polling and watching. */
  close(): Promise<void>;
}

/**
 * The source's fetch, abandoned after `ms` even if the source ignores its abort signal (a function
 * source may), so one hung fetch cannot stop every later refresh.
 */
function withTimeout(source: SecretSourceObject, ms: number, closed: AbortSignal): Promise<string> {
  const timeout = new AbortController();
  const signal = AbortSignal.any([closed, timeout.signal]);
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      timeout.abort();
      reject(sourceError(source, `fetch timed out after ${ms} ms`));
    }, ms);
    timer.unref();
    source.fetch(signal).then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** The first value is retried sooner than the steady interval: from 250 ms, doubling, up to it. */
const FIRST_RETRY_MS = 250;
/** Coalesces a burst of watch events (a kubelet swap makes several) into one fetch. */
const WATCH_DEBOUNCE_MS = 25;

export function createRotatableSecret(opts: RotatableSecretOptions): RotatableSecret {
  const name = opts.name;
  if (typeof name !== 'string' || name === '')
    throw new KeywardenError('KW_CONFIG_INVALID', 'createRotatableSecret: name is required');
  const source: SecretSourceObject = toSourceObject(opts.source);
  const intervalMs = Math.max(1, toMilliseconds(opts.refreshInterval ?? 30_000, `${name}: refreshInterval`));
  const overlapMs = toMilliseconds(opts.overlap ?? 300_000, `${name}: overlap`);
  const fetchTimeoutMs = toMilliseconds(opts.fetchTimeout ?? 30_000, `${name}: fetchTimeout`);
  const readyTimeoutMs = opts.readyTimeout === undefined ? undefined : toMilliseconds(opts.readyTimeout, `${name}: readyTimeout`);

  let current: string | undefined;
  let previous: string | undefined;
  let previousUntil = 0;
  let version = 0;
  let rotatedAt: Date | null = null;
  let lastRefreshAt: Date | null = null;
  let errors = 0;
  let consecutiveErrors = 0;
  let lastErrorCode: string | null = null;
  let polls = 0;
  /** While set by `set()`: the source's value at that moment, which must not override the set value. */
  let pinnedAgainst: string | undefined;
  let pinFirstFetched = false;
  let closed = false;

  let inflight: Promise<RefreshOutcome> | null = null;
  let again = false;
  const abort = new AbortController();

  let resolveReady!: (v: string) => void;
  let rejectReady!: (e: KeywardenError) => void;
  const ready = new Promise<string>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  // An app that never awaits `ready` must not see an unhandled rejection from close() or a timeout.
  ready.catch(() => {});

  const callSafely = <A>(fn: ((a: A) => void) | undefined, arg: A) => {
    if (fn === undefined) return;
    try {
      fn(arg);
    } catch {
      // A throwing callback must not break refreshing; there is nowhere safe to report it.
    }
  };

  function reportError(error: KeywardenError): void {
    errors++;
    consecutiveErrors++;
    lastErrorCode = error.code;
    callSafely(opts.onError, error);
  }

  function adopt(value: string, cause: RotationEvent['cause']): RotationEvent {
    const at = new Date();
    const event: RotationEvent = { name, version: version + 1, at, cause, to: shortHash(value) };
    if (current !== undefined) {
      event.from = shortHash(current);
      previous = current;
      previousUntil = at.getTime() + overlapMs;
    }
    current = value;
    version++;
    rotatedAt = at;
    callSafely(opts.onRotation, event);
    return event;
  }

  async function fetchOnce(): Promise<RefreshOutcome> {
    let value: string;
    try {
      value = await withTimeout(source, fetchTimeoutMs, abort.signal);
      if (typeof value !== 'string') throw sourceError(source, 'returned something other than a string');
      if (value === '') throw sourceError(source, 'returned an empty value');
    } catch (err) {
      const error = err instanceof KeywardenError ? err : sourceError(source, 'fetch failed');
      reportError(error);
      return { ok: false, error, version };
    }
    lastRefreshAt = new Date();
    consecutiveErrors = 0;
    if (pinFirstFetched) {
      // set() came before the source's first value: that value is the one being replaced.
      pinFirstFetched = false;
      if (value !== current) pinnedAgainst = value;
    }
    if (pinnedAgainst !== undefined) {
      if (value === pinnedAgainst || value === current) return { ok: true, rotated: false, version };
      pinnedAgainst = undefined; // the source has moved on: it is the truth again
    }
    if (value === current) return { ok: true, rotated: false, version };
    adopt(value, 'source');
    return { ok: true, rotated: true, version };
  }

  function refresh(): Promise<RefreshOutcome> {
    if (closed)
      return Promise.resolve({ ok: false, error: new KeywardenError('KW_SECRET_NOT_READY', `${name}: closed`), version });
    if (inflight === null) {
      inflight = fetchOnce().finally(() => {
        inflight = null;
        // Resolved only now, so that a refresh() right after `await ready` starts a fetch of its own.
        if (current !== undefined) resolveReady(current);
        if (again && !closed) {
          again = false;
          void refresh();
        }
      });
    }
    return inflight;
  }

  /** A watch event: a fetch already running may have read before the change, so run one more after it. */
  let debounce: NodeJS.Timeout | null = null;
  function onWatchEvent(): void {
    if (closed || debounce !== null) return;
    debounce = setTimeout(() => {
      debounce = null;
      if (inflight !== null) again = true;
      else void refresh();
    }, WATCH_DEBOUNCE_MS);
    debounce.unref();
  }

  // Steady polling keeps no process alive (unref); until the first value, retries are sooner and do.
  const poll = setInterval(() => {
    if (current === undefined) return; // the first-value loop below is in charge
    polls++;
    void refresh();
  }, intervalMs);
  poll.unref();

  let firstTimer: NodeJS.Timeout | null = null;
  const firstValue = (attempt: number) => {
    void refresh().then(() => {
      if (current !== undefined || closed) return;
      firstTimer = setTimeout(() => firstValue(attempt + 1), Math.min(intervalMs, FIRST_RETRY_MS * 2 ** attempt));
    });
  };
  firstValue(0);

  let readyTimer: NodeJS.Timeout | null = null;
  if (readyTimeoutMs !== undefined) {
    readyTimer = setTimeout(() => {
      if (current === undefined) {
        rejectReady(
          new KeywardenError(
            'KW_SECRET_NOT_READY',
            `${name}: no value from ${source.kind} ${source.location} within ${readyTimeoutMs} ms`,
          ),
        );
      }
    }, readyTimeoutMs);
    readyTimer.unref();
    void ready.then(
      () => readyTimer && clearTimeout(readyTimer),
      () => {},
    );
  }

  const unwatch = source.watch?.(onWatchEvent);

  const status = (): SecretStatus => ({
    name,
    source: source.kind,
    ready: current !== undefined,
    version,
    rotatedAt: rotatedAt?.toISOString() ?? null,
    lastRefreshAt: lastRefreshAt?.toISOString() ?? null,
    errors,
    consecutiveErrors,
    lastErrorCode,
    polls,
  });

  const secret: RotatableSecret = {
    name,
    get value(): string {
      if (current === undefined) {
        throw new KeywardenError('KW_SECRET_NOT_READY', `${name}: no value yet (await secret.ready before reading it)`);
      }
      return current;
    },
    get previous(): string | undefined {
      return previous !== undefined && Date.now() < previousUntil ? previous : undefined;
    },
    ready,
    refresh,
    set(value: string): RotationEvent {
      if (typeof value !== 'string' || value === '')
        throw new KeywardenError('KW_REQUEST_INVALID', `${name}: a new value must be a non-empty string`);
      // Pin against what the source says now (the old key), not against a value set earlier.
      if (pinnedAgainst === undefined) {
        if (lastRefreshAt !== null && current !== undefined) pinnedAgainst = current;
        else pinFirstFetched = true;
      }
      const event = adopt(value, 'set');
      if (inflight === null) resolveReady(value);
      return event;
    },
    status,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      if (firstTimer !== null) clearTimeout(firstTimer);
      if (debounce !== null) clearTimeout(debounce);
      if (readyTimer !== null) clearTimeout(readyTimer);
      unwatch?.();
      abort.abort();
      if (current === undefined) rejectReady(new KeywardenError('KW_SECRET_NOT_READY', `${name}: closed before a first value`));
      await inflight?.catch(() => {});
    },
  };
  // console.log(secret), JSON.stringify(secret): the status, never the value.
  Object.defineProperty(secret, inspect.custom, { value: () => `RotatableSecret ${inspect(status())}` });
  Object.defineProperty(secret, 'toJSON', { value: status });
  return secret;
}
