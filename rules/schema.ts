// What a rule file says (stage one of two): the strict zod schema every YAML rule file is validated
// against at load. `scanner/engine/compile.ts` turns these into what the engine runs (stage two).
// rules/ imports nothing else of keywarden's.
import { z } from 'zod';
import { PREFILTER_NAMES } from './prefilter-names.js';

export { PREFILTER_NAMES, PREFILTERS_DROPPING_CODE, type PrefilterName } from './prefilter-names.js';

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

/*
 * Declarative liveness checks ("does the provider still accept this key?") and self-revocation plans
 * ("ask the provider to revoke it"), carried by rules and run by providers/ (plan -> HTTP -> judge).
 * The scanner never runs them. Templates substitute `{{secret}}` (the rule's matched secret) and
 * `{{parts.<name>}}` (a declared part the caller supplies: the other half of a pair, a shop domain);
 * every other `{{...}}` is a load error. docs/providers.md explains each field.
 */

/** `{{secret}}` or `{{parts.<name>}}`, as templates write them. */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PART_NAME = /^[a-zA-Z][a-zA-Z0-9]*$/;

/** The placeholders a template uses, as written between the braces (`secret`, `parts.id`). */
export function templatePlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

const Template = z.string();

/** A value the caller supplies beside the secret (the other half of a pair, a tenant or shop name). */
export const LivenessPart = z
  .object({
    description: z.string().min(1),
    /** Anchored JavaScript regular expression the supplied value must match (short values only). */
    pattern: z.string().min(1).optional(),
    /** Missing optional parts substitute as the empty string (and drop an empty header). */
    optional: z.boolean().default(false),
    /**
     * A rule id whose liveness check must find this part `live` before a `revoked` verdict of this
     * check is believed: a Datadog application key is only judged against an API key known to work.
     */
    confirmWith: z.string().min(1).optional(),
  })
  .strict();
export type LivenessPart = z.infer<typeof LivenessPart>;

/** One condition on the JSON body; `path` is dot-separated, array indices as numbers (`errors.0.code`). */
export const JsonCondition = z
  .object({
    path: z.string().min(1),
    equals: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
    in: z
      .array(z.union([z.string(), z.number(), z.boolean()]))
      .min(1)
      .optional(),
    /** true: the path must hold a value other than null; false: it must be absent or null. */
    exists: z.boolean().optional(),
  })
  .strict()
  .refine((c) => [c.equals, c.in, c.exists].filter((v) => v !== undefined).length === 1, {
    message: 'a JSON condition takes exactly one of equals, in, exists',
  });
export type JsonCondition = z.infer<typeof JsonCondition>;

/** What one kind of answer looks like: all given conditions must hold. */
export const AnswerMatcher = z
  .object({
    status: z.array(z.number().int().min(100).max(599)).min(1),
    /** Conditions on the JSON body; a body that is not JSON matches none. */
    json: z.array(JsonCondition).min(1).optional(),
    /** Substrings the raw body must contain (XML answers such as AWS's). */
    bodyIncludes: z.array(z.string().min(1)).min(1).optional(),
    /** The body must be JSON (when no field is worth naming). */
    bodyIsJson: z.literal(true).optional(),
  })
  .strict();
export type AnswerMatcher = z.infer<typeof AnswerMatcher>;

const HttpMethod = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);

/** The request body: JSON (string leaves are templates), an urlencoded form, or raw text. */
export const RequestBody = z.union([
  z.object({ json: z.unknown() }).strict(),
  z.object({ form: z.record(z.string(), Template) }).strict(),
  z.object({ text: Template, contentType: z.string().min(1) }).strict(),
]);
export type RequestBody = z.infer<typeof RequestBody>;

