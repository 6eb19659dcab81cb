// Findings → the report: one entry per occurrence (the JSON contract, scanner/report.ts), each the
// finding's identity fields plus where. The one place findings are flattened, for every format.

import { KeywardenError } from '../../errors/error.js';
import type { Finding, Occurrence, Provenance } from '../../model/finding.js';
import { pathOf } from '../../model/occurrence.js';
import type { Report, ReportEntry, ReportSource, ScanStats } from '../report.js';

/**
 * `location`: by path, line, column, rule (tree, stdin and dump scans); `finding`: as the findings
 * come, each one's occurrences together (git scans: in order of introduction, introducer first).
 */
export type EntryOrder = 'location' | 'finding';

export function reportEntries(findings: readonly Finding[], order: EntryOrder): ReportEntry[] {
  const out: ReportEntry[] = [];
  for (const f of findings) for (const o of f.occurrences) out.push(reportEntry(f, o));
  if (order === 'location') {
    out.sort(
      (a, b) =>
        (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
        a.line - b.line ||
        a.column - b.column ||
        a.ruleId.localeCompare(b.ruleId),
    );
  }
  return out;
}

export function toReport(findings: readonly Finding[], stats: ScanStats, toolVersion: string, order: EntryOrder): Report {
  return { version: 1, tool: { name: 'keywarden', version: toolVersion }, findings: reportEntries(findings, order), stats };
}

/** One occurrence as a report entry, keys in the schema's order; `secret` only when the finding carries it. */
export function reportEntry(f: Finding, o: Occurrence): ReportEntry {
  const e: ReportEntry = {
    ruleId: f.ruleId,
    description: f.description,
    path: pathOf(o.provenance),
    line: o.span.line,
    column: o.span.column,
    endLine: o.span.endLine,
    endColumn: o.span.endColumn,
    fingerprint: f.fingerprint,
    redacted: f.redacted,
    confidence: f.confidence,
    ...(o.context !== undefined ? { context: o.context } : {}),
    entropy: f.entropy,
    source: reportSource(o.provenance),
  };
  if (o.encoding === undefined && f.secret === undefined) return e;
  // Rebuilt rather than inserted so the optional keys sit where the schema has them, before `source`.
  const { source, ...head } = e;
  return {
    ...head,
    ...(o.encoding !== undefined ? { encoding: o.encoding } : {}),
    ...(f.secret !== undefined ? { secret: f.secret } : {}),
    source,
  };
}

/**
 * A provenance (or a report's source) as a report's `source`: without the path (the entry has it),
 * keys in the declared order, optional ones only when set. The one switch over kinds for reports.
 */
export function reportSource(s: Provenance | ReportSource): ReportSource {
  switch (s.kind) {
    case 'file':
    case 'stdin':
      return { kind: s.kind };
    case 'git': {
      const { repo, commit, author, email, date, message, location, ref } = s;
      return {
        kind: s.kind,
        ...(repo !== undefined ? { repo } : {}),
        commit,
        author,
        email,
        date,
        message,
        ...(location !== undefined ? { location } : {}),
        ...(ref !== undefined ? { ref } : {}),
      };
    }
    case 'dump':
      return { kind: s.kind, offset: s.offset };
    case 'log':
      return {
        kind: s.kind,
        stream: s.stream,
        ...(s.time !== undefined ? { time: s.time } : {}),
        ...(s.run !== undefined ? { run: s.run } : {}),
        ...(s.batch !== undefined ? { batch: s.batch } : {}),
      };
    case 'github-alert': {
      const { repo, alert, url, location, commit, locationUrl } = s;
      return {
        kind: s.kind,
        repo,
        alert,
        url,
        location,
        ...(commit !== undefined ? { commit } : {}),
        ...(locationUrl !== undefined ? { locationUrl } : {}),
      };
    }
    default: {
      const never: never = s;
      throw new KeywardenError('KW_INTERNAL', `unknown provenance kind ${(never as { kind: string }).kind}`);
    }
  }
}
