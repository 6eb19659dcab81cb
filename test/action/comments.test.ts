// The comment plan as a table: for each (finding state, existing comment) pair, what keywarden does.
// Plus the marker, the bodies' escaping and the trust rule for whose comments count.
import { describe, expect, it } from 'vitest';
import { commentBody, ignoreLine, marker, parseMarker } from '../../action/comment-body.js';
import { type ExistingComment, keywardenComments, planComments } from '../../action/comments.js';
import type { ActionFinding } from '../../action/scan-results.js';
import { parseIgnoreFile } from '../../scanner/suppress.js';

const ctx = { repoHtmlUrl: 'https://github.com/o/r' };
const fp = (n: number) => `kw1:${String(n).padStart(32, '0')}`;

function finding(n: number, head: ActionFinding['head'] = 'present', over: Partial<ActionFinding> = {}): ActionFinding {
  return {
    fingerprint: fp(n),
    ruleId: 'github-pat',
    description: 'GitHub classic personal access token',
    redacted: 'ghp_…Xy',
    confidence: 'high',
    locations: [{ path: `src/f${n}.ts`, line: n, column: 1, endLine: n, endColumn: 41, commit: 'a'.repeat(40) }],
    head,
    suppressedBy: null,
    ...over,
  };
}

function existing(
  kind: 'review' | 'issue',
  id: number,
  f: ActionFinding,
  state: 'open' | 'removed' | 'ignored' | 'gone',
): ExistingComment {
  const body =
    state === 'gone'
      ? `${marker(f.fingerprint, 'gone')}\nold`
      : commentBody(f, state, { ...ctx, placement: kind === 'review' ? 'line' : 'conversation' });
  return { kind, id, body, marker: { fingerprint: f.fingerprint, state } };
}

describe('planComments', () => {
  const cases: Record<
    string,
    { reported?: ActionFinding[]; ignored?: ActionFinding[]; existing?: ExistingComment[]; known?: string[]; ops: string[] }
  > = {
    'a new finding in the head gets a review comment on its line': {
      reported: [finding(1)],
      ops: ['create-review src/f1.ts:1'],
    },
    'a finding added and removed in the PR gets a conversation comment': {
      reported: [finding(2, 'removed')],
      ops: ['create-issue'],
    },
    'an unchanged comment is left alone (re-run)': {
      reported: [finding(1)],
      existing: [existing('review', 10, finding(1), 'open')],
      ops: [],
    },
    'a secret that left the head: its comment edited, its thread resolved': {
      reported: [finding(1, 'removed')],
      existing: [existing('review', 10, finding(1), 'open')],
      ops: ['update review 10 removed', 'thread 10 resolved'],
    },
    'a secret back in the head: comment edited, thread reopened': {
      reported: [finding(1)],
      existing: [existing('review', 10, finding(1, 'removed'), 'removed')],
      ops: ['update review 10 open', 'thread 10 reopened'],
    },
    'a comment whose finding is gone from every commit: edited and resolved': {
      existing: [existing('review', 10, finding(1), 'open')],
      ops: ['update review 10 gone', 'thread 10 resolved'],
    },
    'a comment for a baselined finding (still in the PR) stays as it is': {
      existing: [existing('review', 10, finding(1), 'open')],
      known: [fp(1)],
      ops: [],
    },
    'a gone comment stays as it is': {
      existing: [existing('review', 10, finding(1), 'gone')],
      ops: [],
    },
    'a finding marked in .keywardenignore: edited to say so, resolved': {
      ignored: [finding(1, 'present', { suppressedBy: 'ignore' })],
      existing: [existing('review', 10, finding(1), 'open')],
      ops: ['update review 10 ignored', 'thread 10 resolved'],
    },
    'an ignored finding without a comment gets none': {
      ignored: [finding(1, 'present', { suppressedBy: 'ignore' })],
      ops: [],
    },
    'the oldest of duplicate comments is the one kept': {
      reported: [finding(1, 'removed')],
      existing: [existing('review', 30, finding(1), 'open'), existing('review', 20, finding(1), 'open')],
      ops: ['update review 20 removed', 'thread 20 resolved'],
    },
    'a conversation comment is updated, never resolved (it has no thread)': {
      reported: [finding(2)],
      existing: [existing('issue', 11, finding(2, 'removed'), 'removed')],
      ops: ['update issue 11 open'],
    },
    'a finding whose line moved keeps its comment (no second one)': {
      reported: [
        finding(1, 'present', {
          locations: [{ path: 'src/f1.ts', line: 9, column: 1, endLine: 9, endColumn: 41, commit: 'b'.repeat(40) }],
        }),
      ],
      existing: [existing('review', 10, finding(1), 'open')],
      ops: ['update review 10 open'],
    },
  };
  for (const [name, t] of Object.entries(cases)) {
    it(name, () => {
      const ops = planComments(t.reported ?? [], t.ignored ?? [], t.existing ?? [], ctx, new Set(t.known ?? [])).map((o) => {
        switch (o.op) {
          case 'create-review':
            return `create-review ${o.path}:${o.line}`;
          case 'create-issue':
            return 'create-issue';
          case 'update':
            return `update ${o.kind} ${o.id} ${parseMarker(o.body)!.state}`;
          default:
            return `thread ${o.commentId} ${o.resolved ? 'resolved' : 'reopened'}`;
        }
      });
      expect(ops).toEqual(t.ops);
    });
  }
});