/** A request template. `path` is under the provider's base URL (providers/base-urls.ts). */
export const RequestTemplate = z
  .object({
    method: HttpMethod,
    path: z.string().regex(/^\//, 'a path under the provider base URL, starting with /'),
    query: z.record(z.string(), Template).optional(),
    headers: z.record(z.string(), Template).optional(),
    basicAuth: z.object({ username: Template, password: Template }).strict().optional(),
    body: RequestBody.optional(),
  })
  .strict();
export type RequestTemplate = z.infer<typeof RequestTemplate>;

/** Which secrets (or supplied parts) a check applies to, when a rule's formats need different calls. */
export const AppliesTo = z
  .object({
    secretPrefixes: z.array(z.string().min(1)).min(1).optional(),
    partPrefixes: z.record(z.string(), z.array(z.string().min(1)).min(1)).optional(),
  })
  .strict();
export type AppliesTo = z.infer<typeof AppliesTo>;

const checkFields = {
  parts: z.record(z.string().regex(PART_NAME, 'part names are identifiers'), LivenessPart).default({}),
  appliesTo: AppliesTo.optional(),
  request: RequestTemplate,
  /**
   * Answers meaning the key authenticates. A 2xx matcher must also say what the body holds (json,
   * bodyIncludes or bodyIsJson): a captive portal or a proxy's login page answers 200 too.
   */
  live: z
    .array(
      AnswerMatcher.refine((m) => !m.status.some((s) => s >= 200 && s < 300) || m.json || m.bodyIncludes || m.bodyIsJson, {
        message: 'a 2xx live answer must name what its body holds (json, bodyIncludes or bodyIsJson)',
      }),
    )
    .min(1),
  /** Answers meaning the key no longer authenticates. Never matched on 5xx, 429 or a redirect. */
  revoked: z.array(AnswerMatcher).min(1),
  /** Answers that say nothing either way (checked first: rate limits in disguise, SSO walls). */
  unknown: z.array(AnswerMatcher).default([]),
  /**
   * `after-live`: a `revoked` answer cannot tell a dead key from a mismatched pair (Twilio answers
   * 401 to a wrong SID as to a revoked token), so the caller believes it only for a pair it has seen
   * `live` before. @defaultValue `always`
   */
  revokedTrust: z.enum(['always', 'after-live']).default('always'),
  note: z.string().optional(),
};

export const HttpLivenessCheck = z.object({ type: z.literal('http'), ...checkFields }).strict();

/** An AWS query-API call signed with SigV4 (providers/sign.ts, @smithy/signature-v4). */
export const AwsSigV4LivenessCheck = z
  .object({
    type: z.literal('aws-sigv4'),
    ...checkFields,
    service: z.string().min(1),
    region: z.string().min(1),
    credentials: z.object({ accessKeyId: Template, secretAccessKey: Template, sessionToken: Template.optional() }).strict(),
  })
  .strict();

function templatesOfBody(body: RequestBody | undefined, out: string[]): void {
  if (!body) return;
  if ('form' in body) out.push(...Object.values(body.form));
  else if ('text' in body) out.push(body.text);
  else {
    const walk = (v: unknown): void => {
      if (typeof v === 'string') out.push(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
    };
    walk(body.json);
  }
}

/** Every template string of a request (path, query, headers, basic auth, body). */
export function requestTemplates(req: RequestTemplate): string[] {
  const out = [req.path, ...Object.values(req.query ?? {}), ...Object.values(req.headers ?? {})];
  if (req.basicAuth) out.push(req.basicAuth.username, req.basicAuth.password);
  templatesOfBody(req.body, out);
  return out;
}

/** Flags placeholders other than `secret` and declared `parts.<name>`. */
function checkPlaceholders(
  templates: readonly string[],
  parts: Record<string, unknown>,
  appliesTo: AppliesTo | undefined,
  ctx: z.RefinementCtx,
): void {
  for (const t of templates) {
    for (const name of templatePlaceholders(t)) {
      if (name === 'secret') continue;
      const m = /^parts\.(.+)$/.exec(name);
      if (m && Object.hasOwn(parts, m[1]!)) continue;
      ctx.addIssue({
        code: 'custom',
        message: m
          ? `template ${JSON.stringify(t)} uses {{${name}}} but no part "${m[1]}" is declared under parts`
          : `template ${JSON.stringify(t)} uses {{${name}}}; only {{secret}} and {{parts.<name>}} exist`,
      });
    }
  }
  for (const name of Object.keys(appliesTo?.partPrefixes ?? {})) {
    if (!Object.hasOwn(parts, name)) ctx.addIssue({ code: 'custom', message: `appliesTo names undeclared part "${name}"` });
  }
}

export const LivenessCheck = z
  .discriminatedUnion('type', [HttpLivenessCheck, AwsSigV4LivenessCheck])
  .superRefine((check, ctx) => {
    const templates = requestTemplates(check.request);
    if (check.type === 'aws-sigv4') {
      const c = check.credentials;
      templates.push(c.accessKeyId, c.secretAccessKey, ...(c.sessionToken ? [c.sessionToken] : []));
    }
    checkPlaceholders(templates, check.parts, check.appliesTo, ctx);
  });
export type LivenessCheck = z.infer<typeof LivenessCheck>;

/**
 * Revocation by keywarden itself (GitHub `POST /credentials/revoke`, Slack `auth.revoke`, GitLab
 * `DELETE /personal_access_tokens/self`): the same request template; the answer is `accepted` (the
 * provider took the revocation, or says the key is already dead), `rejected` (it refused), or unknown.
 * A revocation is always confirmed afterwards with the rule's liveness check.
 */
export const RevocationPlan = z
  .object({
    type: z.literal('http'),
    parts: checkFields.parts,
    appliesTo: AppliesTo.optional(),
    request: RequestTemplate,
    accepted: z.array(AnswerMatcher).min(1),
    rejected: z.array(AnswerMatcher).default([]),
    unknown: z.array(AnswerMatcher).default([]),
    note: z.string().optional(),
  })
  .strict()
  .superRefine((plan, ctx) => checkPlaceholders(requestTemplates(plan.request), plan.parts, plan.appliesTo, ctx));
export type RevocationPlan = z.infer<typeof RevocationPlan>;

/** A single object in YAML reads as a one-item list, so consumers always get arrays. */
const oneOrMany = (v: unknown): unknown => (v === undefined || Array.isArray(v) ? v : [v]);

/** One check, or several told apart by `appliesTo` (Cloudflare's cfut_/cfat_/cfk_ in one rule). */
export const Liveness = z.preprocess(oneOrMany, z.array(LivenessCheck).min(1));
export type Liveness = z.infer<typeof Liveness>;
export const Revocation = z.preprocess(oneOrMany, z.array(RevocationPlan).min(1));
export type Revocation = z.infer<typeof Revocation>;

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

/** A rule's own allowlist: the shared one, and the names its matches' values may be assigned to. */
export const RuleAllowlist = Allowlist.extend({
  /**
   * RE2 patterns matched against the name the value is assigned to: the match's text before the
   * secret, from the start of the name the match begins in (`authenticity_token: "`,
   * `name="csrfmiddlewaretoken" value="`). For values whose name says they are no credential
   * (anti-forgery nonces, page cursors).
   */
  names: z.array(z.string().min(1)).default([]),
}).strict();

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
    /** RE2 syntax. Should start at its literal anchor (how a pattern starts decides its speed: docs/benchmarks.md, design measurements). */
    pattern: z.string().min(1),
    /** Capture group holding the secret; 0 = the whole match. */
    secretGroup: z.number().int().min(0).default(0),
    /**
     * Literals (3+ chars, matched case-insensitively) of which one must occur near a match. Only a
     * rule with `paths` may have none: it then runs on the whole of every file its paths select.
     */
    keywords: z
      .array(z.string().min(3, 'keywords need 3+ characters (shorter ones occur in most files: see docs/benchmarks.md)'))
      .default([]),
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
        /**
         * Every match starts at a keyword hit (the pattern begins with the keyword): the engine then
         * tries the pattern once, anchored, at each hit instead of searching merged windows.
         */
        anchored: z.boolean().optional(),
      })
      .strict()
      .optional(),
    allowlist: RuleAllowlist.optional(),
    /** Templates that must match; the secret is marked «…»; `{base62:30}` etc. expand at test time. */
    examples: z.array(z.string().min(1)).min(1),
    /** Templates that must not produce a finding. */
    negatives: z.array(z.string().min(1)).default([]),
    references: z.array(z.string().url()).default([]),
    liveness: Liveness.optional(),
    revocation: Revocation.optional(),
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
