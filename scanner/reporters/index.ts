// Picks the reporter for `--format`: every format renders the same `Report` (scanner/report.ts), whose
// entries reporters/entries.ts builds from the findings.
import { KeywardenError } from '../../errors/error.js';
import type { Report } from '../report.js';
import { renderJson, renderJsonl } from './json.js';
import { renderSarif, type SarifRuleInfo } from './sarif.js';
import { renderText } from './text.js';

export const REPORT_FORMATS = ['text', 'json', 'jsonl', 'sarif'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface RenderContext {
  /** The rules that ran; SARIF lists them as `driver.rules`. @defaultValue `[]` */
  rules?: readonly SarifRuleInfo[];
  /** ANSI colour in the text format. @defaultValue `false` */
  color?: boolean;
}

/** The report as the text to write (ends with a newline unless it is empty JSON Lines). */
export function render(format: ReportFormat, report: Report, ctx: RenderContext = {}): string {
  switch (format) {
    case 'text':
      return renderText(report, { color: ctx.color ?? false });
    case 'json':
      return renderJson(report);
    case 'jsonl':
      return renderJsonl(report.findings);
    case 'sarif':
      return renderSarif(report, ctx.rules ?? []);
    default: {
      const never: never = format;
      throw new KeywardenError('KW_USAGE', `unknown report format ${JSON.stringify(never)}`);
    }
  }
}

export { type EntryOrder, reportEntries, reportEntry, reportSource, toReport } from './entries.js';
export { renderJson, renderJsonl } from './json.js';
export type { SarifRuleInfo } from './sarif.js';
export { renderSarif } from './sarif.js';
export { renderText } from './text.js';
