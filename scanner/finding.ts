// The one `Finding` type (one occurrence of a secret identity), its `Provenance`, and the JSON report
// envelope. Every reporter, the future Redis store, job payloads and the HTTP API import these.
import { z } from 'zod';
import { FINDING_CONTEXTS } from './context.js';
import { SKIP_REASONS } from './skip-reasons.js';

/** Where the content came from: a discriminated union on `kind` (switch with a `never` check). */
export const Provenance = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('file') }).strict(),
  z.object({ kind: z.literal('stdin') }).strict(),
  z
    .object({
      kind: z.literal('git'),
      commit: z.string(),
      author: z.string(),
      email: z.string(),
      date: z.string(),
      message: z.string(),
    })
    .strict(),
  z.object({ kind: z.literal('dump'), offset: z.number().int().min(0) }).strict(),
  z.object({ kind: z.literal('log'), stream: z.string(), time: z.string().optional() }).strict(),
]);
export type Provenance = z.infer<typeof Provenance>;

export const Finding = z
  .object({
    ruleId: z.string(),
    description: z.string(),
    /** Relative to the scanned root, `/`-separated; `-` for stdin. */
    path: z.string(),
    /** 1-based. */
    line: z.number().int().min(1),
    /** 1-based, in UTF-16 code units (SARIF's default column unit). */
    column: z.number().int().min(1),
    endLine: z.number().int().min(1),
    /** 1-based, exclusive of the character after the secret (SARIF convention). */
    endColumn: z.number().int().min(1),
    /** Keyed HMAC-SHA256 of (rule id, secret): `kw1:` + 32 hex. The finding's identity. */
    fingerprint: z.string(),
    /** Redacted preview; never the secret. */
    redacted: z.string(),
    /** `info`: not a usable credential as found (a password hash, a key public by design). */
    confidence: z.enum(['high', 'medium', 'low', 'info']),
    /** What kind of file holds it, judged by path (scanner/context.ts); absent for dumps and logs. */
    context: z.enum(FINDING_CONTEXTS).optional(),
    /** Shannon entropy of the secret, bits per character. */
    entropy: z.number(),
    /** Set when the secret was found inside decoded text; line/column point at the encoded text. */
    encoding: z.enum(['base64', 'percent']).optional(),
    /** Present only when the user asked with `--show-secrets`. */
    secret: z.string().optional(),
    source: Provenance,
  })
  .strict();
export type Finding = z.infer<typeof Finding>;

export const SkipReason = z.enum(SKIP_REASONS);
export type SkipReason = z.infer<typeof SkipReason>;

export const ScanStats = z
  .object({
    files: z.number().int(),
    bytes: z.number().int(),
    /** Every skipped file is counted under its reason. */
    skipped: z.partialRecord(SkipReason, z.number().int()),
    durationMs: z.number(),
    /** Files that could not be read, with the error code (no content). */
    errors: z.array(z.object({ path: z.string(), code: z.string(), message: z.string() }).strict()).default([]),
  })
  .strict();
export type ScanStats = z.infer<typeof ScanStats>;

export const Report = z
  .object({
    version: z.literal(1),
    tool: z.object({ name: z.literal('keywarden'), version: z.string() }).strict(),
    findings: z.array(Finding),
    stats: ScanStats,
  })
  .strict();
export type Report = z.infer<typeof Report>;
