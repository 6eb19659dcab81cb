// YAML text → plain data for the config file, with syntax errors by line and column. Loaded only
// when a config file exists (file.ts), so a scan without one never loads the YAML parser.
import { LineCounter, parseDocument } from 'yaml';
import { configInvalid } from './problems.js';

/** Parses `text`; `file` names it in messages. Duplicate keys are errors (the second would win silently). */
export function parseYaml(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Line and column only: YAML's pretty errors quote the source line, which may hold a secret.
    throw configInvalid(
      file,
      doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return `${file}:${line}:${col}: YAML syntax error: ${firstLine(e.message)}`;
      }),
    );
  }
  return doc.toJS() ?? {};
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i === -1 ? s : s.slice(0, i);
}
