// `--baseline FILE`: a previous JSON report, validated with the report schema. Its own module so
// that a scan without a baseline never loads the schema library (entry points import it lazily).
import { readFileSync } from 'node:fs';
import { KeywardenError } from '../errors/error.js';
import { Report } from './report.js';
import { type Baseline, baselineKey } from './suppress.js';

/** Reads a JSON report written by `keywarden scan --format json`. Throws KW_BASELINE_INVALID naming the file. */
export function loadBaseline(path: string): Baseline {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new KeywardenError('KW_BASELINE_INVALID', `cannot read baseline ${path}: ${code}`, [], { cause: err });
  }
  return parseBaseline(text, path);
}

/** The pure half of loadBaseline. */
export function parseBaseline(text: string, file: string): Baseline {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // JSON.parse's message can quote the input (a report may carry secrets with --show-secrets).
    throw new KeywardenError('KW_BASELINE_INVALID', `baseline ${file} is not JSON (expected a report from --format json)`, [], {
      cause: err,
    });
  }
  const parsed = Report.safeParse(doc);
  if (!parsed.success) {
    const details = parsed.error.issues
      .slice(0, 20)
      .map((i) => `${file} > ${i.path.map(String).join('.') || '(top level)'}: ${i.message}`);
    throw new KeywardenError('KW_BASELINE_INVALID', `baseline ${file} is not a keywarden JSON report`, details);
  }
  return new Set(parsed.data.findings.map(baselineKey));
}
