// The job summary (GITHUB_STEP_SUMMARY): what was scanned, a table of the findings (rule, file, line,
// commit, redacted preview), what to do, and what happened to the comments. Pure Markdown; run.ts
// writes it with @actions/core.
import { ignoreLine } from './comment-body.js';
import type { CommentOutcome } from './comments.js';
import type { FailOn } from './context.js';
import { code, commitLink, fenced, oneLine, table, text } from './markdown.js';
import type { ActionFinding, ScanFacts } from './scan-results.js';

export interface SummaryInput {
  /** One sentence saying what range was scanned. */
  scope: string;
  failOn: FailOn;
  failing: boolean;
  /** The findings shown (new ones; with `fail-on: any` the baseline's too). */
  shown: readonly ActionFinding[];
  newCount: number;
  suppressed: { ignore: number; baseline: number };
  facts: ScanFacts;
  notes: readonly string[];
  /** What happened to PR comments; a string when none were attempted (why), null when not a PR. */
  comments: CommentOutcome | string | null;
  repoHtmlUrl: string | null;
  sarifPath: string;
  fingerprintKeyOrigin: 'env' | 'repository';
}

export function renderSummary(s: SummaryInput): string {
  const out: string[] = [];
  const n = s.newCount;
  out.push(
    n === 0 && s.shown.length === 0
      ? '## keywarden: no new secrets'
      : `## keywarden: ${n} new secret${n === 1 ? '' : 's'}${s.shown.length > n ? ` (and ${s.shown.length - n} from the baseline)` : ''}`,
  );
  out.push('', `${s.scope} ${scanned(s.facts)}`);
  if (s.shown.length > 0) {
    const rows: string[][] = [];
    for (const f of s.shown) {
      for (const [i, l] of f.locations.entries()) {
        const status =
          f.suppressedBy === 'baseline'
            ? 'in the baseline'
            : f.head === 'present'
              ? 'in the head'
              : 'removed again, still in history';
        rows.push([
          code(f.ruleId),
          code(l.path),
          String(l.line),
          commitLink(l.commit, s.repoHtmlUrl),
          code(f.redacted),
          i === 0 ? status : 'same secret',
        ]);
      }
    }
    out.push('', table(['Rule', 'File', 'Line', 'Commit', 'Preview', 'Status'], rows));
    out.push(
      '',
      '**What to do.** Rotate each credential first: it leaked when it was pushed, whatever happens to this ' +
        'branch. Then remove it from the code, and from history (squash-merge, or rewrite the branch and force-push).',
      '',
      `**Not a secret?** Add its line to ${code('.keywardenignore')} at the repository root:`,
      '',
      fenced(s.shown.map((f) => ignoreLine(f))),
    );
  }
  out.push('', `Check: ${s.failing ? '**failed**' : 'passed'} (${code(`fail-on: ${s.failOn}`)}).`);
  if (s.comments !== null) out.push('', commentsLine(s.comments));
  const supp: string[] = [];
  if (s.suppressed.ignore > 0) supp.push(`${s.suppressed.ignore} by ${code('.keywardenignore')}`);
  if (s.suppressed.baseline > 0 && s.failOn !== 'any') supp.push(`${s.suppressed.baseline} by the baseline`);
  if (supp.length > 0) out.push('', `Not reported: ${supp.join(', ')}.`);
  const notes = [...s.notes, ...s.facts.warnings];
  if (s.facts.unreadable > 0) notes.push(`${s.facts.unreadable} object(s) could not be read; see the SARIF log's notifications.`);
  if (s.fingerprintKeyOrigin === 'repository')
    notes.push(
      `Fingerprints are keyed by this repository (no ${code('KEYWARDEN_FINGERPRINT_KEY')} secret is set, or this run cannot read it).`,
    );
  if (s.shown.length > 10)
    notes.push('GitHub shows at most 10 annotations of each level per step; this table and the SARIF log have every finding.');
  notes.push(`SARIF log: ${code(s.sarifPath)}.`);
  out.push('', ...notes.map((x) => `- ${oneLine(x)}`));
  return `${out.join('\n')}\n`;
}

function scanned(f: ScanFacts): string {
  const mb = f.bytes / 1e6;
  const size = mb >= 0.1 ? `${mb.toFixed(1)} MB` : `${Math.round(f.bytes / 1000)} kB`;
  return `${f.commits} commit${f.commits === 1 ? '' : 's'} walked, ${f.files} blob${f.files === 1 ? '' : 's'} (${size}) scanned.`;
}

function commentsLine(c: CommentOutcome | string): string {
  // Reasons are keywarden's own sentences (with code spans), not repository text.
  if (typeof c === 'string') return oneLine(c);
  const parts: string[] = [];
  if (c.created) parts.push(`${c.created} created`);
  if (c.updated) parts.push(`${c.updated} updated`);
  if (c.resolved) parts.push(`${c.resolved} thread${c.resolved === 1 ? '' : 's'} resolved`);
  if (c.reopened) parts.push(`${c.reopened} reopened`);
  if (c.unchanged) parts.push(`${c.unchanged} already up to date`);
  const head = `Comments: ${parts.length > 0 ? parts.join(', ') : 'nothing to do'}.`;
  const tail = [c.stopped, ...c.failures.map((x) => `Failed: ${text(x)}.`)].filter((x): x is string => !!x);
  return oneLine([head, ...tail].join(' '));
}
