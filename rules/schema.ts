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

/** Names of keyword-hit prefilters; implementations live in `scanner/engine/prefilters.ts`. */
export const PREFILTER_NAMES = [
  'userinfo',
  'assignment-password',
  'assignment-secret',
  'assignment-token',
  'assignment-api-key',
  'assignment-aws-secret',
  'env-name',
  'cli-flag',
  'key-value-attribute',
] as const;
export type PrefilterName = (typeof PREFILTER_NAMES)[number];

export const Confidence = z.enum(['high', 'medium', 'low']);
export type Confidence = z.infer<typeof Confidence>;

/**
 * What a rule's match is. `credential` authenticates as found; `hash` is a password hash (it must be
 * cracked first); `public` is public by design (a Stripe publishable key, a Mapbox `pk.` token, a
 * Firebase web API key). Findings of `hash` and `public` rules carry the confidence `info`.
 */
export const RuleKind = z.enum(['credential', 'hash', 'public']);
export type RuleKind = z.infer<typeof RuleKind>;

/**
 * Parsers a rule may name in `format.parser` (implementations in scanner/engine/formats.ts). Each
 * reads a whole file and yields its values with their key paths; `path` yields no value: the file
 * itself is the credential (a Java keystore), reported without content.
 */
export const FORMAT_PARSERS = [
  'path',
  'netrc',
  'pgpass',
  'passwd',
  'line-pairs',
  'ini',
  'properties',
  'json',
  'yaml',
  'xml',
] as const;
export type FormatParser = (typeof FORMAT_PARSERS)[number];

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
      'credential-file',
      'framework',
      'generic',
    ]),
    /** RE2 syntax. Should start at its literal anchor (see PERF-NOTES). */
    pattern: z.string().min(1),
    /** Capture group holding the secret; 0 = the whole match. */
    secretGroup: z.number().int().min(0).default(0),
    /**
     * Literals (3+ chars, matched case-insensitively) of which one must occur near a match. Only a
     * rule with `paths` may have none: it then runs on the whole of every file its paths select.
     */
    keywords: z.array(z.string().min(3, 'keywords need 3+ characters (PERF-NOTES)')).default([]),
    /**
     * RE2 patterns on the `/`-separated relative path: the rule runs only on files whose path matches
     * one (credential stores and config files are known by name: `.pgpass`, `wp-config.php`).
     */
    paths: z.array(z.string().min(1)).optional(),
    /** Paths (each matching `paths`) at which the examples and negatives are tested. */
    examplePaths: z.array(z.string().min(1)).optional(),
    /**
     * Parse the file as this format and match `pattern` against each value whose key path matches
     * `keys` (RE2; INI `section.key`, JSON/YAML `a.b.c`, XML `a.b.c` or `a.b@attr`), whole-value.
     */
    format: z
      .object({
        parser: z.enum(FORMAT_PARSERS),
        keys: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** A match counts only when this RE2 pattern also matches within `lines` lines of it. */
    near: z
      .object({
        pattern: z.string().min(1),
        lines: z.number().int().min(0).max(50).default(5),
      })
      .strict()
      .optional(),
    /**
     * Paired credentials (an id with a prefix, a secret without one): `pattern` finds the half with
     * the prefix, `pair.pattern` the other half within `lines` lines; the secret reported is the
     * pair's, and the engine's match carries both halves under the names in `parts`.
     */
    pair: z
      .object({
        pattern: z.string().min(1),
        secretGroup: z.number().int().min(0).default(0),
        lines: z.number().int().min(0).max(50).default(5),
        parts: z.tuple([z.string().min(1), z.string().min(1)]),
      })
      .strict()
      .optional(),
    /** Minimum Shannon entropy (bits per character) of the secret. */
    entropy: z.number().min(0).max(8).optional(),
    checksum: z.enum(CHECKSUM_NAMES).optional(),
    /**
     * A named check on each keyword hit before the rule's window is queued (scanner/engine/prefilters.ts):
     * cheap byte tests that keep weak-keyword rules under 1% of the scan (`npm run bench:rules`).
     */
    prefilter: z.enum(PREFILTER_NAMES).optional(),
    confidence: Confidence.default('high'),
    kind: RuleKind.default('credential'),
    /**
     * Characters that must not touch the secret on either side (checked in code, after the match,
     * which keeps `\b` out of the pattern's front: PERF-NOTES). `word` = [A-Za-z0-9_].
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
        /**
         * Every match starts at a keyword hit (the pattern begins with the keyword): the engine then
         * tries the pattern once, anchored, at each hit instead of searching merged windows.
         */
        anchored: z.boolean().optional(),
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
