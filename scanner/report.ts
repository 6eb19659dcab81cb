// The JSON report: the contract a program reads (README "Report formats"), one entry per occurrence,
// built from the finding model's own fields (model/finding.ts). Schemas only, for `--baseline` to read
// a report back; reporters import the types, so a scan never loads zod (scanner/reporters/entries.ts
// builds the entries).
import { z } from 'zod';
import { Finding, Occurrence, Span } from '../model/finding.js';
import {
  DumpProvenance,
  FileProvenance,
  GitHubAlertProvenance,
  GitProvenance,
  LogProvenance,
  StdinProvenance,
} from '../model/provenance.js';
import { SKIP_REASONS } from './skip-reasons.js';

/** An occurrence's provenance as a report entry's `source`: everything but the path, which the entry has. */
export const ReportSource = z.discriminatedUnion('kind', [
  FileProvenance.omit({ path: true }),
  StdinProvenance,
  GitProvenance.omit({ path: true }),
  DumpProvenance.omit({ path: true }),
  LogProvenance,
  GitHubAlertProvenance.omit({ path: true }),
]);
export type ReportSource = z.infer<typeof ReportSource>;

const F = Finding.shape;
const S = Span.shape;

/** One occurrence of a finding, flat: the finding's identity fields, then where, then the source. */
export const ReportEntry = z
  .object({
    ruleId: F.ruleId,
    description: F.description,
    /** Relative to the scanned root, `/`-separated; `-` for stdin; the stream name for logs. */
    path: z.string(),
    line: S.line,
    column: S.column,
    endLine: S.endLine,
    endColumn: S.endColumn,
    fingerprint: F.fingerprint,
    redacted: F.redacted,
    confidence: F.confidence,
    /** What kind of file holds it (`code`, `test`, `fixture`, `docs`, `example`); absent for stdin and logs. */
    context: Occurrence.shape.context,
    entropy: F.entropy,
    encoding: Occurrence.shape.encoding,
    secret: F.secret,
    source: ReportSource,
  })
  .strict();
export type ReportEntry = z.infer<typeof ReportEntry>;

export const SkipReason = z.enum(SKIP_REASONS);
export type SkipReason = z.infer<typeof SkipReason>;

export const ScanStats = z
  .object({
    files: z.number().int(),
    bytes: z.number().int(),
    /** Every skipped file is counted under its reason. */
    skipped: z.partialRecord(SkipReason, z.number().int()),
    durationMs: z.number(),
    /** Files that could not be read (or not to the end), with the error code (no content). */
    errors: z.array(z.object({ path: z.string(), code: z.string(), message: z.string() }).strict()).default([]),
  })
  .strict();
export type ScanStats = z.infer<typeof ScanStats>;

export const Report = z
  .object({
    version: z.literal(1),
    tool: z.object({ name: z.literal('keywarden'), version: z.string() }).strict(),
    findings: z.array(ReportEntry),
    stats: ScanStats,
  })
  .strict();
export type Report = z.infer<typeof Report>;
