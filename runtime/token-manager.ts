// OAuth 2.0 client credentials (RFC 6749 §4.4) for an app's outgoing calls: `getToken()` returns a
// valid access token, asks for a new one at half its lifetime, with one request in flight however
// many callers wait, retries with backoff, and keeps serving the old token while it is still valid
// and a refresh fails. Tokens and the client secret never reach an error message.
import { KeywardenError } from '../errors/error.js';
import { type Duration, toMilliseconds } from './duration.js';
import { networkReason } from './http.js';

export interface TokenManagerOptions {
  /** The authorization server's token endpoint. */
  tokenUrl: string;
  clientId: string;
  /** A string, or anything with a `value` (a rotatable secret: a rotated client secret is used at once). */
  clientSecret: string | { readonly value: string };
  /** Space-separated or a list. */
  scope?: string | readonly string[];
  /** Extra form parameters some servers want (`audience`, `resource`). */
  params?: Record<string, string>;
  /**
   * How the client authenticates (RFC 6749 §2.3.1): HTTP Basic, which every server must support, or
   * the credentials in the form body. @defaultValue `client_secret_basic`
   */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Fraction of the lifetime after which a new token is fetched. @defaultValue 0.5 */
  refreshAt?: number;
  /** Retries after the first attempt, on network errors, timeouts, 408, 429 and 5xx. @defaultValue 3 */
  retries?: number;
  /** First retry delay, doubled per retry (with jitter). @defaultValue 200 ms */
  backoff?: Duration;
  /** Per request. @defaultValue 10 s */
  timeout?: Duration;
  /** Lifetime assumed when the server sends no `expires_in`. @defaultValue 5 min */
  defaultLifetime?: Duration;
  /** Called for every failed refresh (KW_TOKEN_REQUEST), also when the old token keeps being served. */
  onError?: (error: KeywardenError) => void;
  /** The clock, in ms since the epoch (tests). @defaultValue Date.now */
  now?: () => number;
}

export interface TokenManagerStatus {
  hasToken: boolean;
  /** ISO 8601. */
  expiresAt: string | null;
  refreshAfter: string | null;
  /** Token requests sent (each retry counts). */
  requests: number;
  failures: number;
}

export interface TokenManager {
  /** A valid access token. Rejects (KW_TOKEN_REQUEST) only when there is no valid token and none could be had. */
  getToken(): Promise<string>;
  /** Drops the current token (e.g. after the API answered 401 with it); the next getToken fetches. */
  invalidate(): void;
  status(): TokenManagerStatus;
}

/** Never retry sooner than this after a failed background refresh, so a broken server is not hammered. */
const REFRESH_COOLDOWN_MS = 5_000;
const MAX_RETRY_AFTER_MS = 30_000;

