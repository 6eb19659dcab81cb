// The text of keywarden's pull-request comments, and the hidden marker that lets a later run find its
// own comment for a finding among everyone else's. Pure: the same finding and state always give the
// same body, so a re-run can tell "unchanged, leave it" from "update it".

import { code, commitLink, fenced, text } from './markdown.js';
import type { ActionFinding, Location } from './scan-results.js';

/**
 * What a comment currently says about its finding: `open` (in the head), `removed` (added and removed
 * inside the PR: still in history), `ignored` (`.keywardenignore` marks it a false positive),
 * `gone` (no longer in the PR's commits at all).
 */
export const COMMENT_STATES = ['open', 'removed', 'ignored', 'gone'] as const;
export type CommentState = (typeof COMMENT_STATES)[number];

const MARKER = /^<!-- keywarden:finding (kw\d+:[0-9a-f]{16,}) state=(open|removed|ignored|gone) -->/;

export interface Marker {
  fingerprint: string;
  state: CommentState;
}

/** The marker on a comment's first line, or null: a marker quoted later in a body does not count. */
export function parseMarker(body: string | null | undefined): Marker | null {
  const m = MARKER.exec(body ?? '');
  return m ? { fingerprint: m[1]!, state: m[2] as CommentState } : null;
}

export function marker(fingerprint: string, state: CommentState): string {
  return `<!-- keywarden:finding ${fingerprint} state=${state} -->`;
}

/** The exact `.keywardenignore` line that marks this finding a false positive (scanner/suppress.ts format). */
export function ignoreLine(f: Pick<ActionFinding, 'fingerprint' | 'ruleId' | 'locations'>): string {
  const where = f.locations[0]?.path ?? '';
  return `${f.fingerprint} # ${f.ruleId} in ${where.replace(/[\r\n]+/g, ' ')}: false positive`;
}

export interface BodyContext {
  /** `https://github.com/owner/repo`: commit links. */
  repoHtmlUrl: string | null;
  /** Where the comment sits: on the finding's diff line, or in the conversation (no diff line). */
  placement: 'line' | 'conversation';
}

const ROTATE =
  '**Rotate this credential first.** A secret pushed to a pull request has already leaked: it is in ' +
  "the repository's history, in every clone and fork, and in GitHub's views of this pull request, " +
  'whether or not it is merged. Deleting it in a later commit does not undo that.';

const STEPS = [
  '1. Revoke it with its provider and issue a new one; keep the new one in a secret store or an environment variable, not in the code.',
  '2. Remove it from the code on this branch.',
  '3. Remove it from history: squash-merge this pull request, or rewrite the branch (`git rebase -i`, or ' +
    '`git filter-repo --replace-text`) and force-push. A public repository may also need GitHub Support to purge cached views.',
];

export function commentBody(f: ActionFinding, state: CommentState, ctx: BodyContext): string {
  const at = f.locations[0]!;
  const head = `${marker(f.fingerprint, state)}\n`;
  const title = text(f.description);
  const facts = `${code(f.ruleId)} · preview ${code(f.redacted)} · confidence ${f.confidence}`;
  switch (state) {
    case 'open': {
      const where =
        ctx.placement === 'line'
          ? `Added in ${commitLink(at.commit, ctx.repoHtmlUrl)}.`
          : `In ${place(at, ctx)} (no line of the diff to comment on).`;
      return [
        `${head}### keywarden: ${title}`,
        '',
        `${facts}\n\n${where}${also(f.locations.slice(1), ctx)}`,
        '',
        ROTATE,
        '',
        ...STEPS,
        '',
        falsePositive(f),
      ].join('\n');
    }
    case 'removed':
      return [
        `${head}### keywarden: ${title}, added and removed in this pull request`,
        '',
        `${facts}\n\nAdded in ${place(at, ctx)}; a later commit of this pull request removed it, so it has no ` +
          'line in the diff. It is still in the branch history, and it leaked when it was pushed.' +
          also(f.locations.slice(1), ctx),
        '',
        ROTATE,
        '',
        STEPS[0]!,
        STEPS[2]!.replace(/^3\./, '2.'),
        '',
        falsePositive(f),
      ].join('\n');
    case 'ignored':
      return [
        `${head}### keywarden: ${title}, marked as a false positive`,
        '',
        `${facts}\n\n${code('.keywardenignore')} now lists this fingerprint, so keywarden no longer reports it.`,
      ].join('\n');
    case 'gone':
      return [
        `${head}### keywarden: ${title}, no longer in this pull request`,
        '',
        `${facts}\n\nNo commit of this pull request holds this secret any more (the branch was rewritten). ` +
          'If it was a real credential, make sure it was rotated: it was public while it was pushed.',
      ].join('\n');
    default: {
      const never: never = state;
      throw new Error(`unknown comment state ${String(never)}`);
    }
  }
}

function place(l: Location, ctx: BodyContext): string {
  return `${code(l.path)} line ${l.line} (commit ${commitLink(l.commit, ctx.repoHtmlUrl)})`;
}

function also(rest: readonly Location[], ctx: BodyContext): string {
  if (rest.length === 0) return '';
  const shown = rest.slice(0, 10).map((l) => place(l, ctx));
  const more = rest.length > 10 ? `, and ${rest.length - 10} more` : '';
  return ` Also in ${shown.join(', ')}${more}.`;
}

function falsePositive(f: ActionFinding): string {
  return [
    `**Not a secret?** Add this line to ${code('.keywardenignore')} at the repository root:`,
    '',
    fenced([ignoreLine(f)]),
  ].join('\n');
}
