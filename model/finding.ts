// The one finding model (Nosey Parker's and Kingfisher's shape): a `Finding` is one secret identity,
// a rule plus the keyed hash of the secret, with many `Occurrence`s, each a provenance and a span.
// Scanners make them, reporters flatten them, the store keeps them, jobs and the API name them. Rotation
// and the lifecycle work per finding, never per occurrence. A leaf: zod and the rule schema only; the
// functions over these types are model/occurrence.ts's, which the scan path loads without zod.
import { z } from 'zod';
import { Confidence } from '../rules/schema.js';
import { FINDING_CONTEXTS } from './context.js';
import { Provenance } from './provenance.js';

export { Provenance } from './provenance.js';

/** A finding's identity as scanner/fingerprint.ts makes it: `kw1:` + 32 hex (128 bits of a keyed HMAC-SHA256). */
export const Fingerprint = z.string().regex(/^kw1:[0-9a-f]{32}$/, 'a fingerprint is kw1: followed by 32 hex digits');
export type Fingerprint = z.infer<typeof Fingerprint>;

/**
 * Where a finding is in its lifecycle; every finding a scan makes starts `detected`. The legal moves
 * between states are workers/lifecycle.ts's table.
 */
export const FindingState = z.enum([
  'detected',
  'rotation_requested',
  'rotated',
  'revocation_pending',
  'revoked',
  'false_positive',
  'accepted_risk',
  'escalated',
]);
export type FindingState = z.infer<typeof FindingState>;

/** How the secret was stored where it was found, when it was not plain text. */
export const Encoding = z.enum(['base64', 'percent']);
export type Encoding = z.infer<typeof Encoding>;

/**
 * A finding's confidence: its rule's (`high`, `medium`, `low`), or `info` for a match that is no
 * usable credential as found: a password hash (it must be cracked first) or a key public by design
 * (rule `kind: hash | public`). `info` findings are reported (SARIF level `none`) and fail no scan.
 */
export const FindingConfidence = z.enum([...Confidence.options, 'info']);
export type FindingConfidence = z.infer<typeof FindingConfidence>;

/**
 * What kind of file holds an occurrence, judged from its path (scanner/context.ts): `test`,
 * `fixture`, `docs`, `example`, else `code`. A key in a test can be live, so such occurrences are
 * still reported; the context ranks them, and `--exclude-context` drops them.
 */
export const OccurrenceContext = z.enum(FINDING_CONTEXTS);
export type OccurrenceContext = z.infer<typeof OccurrenceContext>;

/**
 * Where in the content the secret lies. 1-based lines and columns; columns count UTF-16 code units
 * (SARIF's default), byte columns for dumps (a dump has no character encoding); `endColumn` is
 * exclusive (SARIF convention).
 */
export const Span = z
  .object({
    line: z.number().int().min(1),
    column: z.number().int().min(1),
    endLine: z.number().int().min(1),
    endColumn: z.number().int().min(1),
  })
  .strict();
export type Span = z.infer<typeof Span>;

/** One place a secret was seen. */
export const Occurrence = z
  .object({
    provenance: Provenance,
    span: Span,
    /** Set when the secret was found inside decoded text; the span then points at the encoded text. */
    encoding: Encoding.optional(),
    /** Absent where the content has no path that says what it is (stdin, log streams, unnamed dumps). */
    context: OccurrenceContext.optional(),
  })
  .strict();
export type Occurrence = z.infer<typeof Occurrence>;

/** One secret identity and where it was seen. */
export const Finding = z
  .object({
    /** Keyed HMAC of (rule id, secret): the identity baselines, ignore files and the store compare. */
    fingerprint: Fingerprint,
    ruleId: z.string(),
    description: z.string(),
    confidence: FindingConfidence,
    /** Redacted preview (scanner/redact.ts); never the secret. */
    redacted: z.string(),
    /** Shannon entropy of the secret, bits per character. */
    entropy: z.number(),
    /** Present only when the user asked with `--show-secrets`; never stored, logged or sent. */
    secret: z.string().optional(),
    /**
     * Both halves of a paired credential found as a pair (rules/schema.ts `pair`), under the rule's
     * `pair.parts` names, for a liveness check that needs both (AWS SigV4 signs with the key id and
     * the secret). Present only with `secret`, in memory: never stored, reported, logged or sent.
     */
    parts: z.record(z.string(), z.string()).optional(),
    state: FindingState,
    occurrences: z.array(Occurrence),
  })
  .strict();
export type Finding = z.infer<typeof Finding>;
