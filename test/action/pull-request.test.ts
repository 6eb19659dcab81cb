// `keywarden action` as a runner runs it (the built binary, the GITHUB_* environment, INPUT_* inputs)
// on a real pull request of 45 commits against a fake GitHub API (GitHub Enterprise Server paths, so
// GraphQL at /api/graphql) that already holds 150 comments by others: where comments land, re-runs,
// a push that removes a secret, a `.keywardenignore` line taken from a comment, and a fork.
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIgnoreFile } from '../../scanner/suppress.js';
import { FakeGitHub } from './fake-github.js';
import {
  checkout,
  commentableLines,
  git,
  githubPat,
  Origin,
  OWNER,
  type PullPayload,
  pullRequestPayload,
  REPO,
  type RunnerRun,
  runAction,
  TOKEN,
  tempDir,
} from './fixture.js';

const S = {
  base: githubPat(), // on main before the PR branched: not new
  early: githubPat(),
  transient: githubPat(), // added in commit 10, removed in commit 12
  middle: githubPat(),
  late: githubPat(),
  onMain: githubPat(), // main moved on after the branch point
  fork: githubPat(),
};
const ALL = Object.values(S);
const PR = 7;
const FORK_PR = 8;

let root: string;
let origin: Origin;
let api: FakeGitHub;
let apiOrigin: string;
const c: Record<string, string> = {};
const home = tempDir('kw-home-');
const runs: RunnerRun[] = [];

function filler(n: number, at?: number, text?: string): string {
  return Array.from({ length: n }, (_, i) => (at !== undefined && i + 1 === at ? text : `// line ${i + 1}`)).join('\n') + '\n';
}

/** Checks out the PR's merge commit the way actions/checkout does and runs the Action. */
async function runPull(p: PullPayload, inputs: Record<string, string> = {}): Promise<RunnerRun> {
  const merge = origin.openPull(p.number, p.headSha);
  api.heads.set(p.number, p.headSha);
  const ws = checkout(origin, `refs/pull/${p.number}/merge`, `refs/remotes/pull/${p.number}/merge`);
  const r = await runAction({
    event: 'pull_request',
    payload: pullRequestPayload(p),
    workspace: ws,
    apiUrl: api.apiUrl(apiOrigin),
    sha: merge,
    ref: `refs/pull/${p.number}/merge`,
    home,
    inputs,
  });
  runs.push(r);
  (r as RunnerRun & { workspace: string }).workspace = ws;
  return r;
}

const keywardenReview = (pull: number) =>
  api.reviewComments.filter((x) => x.pull_number === pull && x.body.startsWith('<!-- keywarden:finding'));
const keywardenIssue = (pull: number) =>
  api.issueComments.filter((x) => x.issue_number === pull && x.body.startsWith('<!-- keywarden:finding'));
const redacted = (s: string) => `${s.slice(0, 4)}…${s.slice(-2)}`;

beforeAll(async () => {
  root = tempDir('kw-action-');
  origin = new Origin(root);
  const d = origin.dev;
  d.write('README.md', '# demo\n');
  d.write('config/base.env', `A=1\nB=2\nBASE_TOKEN=${S.base}\nC=3\n`);
  d.write('src/app.ts', filler(20));
  c.base = d.commit('base');
  origin.push('main');
  d.git('checkout', '-q', '-b', 'feature');
  for (let i = 1; i <= 45; i++) {
    switch (i) {
      case 2:
        d.write('src/early.ts', filler(8, 5, `const token = "${S.early}";`));
        break;
      case 10:
        d.write('tmp/creds.txt', `user=deploy\npassword=${S.transient}\n`);
        break;
      case 12:
        rmSync(`${d.dir}/tmp/creds.txt`);
        break;
      case 20:
        d.write('src/app.ts', filler(20).replace('// line 12\n', `export const key = "${S.middle}";\n// line 12\n`));
        break;
      case 25:
        d.write('config/base.env', `A=1\nB=2\nBASE_TOKEN=${S.base}\nC=3\nDEBUG=1\n`);
        break;
      case 30:
        // A copy of the base branch's secret: it was there before the PR, so it is not new.
        d.write('config/copy.env', `TOKEN=${S.base}\n`);
        break;
      case 42:
        d.write('deploy/late.yml', `name: deploy\nenv:\n  token: ${S.late}\n`);
        break;
      default:
        d.write('notes.txt', filler(i));
    }
    c[`pr${i}`] = d.commit(`feature commit ${i}`);
  }
  origin.push('feature');
  d.git('checkout', '-q', 'main');
  d.write('main.txt', `MAIN=${S.onMain}\n`);
  c.main2 = d.commit('main moves on');
  origin.push('main');

  api = new FakeGitHub({
    owner: OWNER,
    repo: REPO,
    token: TOKEN,
    prefix: '/api/v3',
    diffLines: (_pull, head) => commentableLines(origin.bare, origin.sha('main'), head),
  });
  apiOrigin = await api.start();
  api.seedOthers(PR, 150, 'notes.txt', c.pr45!);
});