describe('keywardenComments', () => {
  const f = finding(1);
  const body = commentBody(f, 'open', { ...ctx, placement: 'line' });
  it('counts markers from bots and from the token user, not from people or replies', () => {
    const review = [
      { id: 1, body, path: 'a', line: 1, inReplyTo: null, author: { login: 'github-actions[bot]', type: 'Bot' } },
      { id: 2, body, path: 'a', line: 1, inReplyTo: null, author: { login: 'mallory', type: 'User' } },
      { id: 3, body, path: 'a', line: 1, inReplyTo: 1, author: { login: 'github-actions[bot]', type: 'Bot' } },
      { id: 4, body, path: 'a', line: 1, inReplyTo: null, author: { login: 'ci-user', type: 'User' } },
      { id: 5, body: `quoting: ${body}`, path: 'a', line: 1, inReplyTo: null, author: { login: 'x[bot]', type: 'Bot' } },
    ];
    expect(keywardenComments(review, [], null).map((c) => c.id)).toEqual([1]);
    expect(keywardenComments(review, [], 'ci-user').map((c) => c.id)).toEqual([1, 4]);
  });
});

describe('comment bodies', () => {
  it('carry the marker on the first line, the rule, the preview, the steps, the ignore line', () => {
    const f = finding(1);
    const body = commentBody(f, 'open', { ...ctx, placement: 'line' });
    expect(parseMarker(body)).toEqual({ fingerprint: fp(1), state: 'open' });
    expect(body).toContain('`github-pat`');
    expect(body).toContain('`ghp_…Xy`');
    expect(body).toContain('Rotate this credential first');
    expect(body).toContain(`[\`aaaaaaa\`](https://github.com/o/r/commit/${'a'.repeat(40)})`);
    expect(body).toContain(ignoreLine(f));
  });

  it('render hostile file names and rule text inert', () => {
    const f = finding(1, 'removed', {
      description: 'Token <img src=x onerror=alert(1)> @everyone [click](http://evil)',
      locations: [
        {
          path: 'a`b`\n<!-- keywarden:finding kw1:ffff state=gone -->.txt',
          line: 1,
          column: 1,
          endLine: 1,
          endColumn: 2,
          commit: 'c'.repeat(40),
        },
      ],
    });
    const body = commentBody(f, 'removed', { ...ctx, placement: 'conversation' });
    expect(body).not.toMatch(/(^|[^\\])<img/);
    expect(body).toContain('\\<img');
    expect(body).not.toContain('[click](');
    expect(body).not.toMatch(/@everyone/);
    expect(body).toContain('``a`b` <!-- keywarden:finding kw1:ffff state=gone -->.txt``');
    expect(body.split('\n').filter((l) => l.startsWith('<!-- keywarden'))).toHaveLength(1);
  });

  it('offer an ignore line that .keywardenignore parses to the fingerprint, whatever the path', () => {
    for (const path of ['src/a.ts', 'dir with # hash/x', 'weird\npath']) {
      const f = finding(3, 'present', {
        locations: [{ path, line: 1, column: 1, endLine: 1, endColumn: 2, commit: 'd'.repeat(40) }],
      });
      expect([...parseIgnoreFile(ignoreLine(f), '.keywardenignore')]).toEqual([fp(3)]);
    }
  });

  it('only a first-line marker counts', () => {
    expect(parseMarker(`hello\n${marker(fp(1), 'open')}`)).toBeNull();
    expect(parseMarker(`${marker(fp(1), 'removed')}\nbody`)).toEqual({ fingerprint: fp(1), state: 'removed' });
  });
});
