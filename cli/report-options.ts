// What every report-writing command shares: picking the format from the flags, the context filter,
// and the exit code a report gives.
import { KeywardenError } from '../errors/error.js';
import type { Finding } from '../model/finding.js';
import { excludeContexts, FINDING_CONTEXTS, parseContextList } from '../scanner/context.js';
import type { Report } from '../scanner/report.js';
import { REPORT_FORMATS, type ReportFormat } from '../scanner/reporters/index.js';

/** The flags every report-writing command takes (scan, history, diff, staged). */
export interface ReportFlags {
  format?: string;
  output?: string;
  config?: string;
  baseline?: string;
  showSecrets?: boolean;
  maxFileSize?: string;
  /** `--exclude-context test,docs`: drop occurrences in files of these kinds (scanner/context.ts). */
  excludeContext?: string;
}

/** The `--exclude-context` option's help text, shared by scan, history, diff and staged. */
export const EXCLUDE_CONTEXT_HELP = `drop findings in files of these kinds, comma-separated: ${FINDING_CONTEXTS.filter((c) => c !== 'code').join(', ')}`;

/**
 * `--exclude-context` as a filter over findings: occurrences whose context is listed are dropped,
 * and a finding left with none. Parsed at once, so a bad flag fails before an hour of history.
 */
export function contextFilter(flag: string | undefined): (findings: readonly Finding[]) => Finding[] {
  if (flag === undefined) return (findings) => [...findings];
  const { contexts, unknown } = parseContextList(flag);
  if (unknown.length > 0 || contexts.size === 0) {
    throw new KeywardenError(
      'KW_USAGE',
      `--exclude-context takes ${FINDING_CONTEXTS.join(', ')} (comma-separated); got ${JSON.stringify(flag)}`,
    );
  }
  return (findings) => excludeContexts(findings, contexts);
}

/** Exit 1 when the report holds a credential; `info` entries (hashes, public keys) fail nothing. */
export function exitCodeFor(report: Report): number {
  return report.findings.some((f) => f.confidence !== 'info') ? 1 : 0;
}

/** `--format`, else from the `--output` extension; text for a person at a terminal, JSON for a program. */
export function pickFormat(flag: string | undefined, output: string | undefined): ReportFormat {
  if (flag) {
    if (!(REPORT_FORMATS as readonly string[]).includes(flag)) {
      throw new KeywardenError('KW_USAGE', `--format must be one of ${REPORT_FORMATS.join(', ')}; got ${JSON.stringify(flag)}`);
    }
    return flag as ReportFormat;
  }
  if (output?.endsWith('.sarif') || output?.endsWith('.sarif.json')) return 'sarif';
  if (output?.endsWith('.jsonl')) return 'jsonl';
  if (output?.endsWith('.json')) return 'json';
  return !output && process.stdout.isTTY ? 'text' : 'json';
}
