// Bearer-token checks for everything keywarden serves over HTTP (the API and the log-shipper intake).
// Both the presented and the configured token are reduced to HMAC-SHA256 digests under a per-process
// random key, so `timingSafeEqual` always compares 32 bytes: the time taken says nothing about the
// token's length or how much of a guess was right.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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

/** Shorter tokens are refused at start-up: a guessable token is worse than none. */
export const MIN_TOKEN_LENGTH = 16;

export type TokenCheck = (authorizationHeader: string | undefined) => boolean;

/**
 * Validates the configured token once (KW_CONFIG_INVALID) and returns the per-request check.
 * `name` is the setting the token comes from, for the start-up message.
 */
export function bearerTokenCheck(token: string | undefined, name = 'KEYWARDEN_API_TOKEN'): TokenCheck {
  if (token === undefined || token === '') {
    throw new KeywardenError('KW_CONFIG_INVALID', `${name} is not set; the server refuses to start without a token`, [
      "generate one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\"",
    ]);
  }
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new KeywardenError('KW_CONFIG_INVALID', `${name} must be at least ${MIN_TOKEN_LENGTH} characters with no whitespace`);
  }
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
