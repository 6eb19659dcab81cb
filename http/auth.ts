// Bearer-token checks for everything keywarden serves over HTTP (the API and the log-shipper intake).
// A presented token is reduced to its SHA-256 (what the config file lists, never the token), then to an
// HMAC under a per-process random key, and compared with `timingSafeEqual` against every configured
// token's, all of them every time: the time taken says nothing about the token's length, how much of a
// guess was right, or which configured token (if any) it matched.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ENV_TOKEN_IDS, type HashedToken, type Scope } from '../config/sections/tokens.js';
import { TOKEN_HINT, tokenProblem } from '../config/tokens.js';
import { KeywardenError } from '../errors/error.js';

export type { Scope } from '../config/sections/tokens.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without any bearer token (probes, the API description). */
    public?: boolean;
    /**
     * Guarded by a credential of its own, checked by the route (the log-shipper intake and its
     * KEYWARDEN_INTAKE_TOKEN, the rotation callback's one-time token, the GitHub webhook's signature):
     * the API's token hook lets it through, so no token opens another's routes.
     */
    ownToken?: boolean;
    /**
     * The scopes any one of which opens the route (`admin` opens every route). The API's hook enforces
     * it: a valid token without it is answered 403 KW_FORBIDDEN. @defaultValue admin (fail closed)
     */
    scope?: Scope | readonly Scope[];
  }
  interface FastifyRequest {
    /** The API token the request came with, once the API's hook accepted it; null on public and own-token routes. */
    caller: Caller | null;
  }
}

/** Who called, as the API knows it: a token's id (audit trails name it) and scope. Never the token. */
export interface Caller {
  /** `admin`, `submit`, `read` (the environment's tokens) or the id a listed token has in the config file. */
  id: string;
  scope: Scope;
  /** Requests per rate-limit window for this token, when it has its own. */
  rateLimit?: number;
  /**
   * Hex SHA-256 over the token's SHA-256: keeps what this token enqueues apart (api/routes/jobs.ts).
   * Derived from the token, so no other caller can compute it, yet the same after a restart.
   */
  namespace: string;
}

export type TokenCheck = (authorizationHeader: string | undefined) => boolean;

/** Finds the token a request presents among the configured ones; null when none (or no header). */
export type TokenLookup = (authorizationHeader: string | undefined) => Caller | null;

/** RFC 6750: the scheme is case-insensitive, one or more spaces before the token. */
function presentedToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^bearer +(\S+)\s*$/i.exec(header);
  return m ? (m[1] ?? '') : null;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function checkedToken(token: string | undefined, name: string): string {
  if (token === undefined || token === '') {
    throw new KeywardenError('KW_CONFIG_INVALID', `${name} is not set; the server refuses to start without a token`, [
      TOKEN_HINT,
    ]);
  }
  const problem = tokenProblem(token);
  if (problem) throw new KeywardenError('KW_CONFIG_INVALID', `${name} ${problem}`);
  return token;
}

/**
 * Validates the configured token once (KW_CONFIG_INVALID, by the service configuration's rule in
 * config/tokens.ts) and returns the per-request check. `name` is the setting the token comes from.
 */
export function bearerTokenCheck(token: string | undefined, name = 'KEYWARDEN_API_TOKEN'): TokenCheck {
  const lookup = scopedTokenLookup({ admin: checkedToken(token, name) });
  return (header) => lookup(header) !== null;
}

/** The API's tokens: the admin token (KEYWARDEN_API_TOKEN), one of each narrower scope, and those listed by hash. */
export interface ApiTokens {
  /** KEYWARDEN_API_TOKEN: scope `admin`, id `admin`. Required. */
  admin: string | undefined;
  /** KEYWARDEN_SUBMIT_TOKEN: scope `submit`, id `submit`. */
  submit?: string;
  /** KEYWARDEN_READ_TOKEN: scope `read`, id `read`. */
  read?: string;
  /** The config file's `tokens.hashed`: id, scope and SHA-256 of each. */
  hashed?: readonly HashedToken[];
}

/**
 * Validates the tokens once (each environment token by the service's token rule; no two of them, listed
 * ones included, the same token) and returns the per-request lookup.
 */
export function scopedTokenLookup(tokens: ApiTokens): TokenLookup {
  const admin = checkedToken(tokens.admin, 'KEYWARDEN_API_TOKEN');
  const known: Array<{ caller: Caller; hash: Buffer }> = [];
  const add = (id: string, scope: Scope, hash: Buffer, rateLimit?: number) => {
    const namespace = createHash('sha256').update('keywarden job namespace\0').update(hash).digest('hex');
    known.push({ caller: { id, scope, namespace, ...(rateLimit !== undefined ? { rateLimit } : {}) }, hash });
  };
  add(ENV_TOKEN_IDS.admin, 'admin', sha256(admin));
  if (tokens.submit !== undefined)
    add(ENV_TOKEN_IDS.submit, 'submit', sha256(checkedToken(tokens.submit, 'KEYWARDEN_SUBMIT_TOKEN')));
  if (tokens.read !== undefined) add(ENV_TOKEN_IDS.read, 'read', sha256(checkedToken(tokens.read, 'KEYWARDEN_READ_TOKEN')));
  for (const t of tokens.hashed ?? []) add(t.id, t.scope, Buffer.from(t.sha256, 'hex'), t.rateLimit);
  const seen = new Map<string, string>();
  for (const { caller, hash } of known) {
    const other = seen.get(hash.toString('hex'));
    if (other !== undefined) {
      throw new KeywardenError(
        'KW_CONFIG_INVALID',
        `tokens ${JSON.stringify(other)} and ${JSON.stringify(caller.id)} are the same token: one value would hold both scopes`,
      );
    }
    seen.set(hash.toString('hex'), caller.id);
  }
  const key = randomBytes(32);
  const digest = (hash: Buffer) => createHmac('sha256', key).update(hash).digest();
  const expected = known.map(({ caller, hash }) => ({ caller, digest: digest(hash) }));
  return (header) => {
    const token = presentedToken(header);
    if (token === null) return null;
    const presented = digest(sha256(token));
    let found: Caller | null = null;
    // Every configured token is compared, the match or not: no early exit tells which one it was.
    for (const e of expected) {
      const same = timingSafeEqual(presented, e.digest);
      found = same ? e.caller : found;
    }
    return found;
  };
}

/** The scopes a route declares, as a list (`admin` when it declares none: fail closed). */
export function routeScopes(scope: Scope | readonly Scope[] | undefined): readonly Scope[] {
  if (scope === undefined) return ['admin'];
  return typeof scope === 'string' ? [scope] : scope;
}

/** Whether a token of scope `held` opens a route declaring `scope`: `admin` opens everything. */
export function scopeAllows(held: Scope, scope: Scope | readonly Scope[] | undefined): boolean {
  return held === 'admin' || routeScopes(scope).includes(held);
}

/** Whether this caller may see what the `read` scope shows (findings, counts, job results). */
export function canRead(caller: Caller | null): boolean {
  return caller !== null && scopeAllows(caller.scope, 'read');
}
