// Keeps keywarden's pull-request comments in step with the findings: one comment per finding (on its
// head-side diff line, or in the conversation when it has none), found again on later runs by the
// hidden marker, updated only when its text changes, its review thread resolved when the secret
// leaves the head. `planComments` decides (pure); `applyComments` carries the plan out.
import { type BodyContext, type CommentState, commentBody, type Marker, marker, parseMarker } from './comment-body.js';
import {
  type Author,
  classifyFailure,
  describeFailure,
  type GitHubClient,
  type IssueComment,
  type PullRequestRef,
  type ReviewComment,
} from './github.js';
import type { ActionFinding } from './scan-results.js';

export interface ExistingComment {
  kind: 'review' | 'issue';
  id: number;
  body: string;
  marker: Marker;
}

export type CommentOp =
  | {
      op: 'create-review';
      fingerprint: string;
      path: string;
      line: number;
      body: string;
      /** Posted in the conversation instead if GitHub rejects the line (not part of the diff). */
      fallbackBody: string;
    }
  | { op: 'create-issue'; fingerprint: string; body: string }
  | { op: 'update'; kind: 'review' | 'issue'; id: number; fingerprint: string; body: string }
  /** Resolve (or reopen) the review thread a comment starts; only when its finding changes state. */
  | { op: 'thread'; commentId: number; fingerprint: string; resolved: boolean };

/**
 * Only comments that keywarden could have written count: by a bot (the Actions token posts as
 * github-actions[bot]) or by the token's own user (a PAT). A person pasting a marker into their
 * comment cannot silence keywarden's comment for a finding.
 */
export function keywardenComments(
  review: readonly ReviewComment[],
  issue: readonly IssueComment[],
  viewer: string | null,
): ExistingComment[] {
  const trusted = (a: Author | null) => a !== null && (a.type === 'Bot' || (viewer !== null && a.login === viewer));
  const out: ExistingComment[] = [];
  for (const c of review) {
    const m = parseMarker(c.body);
    if (m && c.inReplyTo === null && trusted(c.author)) out.push({ kind: 'review', id: c.id, body: c.body, marker: m });
  }
  for (const c of issue) {
    const m = parseMarker(c.body);
    if (m && trusted(c.author)) out.push({ kind: 'issue', id: c.id, body: c.body, marker: m });
  }
  return out;
}

/**
 * @param reported findings the check reports (new, not suppressed), each to have one comment
 * @param ignored findings `.keywardenignore` now suppresses (their comments say so)
 * @param existing keywarden's comments already on the PR; the oldest per fingerprint is the one kept
 * @param known every fingerprint the scan found, suppressed ones too: a comment for one of these
 *   is not "gone" (a baselined secret is still in the PR; its comment stays as it is)
 */
export function planComments(
  reported: readonly ActionFinding[],
  ignored: readonly ActionFinding[],
  existing: readonly ExistingComment[],
  ctx: Omit<BodyContext, 'placement'>,
  known: ReadonlySet<string> = new Set(),
): CommentOp[] {
  const byFp = new Map<string, ExistingComment>();
  for (const c of [...existing].sort((a, b) => a.id - b.id))
    if (!byFp.has(c.marker.fingerprint)) byFp.set(c.marker.fingerprint, c);
  const ops: CommentOp[] = [];
  const handled = new Set<string>();

  const restate = (c: ExistingComment, body: string, state: CommentState) => {
    if (c.body !== body) ops.push({ op: 'update', kind: c.kind, id: c.id, fingerprint: c.marker.fingerprint, body });
    // The thread follows the finding only when the finding changes, so a person's choice stands.
    const wasOpen = c.marker.state === 'open';
    const isOpen = state === 'open';
    if (c.kind === 'review' && wasOpen !== isOpen)
      ops.push({ op: 'thread', commentId: c.id, fingerprint: c.marker.fingerprint, resolved: !isOpen });
  };

  for (const f of reported) {
    handled.add(f.fingerprint);
    const state: CommentState = f.head === 'present' ? 'open' : 'removed';
    const c = byFp.get(f.fingerprint);
    if (c) {
      restate(c, commentBody(f, state, { ...ctx, placement: c.kind === 'review' ? 'line' : 'conversation' }), state);
      continue;
    }
    const at = f.locations[0]!;
    const conversation = commentBody(f, state, { ...ctx, placement: 'conversation' });
    if (state === 'open')
      ops.push({
        op: 'create-review',
        fingerprint: f.fingerprint,
        path: at.path,
        line: at.line,
        body: commentBody(f, state, { ...ctx, placement: 'line' }),
        fallbackBody: conversation,
      });
    else ops.push({ op: 'create-issue', fingerprint: f.fingerprint, body: conversation });
  }
  for (const f of ignored) {
    const c = byFp.get(f.fingerprint);
    if (!c || handled.has(f.fingerprint)) continue;
    handled.add(f.fingerprint);
    restate(c, commentBody(f, 'ignored', { ...ctx, placement: c.kind === 'review' ? 'line' : 'conversation' }), 'ignored');
  }
  for (const c of byFp.values()) {
    if (handled.has(c.marker.fingerprint) || known.has(c.marker.fingerprint)) continue;
    if (c.marker.state === 'gone' || c.marker.state === 'ignored') continue;
    restate(c, goneBody(c), 'gone');
  }
  return ops;
}

