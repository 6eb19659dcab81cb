// Text reporter, for a person at a terminal: findings grouped under their file, then one summary
// line. Everything taken from scanned content is escaped, so a file name or secret holding control
// characters cannot move the cursor or recolour the terminal.
import type { Report, ReportEntry, SkipReason } from '../report.js';

export interface TextOptions {
  /** ANSI colours; the caller decides (a TTY and no `--output`). */
  color: boolean;
}

type Paint = (code: string, s: string) => string;

/** ReportEntrys by path (sorted), each `  line:col  ruleId  preview  (confidence)`, then the summary. */
export function renderText(report: Report, opts: TextOptions): string {
  const paint: Paint = opts.color ? (code, s) => `\x1b[${code}m${s}\x1b[0m` : (_code, s) => s;
  const byPath = new Map<string, ReportEntry[]>();
  for (const f of report.findings) {
    const list = byPath.get(f.path);
    if (list) list.push(f);
    else byPath.set(f.path, [f]);
  }

  const out: string[] = [];
  for (const path of [...byPath.keys()].sort()) {
    const findings = byPath
      .get(path)!
      .slice()
      .sort((a, b) => a.line - b.line || a.column - b.column || a.ruleId.localeCompare(b.ruleId));
    // Pad within the file so the columns line up without measuring the whole report.
    const where = findings.map((f) => `${f.line}:${f.column}`);
    const whereWidth = Math.max(...where.map((w) => w.length));
    const ruleWidth = Math.max(...findings.map((f) => printable(f.ruleId).length));
    out.push(paint('1;4', printable(path === '-' ? '(stdin)' : path)));
    findings.forEach((f, i) => {
      const shown = f.secret !== undefined ? paint('1;31', printable(f.secret)) : printable(f.redacted);
      const context = f.context !== undefined && f.context !== 'code' ? `[${f.context}]` : '';
      const extra = [context, f.encoding ? `[${f.encoding}]` : '', origin(f)].filter(Boolean).join(' ');
      out.push(
        `  ${paint('2', where[i]!.padEnd(whereWidth))}  ${paint('36', printable(f.ruleId).padEnd(ruleWidth))}  ${shown}  ${paint(CONFIDENCE_COLOUR[f.confidence], `(${f.confidence})`)}${extra ? `  ${paint('2', printable(extra))}` : ''}`,
      );
    });
    out.push('');
  }
  out.push(summary(report, paint));
  return `${out.join('\n')}\n`;
}

const CONFIDENCE_COLOUR: Record<ReportEntry['confidence'], string> = { high: '31', medium: '33', low: '2', info: '2' };

const SKIP_LABEL: Record<SkipReason, string> = {
  binary: 'binary',
  tooLarge: 'too large',
  unreadable: 'unreadable',
  excluded: 'excluded',
  symlink: 'symlink',
};

function origin(f: ReportEntry): string {
  const s = f.source;
  switch (s.kind) {
    case 'file':
    case 'stdin':
      return '';
    case 'git':
      return `commit ${s.commit.slice(0, 12)} ${s.author} ${s.date}`;
    case 'dump':
      return `offset ${s.offset}`;
    case 'log':
      return `stream ${s.stream}${s.time ? ` ${s.time}` : ''}`;
    case 'github-alert':
      return `GitHub alert ${s.repo}#${s.alert}${s.commit ? ` commit ${s.commit.slice(0, 12)}` : ''}`;
    default: {
      const never: never = s;
      return never;
    }
  }
}

function summary(report: Report, paint: Paint): string {
  const { stats, findings } = report;
  const files = new Set(findings.map((f) => f.path)).size;
  const head =
    findings.length === 0
      ? paint('1;32', 'No secrets found')
      : paint('1;31', `${plural(findings.length, 'finding')} in ${plural(files, 'file')}`);
  const parts = [
    head,
    `scanned ${plural(stats.files, 'file')}, ${(stats.bytes / 1e6).toFixed(2)} MB in ${(stats.durationMs / 1000).toFixed(2)} s`,
  ];
  const skipped = (Object.keys(SKIP_LABEL) as SkipReason[])
    .filter((k) => (stats.skipped[k] ?? 0) > 0)
    .map((k) => `${stats.skipped[k]} ${SKIP_LABEL[k]}`);
  if (skipped.length > 0) parts.push(`skipped ${skipped.join(', ')}`);
  return parts.join(' · ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** C0/C1 controls and DEL as `\xNN` (`\n`, `\t`, `\r` as themselves escaped), the rest unchanged. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
