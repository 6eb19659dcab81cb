// What every report-writing command shares: picking the format from the flags.
import { KeywardenError } from '../errors/error.js';
import { REPORT_FORMATS, type ReportFormat } from '../scanner/reporters/index.js';

/** The flags every report-writing command takes (scan, history, diff, staged). */
export interface ReportFlags {
  format?: string;
  output?: string;
  config?: string;
  baseline?: string;
  showSecrets?: boolean;
  maxFileSize?: string;
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