export function createTokenManager(opts: TokenManagerOptions): TokenManager {
  const now = opts.now ?? Date.now;
  const refreshAt = opts.refreshAt ?? 0.5;
  if (!(refreshAt > 0 && refreshAt < 1))
    throw new KeywardenError('KW_CONFIG_INVALID', 'createTokenManager: refreshAt must be between 0 and 1');
  const retries = opts.retries ?? 3;
  const backoffMs = toMilliseconds(opts.backoff ?? 200, 'createTokenManager backoff');
  const timeoutMs = toMilliseconds(opts.timeout ?? 10_000, 'createTokenManager timeout');
  const defaultLifetimeMs = toMilliseconds(opts.defaultLifetime ?? 300_000, 'createTokenManager defaultLifetime');
  const scope = typeof opts.scope === 'string' ? opts.scope : opts.scope?.join(' ');
  const endpoint = new URL(opts.tokenUrl); // throws early on a malformed URL
  const where = `${endpoint.origin}${endpoint.pathname}`;

  let token: string | undefined;
  let expiresAt = 0;
  let refreshAfter = 0;
  let inflight: Promise<string> | null = null;
  let coolUntil = 0;
  let requests = 0;
  let failures = 0;

  const fail = (message: string) => new KeywardenError('KW_TOKEN_REQUEST', `token request to ${where}: ${message}`);

  function requestInit(): RequestInit {
    const secret = typeof opts.clientSecret === 'string' ? opts.clientSecret : opts.clientSecret.value;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    for (const [k, v] of Object.entries(opts.params ?? {})) form.set(k, v);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if ((opts.authMethod ?? 'client_secret_basic') === 'client_secret_basic') {
      // §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
      const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
      headers.authorization = `Basic ${Buffer.from(`${enc(opts.clientId)}:${enc(secret)}`).toString('base64')}`;
    } else {
      form.set('client_id', opts.clientId);
      form.set('client_secret', secret);
    }
    return { method: 'POST', headers, body: form.toString() };
  }

  /** One attempt: the token and its lifetime, or a failure saying whether to retry. */
  async function attempt(): Promise<
    { token: string; lifetimeMs: number } | { error: KeywardenError; retry: boolean; waitMs?: number }
  > {
    requests++;
    let res: Response;
    try {
      res = await fetch(opts.tokenUrl, { ...requestInit(), signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      return { error: fail(`failed (${networkReason(err)})`), retry: true };
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      // The OAuth `error` code (invalid_client, invalid_scope, ...) is safe to show; the description is not quoted.
      const code = (body as { error?: unknown } | undefined)?.error;
      const retry = res.status === 408 || res.status === 429 || res.status >= 500;
      const retryAfter = Number(res.headers.get('retry-after'));
      return {
        error: fail(`answered ${res.status}${typeof code === 'string' ? ` (${code.slice(0, 64)})` : ''}`),
        retry,
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 && { waitMs: Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS) }),
      };
    }
    const b = body as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof b?.access_token !== 'string' || b.access_token === '') {
      return { error: fail('answered without an access_token'), retry: false };
    }
    const expiresIn = Number(b.expires_in);
    return {
      token: b.access_token,
      lifetimeMs: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : defaultLifetimeMs,
    };
  }

  async function fetchToken(): Promise<string> {
    let last: KeywardenError | undefined;
    for (let i = 0; i <= retries; i++) {
      const out = await attempt();
      if ('token' in out) {
        const t = now();
        token = out.token;
        expiresAt = t + out.lifetimeMs;
        refreshAfter = t + out.lifetimeMs * refreshAt;
        return out.token;
      }
      last = out.error;
      failures++;
      try {
        opts.onError?.(out.error);
      } catch {
        // the app's callback must not break the retry loop
      }
      if (!out.retry || i === retries) break;
      const delay = out.waitMs ?? backoffMs * 2 ** i * (0.5 + Math.random() / 2);
      await new Promise((r) => setTimeout(r, delay));
    }
    throw last ?? fail('failed');
  }

  function refresh(): Promise<string> {
    if (inflight === null) {
      inflight = fetchToken().finally(() => {
        inflight = null;
      });
    }
    return inflight;
  }

  /** Still usable: before expiry, minus a margin for the request that will carry it. */
  const valid = (t: number) => token !== undefined && t < expiresAt - Math.min(5_000, (expiresAt - refreshAfter) / 5);

  return {
    async getToken(): Promise<string> {
      const t = now();
      if (token !== undefined && t < refreshAfter) return token;
      if (valid(t)) {
        if (inflight === null && t >= coolUntil) {
          refresh().catch(() => {
            coolUntil = now() + REFRESH_COOLDOWN_MS;
          });
        }
        return token!;
      }
      return refresh();
    },
    invalidate(): void {
      token = undefined;
      expiresAt = 0;
      refreshAfter = 0;
    },
    status: () => ({
      hasToken: token !== undefined && valid(now()),
      expiresAt: token === undefined ? null : new Date(expiresAt).toISOString(),
      refreshAfter: token === undefined ? null : new Date(refreshAfter).toISOString(),
      requests,
      failures,
    }),
  };
}