afterAll(async () => {
  await api.stop();
  rmSync(root, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe('keywarden action on a pull request of 45 commits', () => {
  let first: RunnerRun;
  beforeAll(async () => {
    first = await runPull({
      number: PR,
      baseSha: origin.sha('main'),
      headSha: c.pr45!,
      headRef: 'feature',
      commits: 45,
      action: 'opened',
    });
  });

  it('fails the check with exit 1 and outputs the number of new findings and the SARIF path', () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(1);
    expect(first.outputs.findings).toBe('4');
    expect(first.outputs.sarif).toMatch(/keywarden\.sarif$/);
  });

  it('deepens the shallow checkout itself and walks every commit of the range', () => {
    expect(first.summary).toContain('deepened a shallow clone');
    expect(first.stdout).toMatch(/45 commits walked/);
  });

  it('puts one review comment on the head-side line of each secret in the head, with commit_id = head', () => {
    const mine = keywardenReview(PR);
    const where = mine.map((m) => `${m.path}:${m.line}`).sort();
    expect(where).toEqual(['deploy/late.yml:3', 'src/app.ts:12', 'src/early.ts:5']);
    for (const m of mine) {
      expect(m.commit_id).toBe(c.pr45);
      expect(m.side).toBe('RIGHT');
      expect(m.user.login).toBe('github-actions[bot]');
    }
    const early = mine.find((m) => m.path === 'src/early.ts')!;
    expect(early.body).toContain('github-pat');
    expect(early.body).toContain(redacted(S.early));
    expect(early.body).toContain('Rotate this credential first');
    expect(early.body).toContain('squash-merge');
    expect(early.body).toContain(c.pr2!.slice(0, 7));
  });

  it('gives the secret added and removed inside the PR one conversation comment, and counts it', () => {
    const conv = keywardenIssue(PR);
    expect(conv).toHaveLength(1);
    expect(conv[0]!.body).toContain(redacted(S.transient));
    expect(conv[0]!.body).toContain('tmp/creds.txt');
    expect(conv[0]!.body).toContain('added and removed in this pull request');
    expect(conv[0]!.body).toContain(c.pr10!.slice(0, 7));
  });

  it('does not report a secret the merge base already had, even copied into a new file, nor one from main', () => {
    const bodies = [...keywardenReview(PR), ...keywardenIssue(PR)].map((x) => x.body).join('\n');
    expect(bodies).not.toContain(redacted(S.base));
    expect(bodies).not.toContain(redacted(S.onMain));
    const sarif = JSON.parse(readFileSync(first.outputs.sarif!, 'utf8'));
    const uris = sarif.runs[0].results.map(
      (r: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) =>
        r.locations[0]!.physicalLocation.artifactLocation.uri,
    );
    expect(uris.sort()).toEqual(['deploy/late.yml', 'src/app.ts', 'src/early.ts', 'tmp/creds.txt']);
  });

  it('writes a job summary table (rule, file, line, commit, preview) and line annotations', () => {
    expect(first.summary).toContain('| Rule | File | Line | Commit | Preview | Status |');
    expect(first.summary).toContain(`| \`github-pat\` | \`src/early.ts\` | 5 | [\`${c.pr2!.slice(0, 7)}\`]`);
    expect(first.summary).toContain('removed again, still in history');
    expect(first.summary).toMatch(/Comments: 4 created/);
    expect(first.stdout).toMatch(
      /::error title=keywarden%3A github-pat,file=src\/early.ts,line=5,endLine=5,col=\d+,endColumn=\d+::/,
    );
  });

  it('reads every page of the 300 comments by others, and talks to GHES paths', () => {
    const pages = (p: string) =>
      api.requests.filter((r) => r.method === 'GET' && r.path === p).map((r) => r.query.get('page') ?? '1');
    expect(pages(`/repos/${OWNER}/${REPO}/pulls/${PR}/comments`)).toEqual(['1', '2']);
    expect(pages(`/repos/${OWNER}/${REPO}/issues/${PR}/comments`)).toEqual(['1', '2']);
    for (const r of api.requests) expect(r.authorization).toBe(`token ${TOKEN}`);
  });

  it('creates nothing and edits nothing on a re-run', async () => {
    const writesBefore = api.writes().length;
    const again = await runPull({ number: PR, baseSha: origin.sha('main'), headSha: c.pr45!, headRef: 'feature', commits: 45 });
    expect(again.code).toBe(1);
    expect(again.outputs.findings).toBe('4');
    expect(api.writes().length).toBe(writesBefore);
    expect(keywardenReview(PR)).toHaveLength(3);
    expect(keywardenIssue(PR)).toHaveLength(1);
    expect(again.summary).toContain('4 already up to date');
  });

  describe('after a push that removes the late secret and marks the early one a false positive', () => {
    let pushed: RunnerRun;
    let offered: { fingerprint: string; line: string };
    beforeAll(async () => {
      const d = origin.dev;
      d.git('checkout', '-q', 'feature');
      d.write('deploy/late.yml', 'name: deploy\nenv:\n  token: ${{ secrets.DEPLOY_TOKEN }}\n');
      // The exact line the comment offers.
      const early = keywardenReview(PR).find((m) => m.path === 'src/early.ts')!;
      offered = {
        fingerprint: /keywarden:finding (kw1:[0-9a-f]+)/.exec(early.body)![1]!,
        line: /```\n(kw1:[^\n]+)\n```/.exec(early.body)![1]!,
      };
      d.write('.keywardenignore', `${offered.line}\n`);
      c.pr46 = d.commit('use a secret for the deploy token; early.ts holds a test fixture');
      origin.push('feature');
      pushed = await runPull({
        number: PR,
        baseSha: origin.sha('main'),
        headSha: c.pr46,
        headRef: 'feature',
        commits: 46,
        before: c.pr45!,
      });
    });

    it('the offered .keywardenignore line parses to the finding fingerprint', () => {
      expect([...parseIgnoreFile(offered.line, '.keywardenignore')]).toEqual([offered.fingerprint]);
    });

    it('still reports the removed secret (it is in history) but no longer the ignored one', () => {
      expect(pushed.code).toBe(1);
      expect(pushed.outputs.findings).toBe('3');
      expect(pushed.summary).toContain('Not reported: 1 by `.keywardenignore`');
    });

    it('edits both comments, resolves their threads, and creates no new comment', () => {
      const late = keywardenReview(PR).find((m) => m.path === 'deploy/late.yml')!;
      expect(late.body).toMatch(/state=removed/);
      expect(late.body).toContain('a later commit of this pull request removed it');
      expect(api.threadOf(late.id)!.isResolved).toBe(true);
      const early = keywardenReview(PR).find((m) => m.path === 'src/early.ts')!;
      expect(early.body).toMatch(/state=ignored/);
      expect(api.threadOf(early.id)!.isResolved).toBe(true);
      const middle = keywardenReview(PR).find((m) => m.path === 'src/app.ts')!;
      expect(middle.body).toMatch(/state=open/);
      expect(api.threadOf(middle.id)!.isResolved).toBe(false);
      expect(keywardenReview(PR)).toHaveLength(3);
      expect(keywardenIssue(PR)).toHaveLength(1);
      // Other people's threads are untouched.
      expect(api.threads.filter((t) => t.isResolved)).toHaveLength(2);
      const graphql = api.requests.filter((r) => r.path === '/api/graphql');
      expect(graphql.length).toBeGreaterThanOrEqual(3); // threads (2 pages of 153) + 2 mutations
      expect(pushed.summary).toMatch(/2 threads resolved/);
    });
  });

  describe('on a pull request from a fork (read-only token)', () => {
    let fork: RunnerRun;
    beforeAll(async () => {
      const d = origin.dev;
      d.git('checkout', '-q', '-b', 'contrib', 'main');
      d.write('contrib.sh', `#!/bin/sh\nexport GITHUB_TOKEN=${S.fork}\n`);
      c.fork = d.commit('contribution');
      d.git('checkout', '-q', 'main');
      api.readOnly = true;
      // A fork's head exists in the base repository only as refs/pull/N/head.
      fork = await runPull({
        number: FORK_PR,
        baseSha: origin.sha('main'),
        headSha: c.fork,
        headRef: 'contrib',
        commits: 1,
        fork: true,
      });
    });
    afterAll(() => {
      api.readOnly = false;
    });

    it('does not crash: exit 1, the annotation and the summary carry the finding', () => {
      expect(fork.code).toBe(1);
      expect(fork.outputs.findings).toBe('1');
      expect(fork.stdout).toMatch(/::error title=keywarden%3A github-pat,file=contrib.sh,line=2/);
      expect(fork.summary).toContain('`contrib.sh`');
    });

    it('says why there are no comments, after one refused attempt', () => {
      expect(fork.summary).toContain('this pull request comes from a fork');
      expect(fork.summary).toContain('read-only token');
      const posts = api.requests.filter((r) => r.method === 'POST' && r.path.includes(`/${FORK_PR}/`));
      expect(posts).toHaveLength(1);
      expect(posts[0]!.status).toBe(403);
      expect(keywardenReview(FORK_PR)).toHaveLength(0);
    });
  });

  it('never lets a secret out: request bodies, stdout, stderr, summaries, outputs, SARIF', () => {
    expect(runs.length).toBeGreaterThanOrEqual(4);
    const sent = api.requests.map((r) => `${r.path}?${r.query}\n${r.body}`);
    const written = runs.flatMap((r) => [
      r.stdout,
      r.stderr,
      r.summary,
      JSON.stringify(r.outputs),
      readFileSync(r.outputs.sarif!, 'utf8'),
    ]);
    for (const s of ALL) {
      // The secret, and its middle (everything the preview hides).
      for (const needle of [s, s.slice(4, -2)]) {
        for (const text of [...sent, ...written]) expect(text.includes(needle)).toBe(false);
      }
    }
  });
});

describe('git state left in the workspace', () => {
  it('the workspace is no longer shallow after the run', () => {
    const ws = (runs[0] as RunnerRun & { workspace: string }).workspace;
    expect(git(ws, 'rev-parse', '--is-shallow-repository').trim()).toBe('false');
  });
});
