// JSON and JSON Lines reporters: the `Report` envelope as a program reads it, keys always in the
// order `scanner/report.ts` declares them, so that reports diff cleanly and golden files are stable.
// `--baseline` reads this output back with the `Report` schema.
import type { Report, ReportEntry } from '../report.js';
import { SKIP_REASONS } from '../skip-reasons.js';
import { reportSource } from './entries.js';

/** The whole report, pretty-printed (2 spaces), with a trailing newline. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(orderedReport(report), null, 2)}\n`;
}

/**
 * One entry (one occurrence) per line, each parsing with the `ReportEntry` schema, nothing else: no
 * stats line, so that every line has one shape and `jq`, `grep` and log shippers need no special
 * case. Use `json` for the stats. No findings: the empty string.
 */
export function renderJsonl(findings: readonly ReportEntry[]): string {
  return findings.map((f) => `${JSON.stringify(orderedFinding(f))}\n`).join('');
}

function orderedReport(r: Report): Report {
  return {
    version: r.version,
    tool: { name: r.tool.name, version: r.tool.version },
    findings: r.findings.map(orderedFinding),
    stats: {
      files: r.stats.files,
      bytes: r.stats.bytes,
      // Every reason, in the schema's order, so a consumer never has to default a missing count.
      skipped: Object.fromEntries(SKIP_REASONS.map((k) => [k, r.stats.skipped[k] ?? 0])) as Report['stats']['skipped'],
      durationMs: r.stats.durationMs,
      errors: (r.stats.errors ?? []).map((e) => ({ path: e.path, code: e.code, message: e.message })),
    },
  };
}

/** `secret` is copied only when the entry carries it (`--show-secrets`). */
function orderedFinding(f: ReportEntry): ReportEntry {
  const out: ReportEntry = {
    ruleId: f.ruleId,
    description: f.description,
    path: f.path,
    line: f.line,
    column: f.column,
    endLine: f.endLine,
    endColumn: f.endColumn,
    fingerprint: f.fingerprint,
    redacted: f.redacted,
    confidence: f.confidence,
    ...(f.context !== undefined ? { context: f.context } : {}),
    entropy: f.entropy,
    source: reportSource(f.source),
  };
  // Rebuilt rather than inserted so the optional keys sit where the schema has them, before `source`.
  if (f.encoding === undefined && f.secret === undefined) return out;
  const { source, ...head } = out;
  return {
    ...head,
    ...(f.encoding !== undefined ? { encoding: f.encoding } : {}),
    ...(f.secret !== undefined ? { secret: f.secret } : {}),
    source,
  };
}