/** A finding no commit holds any more: only its old comment knows what it was; keep that, folded. */
function goneBody(c: ExistingComment): string {
  const old = c.body.split('\n').slice(1).join('\n');
  return [
    marker(c.marker.fingerprint, 'gone'),
    '### keywarden: no longer in this pull request',
    '',
    'No commit of this pull request holds this secret any more (the branch was rewritten). If it was a ' +
      'real credential, make sure it was rotated: it was public while it was pushed.',
    '',
    '<details><summary>What keywarden reported</summary>',
    '',
    old,
    '',
    '</details>',
  ].join('\n');
}

export interface CommentOutcome {
  created: number;
  updated: number;
  resolved: number;
  reopened: number;
  /** Findings whose comment already said the right thing. */
  unchanged: number;
  /** Why no (more) comments were written, for the summary; null when all went through. */
  stopped: string | null;
  /** Calls that failed without stopping the rest. */
  failures: string[];
}

/**
 * Lists keywarden's comments (every page), plans, and writes, one call at a time as GitHub asks of
 * integrations. A 403 (a fork's read-only token) stops all writing: the summary says why. A listing
 * that fails stops it too: without it, a re-run could not tell its own comments and would duplicate.
 */
export async function syncComments(
  client: GitHubClient,
  pr: PullRequestRef & { headSha: string; fork: boolean },
  reported: readonly ActionFinding[],
  ignored: readonly ActionFinding[],
  ctx: Omit<BodyContext, 'placement'>,
  known: ReadonlySet<string>,
): Promise<CommentOutcome> {
  const outcome: CommentOutcome = { created: 0, updated: 0, resolved: 0, reopened: 0, unchanged: 0, stopped: null, failures: [] };
  let existing: ExistingComment[];
  try {
    const [review, issue, viewer] = await Promise.all([
      client.listReviewComments(pr),
      client.listIssueComments(pr),
      client.viewerLogin(),
    ]);
    existing = keywardenComments(review, issue, viewer);
  } catch (err) {
    outcome.stopped = `keywarden could not list this pull request's comments (${describeFailure(err)}), so it wrote none rather than risk duplicates.`;
    return outcome;
  }
  const ops = planComments(reported, ignored, existing, ctx, known);
  const touched = new Set(ops.filter((o) => o.op !== 'thread').map((o) => o.fingerprint));
  outcome.unchanged = reported.filter((f) => !touched.has(f.fingerprint)).length;
  await applyComments(client, pr, ops, outcome);
  return outcome;
}

export async function applyComments(
  client: GitHubClient,
  pr: PullRequestRef & { headSha: string; fork: boolean },
  ops: readonly CommentOp[],
  outcome: CommentOutcome,
): Promise<void> {
  let threads: Map<number, { id: string; isResolved: boolean }> | null = null;
  for (const op of ops) {
    try {
      switch (op.op) {
        case 'create-review':
          try {
            await client.createReviewComment(pr, { body: op.body, commitId: pr.headSha, path: op.path, line: op.line });
          } catch (err) {
            // The line is not in the diff GitHub shows (too large, or a guess in scan-results.ts was wrong).
            if (classifyFailure(err) !== 'unprocessable') throw err;
            await client.createIssueComment(pr, op.fallbackBody);
          }
          outcome.created++;
          break;
        case 'create-issue':
          await client.createIssueComment(pr, op.body);
          outcome.created++;
          break;
        case 'update':
          if (op.kind === 'review') await client.updateReviewComment(pr, op.id, op.body);
          else await client.updateIssueComment(pr, op.id, op.body);
          outcome.updated++;
          break;
        case 'thread': {
          threads ??= await client.reviewThreads(pr);
          const t = threads.get(op.commentId);
          if (!t) {
            outcome.failures.push(`no review thread found for comment ${op.commentId}`);
            break;
          }
          if (t.isResolved === op.resolved) break;
          await client.setThreadResolved(t.id, op.resolved);
          t.isResolved = op.resolved;
          if (op.resolved) outcome.resolved++;
          else outcome.reopened++;
          break;
        }
        default: {
          const never: never = op;
          throw new Error(`unknown comment op ${JSON.stringify(never)}`);
        }
      }
    } catch (err) {
      if (classifyFailure(err) === 'forbidden') {
        outcome.stopped = pr.fork
          ? `No comments: this pull request comes from a fork, and GitHub gives a fork's workflow a read-only token (${describeFailure(err)}). The annotations and this summary list every finding, and the check fails all the same.`
          : `No comments: the token may not write to this pull request (${describeFailure(err)}). Give the job \`permissions: pull-requests: write\`. The annotations and this summary list every finding.`;
        return;
      }
      outcome.failures.push(`${op.op} for ${op.fingerprint}: ${describeFailure(err)}`);
    }
  }
}
