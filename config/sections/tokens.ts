// Scoped bearer tokens of the HTTP API (docs/security.md): KEYWARDEN_API_TOKEN (api section) is the
// admin token; KEYWARDEN_SUBMIT_TOKEN and KEYWARDEN_READ_TOKEN give one token of each narrower scope;
// the config file lists more by id and the SHA-256 of the token, never the token. Rate limits per token.
import { z } from 'zod';
import { Duration } from '../fields.js';
import { defineSection } from '../section.js';
import { Token } from '../tokens.js';

/**
 * What a token may do. `submit`: enqueue scans and post log batches (CI, shippers); `read`: findings,
 * audit trails, jobs, metrics (dashboards, triage); `admin`: everything, lifecycle changes included.
 */
export const SCOPES = ['submit', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Ids of the tokens set by environment variables; a listed token may not take one. */
export const ENV_TOKEN_IDS = { admin: 'admin', submit: 'submit', read: 'read' } as const;

/** @defaultValue 600 requests per window per token */
export const DEFAULT_RATE_LIMIT = 600;
/** @defaultValue 1 minute */
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 60_000;

const TOKEN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A token listed in the config file: its id (audit trails name it), its scope, the SHA-256 of its value. */
export const HashedToken = z
  .object({
    id: z.string().regex(TOKEN_ID, 'letters, digits and . _ - only, at most 64, starting with a letter or digit'),
    scope: z.enum(SCOPES, { error: `must be one of ${SCOPES.join(', ')}` }),
    /** Hex SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`). */
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be the 64 hex digits of the SHA-256 of the token, never the token')
      .transform((h) => h.toLowerCase()),
    /** Requests per window for this token. @defaultValue the section's `rateLimit` */
    rateLimit: z.number().int().min(1).optional(),
  })
  .strict();
export type HashedToken = z.infer<typeof HashedToken>;

export const tokensSection = defineSection({
  key: 'tokens',
  fromFile: true,
  envOnly: ['submit', 'read'],
  env: {
    KEYWARDEN_SUBMIT_TOKEN: 'submit',
    KEYWARDEN_READ_TOKEN: 'read',
    KEYWARDEN_RATE_LIMIT: 'rateLimit',
    KEYWARDEN_RATE_LIMIT_WINDOW: 'rateLimitWindow',
  },
  schema: z
    .object({
      /** `KEYWARDEN_SUBMIT_TOKEN`: a `submit` token (id `submit`). Environment only. @defaultValue none */
      submit: Token.optional(),
      /** `KEYWARDEN_READ_TOKEN`: a `read` token (id `read`). Environment only. @defaultValue none */
      read: Token.optional(),
      /** More tokens, by id, scope and SHA-256 (file only: `tokens: {hashed: [...]}`). @defaultValue none */
      hashed: z
        .array(HashedToken)
        .default([])
        .superRefine((list, ctx) => {
          const seen = new Set<string>(Object.values(ENV_TOKEN_IDS));
          const hashes = new Set<string>();
          for (const [i, t] of list.entries()) {
            if (seen.has(t.id))
              ctx.addIssue({
                code: 'custom',
                path: [i, 'id'],
                message: `${JSON.stringify(t.id)} is taken (admin, submit and read are the environment's tokens; ids are unique)`,
              });
            if (hashes.has(t.sha256))
              ctx.addIssue({ code: 'custom', path: [i, 'sha256'], message: 'the same token is listed twice' });
            seen.add(t.id);
            hashes.add(t.sha256);
          }
        }),
      /** `KEYWARDEN_RATE_LIMIT`: requests per window per token (per API process). @defaultValue 600 */
      rateLimit: z.coerce
        .number({ error: 'must be a whole number of requests' })
        .int('must be a whole number of requests')
        .min(1, 'must be at least 1')
        .default(DEFAULT_RATE_LIMIT),
      /** `KEYWARDEN_RATE_LIMIT_WINDOW`: the window the limit counts in. @defaultValue 1 min */
      rateLimitWindow: Duration.default(DEFAULT_RATE_LIMIT_WINDOW_MS),
    })
    .strict(),
});
