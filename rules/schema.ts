// What a rule file says (stage one of two): the strict zod schema every YAML rule file is validated
// against at load. `scanner/engine/compile.ts` turns these into what the engine runs (stage two).
// rules/ imports nothing else of keywarden's.
import { z } from 'zod';

/** Names of checksum validators; implementations live in `rules/checksums.ts`. */
export const CHECKSUM_NAMES = [
  'github-crc32',
  'npm-crc32',
  'cloudflare-crc32',
  'grafana-crc32',
  'bech32',
  'pypi-macaroon',
  'jwt',
] as const;
export type ChecksumName = (typeof CHECKSUM_NAMES)[number];

export const Confidence = z.enum(['high', 'medium', 'low']);
export type Confidence = z.infer<typeof Confidence>;

/**
 * Declarative liveness / revocation check, carried by a rule for the rotation issue (#later).
 * The scanner never calls it; it is validated for shape only so that rule files can carry it now.
 */
export const LivenessCheck = z
  .object({
    request: z
      .object({
        method: z.enum(['GET', 'POST', 'PUT', 'DELETE', 'HEAD']),
        url: z.string().min(1),
        headers: z.record(z.string(), z.string()).optional(),
        body: z.string().optional(),
      })
      .strict(),
    /** HTTP statuses meaning "the key still authenticates". */
    live: z.array(z.number().int()).min(1),
    /** HTTP statuses meaning "the key is revoked or invalid". */
    revoked: z.array(z.number().int()).min(1),
    note: z.string().optional(),
  })
  .strict();
export type LivenessCheck = z.infer<typeof LivenessCheck>;

export const Allowlist = z
  .object({
    /** RE2 patterns; a secret matching any of them is not reported. */
    regexes: z.array(z.string().min(1)).default([]),
    /** Case-insensitive substrings; a secret containing any of them is not reported. */
    stopwords: z.array(z.string().min(1)).default([]),
    /** RE2 patterns matched against the `/`-separated relative path. */
    paths: z.array(z.string().min(1)).default([]),
  })
  .strict();
export type Allowlist = z.infer<typeof Allowlist>;

export const RuleSpec = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/, 'lowercase letters, digits and dashes'),
    description: z.string().min(1),
    provider: z.string().min(1),
    /** Grouping for `rules list` and docs. */
    category: z.enum([
      'cloud',
      'code-host',
      'registry',
      'ai',
      'saas',
      'payment',
      'messaging',
      'infrastructure',
      'observability',
      'database',
      'private-key',
      'generic',
    ]),
    /** RE2 syntax. Should start at its literal anchor (how a pattern starts decides its speed: docs/benchmarks.md, design measurements). */
    pattern: z.string().min(1),
    /** Capture group holding the secret; 0 = the whole match. */
    secretGroup: z.number().int().min(0).default(0),
    /** Literals (3+ chars, matched case-insensitively) of which one must occur near a match. */
    keywords: z
      .array(z.string().min(3, 'keywords need 3+ characters (shorter ones occur in most files: see docs/benchmarks.md)'))
      .min(1),
    /** Minimum Shannon entropy (bits per character) of the secret. */
    entropy: z.number().min(0).max(8).optional(),
    checksum: z.enum(CHECKSUM_NAMES).optional(),
    confidence: Confidence.default('high'),
    /**
     * Characters that must not touch the secret on either side (checked in code, after the match,
     * which keeps `\b` out of the pattern's front: docs/benchmarks.md, design measurements). `word` = [A-Za-z0-9_].
     */
    boundary: z.enum(['word', 'alnum', 'none']).default('word'),
    /** Reject placeholder-looking secrets (xxxx, <TOKEN>, ${VAR}, changeme...). Generic rules want it. */
    placeholderFilter: z.boolean().default(false),
    /** Bytes the engine looks at around each keyword hit. Multi-line rules (PEM) raise `after`. */
    window: z
      .object({
        before: z.number().int().min(0).max(65536).default(256),
        after: z
          .number()
          .int()
          .min(1)
          .max(1 << 20)
          .default(512),
        multiline: z.boolean().default(false),
      })
      .strict()
      .optional(),
    allowlist: Allowlist.optional(),
    /** Templates that must match; the secret is marked «…»; `{base62:30}` etc. expand at test time. */
    examples: z.array(z.string().min(1)).min(1),
    /** Templates that must not produce a finding. */
    negatives: z.array(z.string().min(1)).default([]),
    references: z.array(z.string().url()).default([]),
    liveness: LivenessCheck.optional(),
    /**
     * Rules whose matches on overlapping text this rule replaces: a Clerk key is also a well-formed
     * Stripe key, a service-account JSON's private key is also an escaped PEM. One secret, one report.
     */
    supersedes: z.array(z.string()).default([]),
    tags: z.array(z.string()).default([]),
  })
  .strict();
export type RuleSpec = z.infer<typeof RuleSpec>;
/** A rule as validated: the one `Rule` type. */
export type Rule = RuleSpec;

export const RuleFile = z
  .object({
    rules: z.array(RuleSpec).min(1),
  })
  .strict();
export type RuleFile = z.infer<typeof RuleFile>;
