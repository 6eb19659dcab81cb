// Bearer-token checks for everything keywarden serves over HTTP (the API and the log-shipper intake).
// Both the presented and the configured token are reduced to HMAC-SHA256 digests under a per-process
// random key, so `timingSafeEqual` always compares 32 bytes: the time taken says nothing about the
// token's length or how much of a guess was right.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { TOKEN_HINT, tokenProblem } from '../config/tokens.js';
import { KeywardenError } from '../errors/error.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without any bearer token (probes, the API description). */
    public?: boolean;
    /**
     * Guarded by a token of its own, checked by the route's plugin (the log-shipper intake and its
     * KEYWARDEN_INTAKE_TOKEN): the API token's hook lets it through, so neither token opens the other's routes.
     */
    ownToken?: boolean;
  }
}

export type TokenCheck = (authorizationHeader: string | undefined) => boolean;

/**
 * Validates the configured token once (KW_CONFIG_INVALID, by the service configuration's rule in
 * config/tokens.ts) and returns the per-request check. `name` is the setting the token comes from.
 */
export function bearerTokenCheck(token: string | undefined, name = 'KEYWARDEN_API_TOKEN'): TokenCheck {
  if (token === undefined || token === '') {
    throw new KeywardenError('KW_CONFIG_INVALID', `${name} is not set; the server refuses to start without a token`, [
      TOKEN_HINT,
    ]);
  }
  const problem = tokenProblem(token);
  if (problem) throw new KeywardenError('KW_CONFIG_INVALID', `${name} ${problem}`);
  const key = randomBytes(32);
  const digest = (s: string) => createHmac('sha256', key).update(s, 'utf8').digest();
  const expected = digest(token);
  return (header) => {
    if (header === undefined) return false;
    // RFC 6750: the scheme is case-insensitive, one or more spaces before the token.
    const m = /^bearer +(\S+)\s*$/i.exec(header);
    if (!m) return false;
    return timingSafeEqual(digest(m[1] ?? ''), expected);
  };
}
