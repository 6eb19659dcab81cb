// `keywarden action` on the other events and settings, as a runner runs it: github.com API paths
// (GraphQL at /graphql), a comment GitHub refuses (422: falls back to the conversation), a 502 that
// is retried, `comment: annotations` with `fail-on: none`, a baseline, pushes (new branch and
// before..after), scheduled incremental history scans, an event with nothing to scan, bad input.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGitHub } from './fake-github.js';
import {
  BIN,
  checkout,
  commentableLines,
  githubPat,
  Origin,
  OWNER,
  pullRequestPayload,
  pushPayload,
  REPO,
  type RunnerEnvOptions,
  type RunnerRun,
  runAction,
  spawnAsync,
  TOKEN,
  tempDir,
} from './fixture.js';

const S = { base: githubPat(), big: githubPat(), small: githubPat(), hotfix1: githubPat(), hotfix2: githubPat() };
let root: string;
let origin: Origin;
let api: FakeGitHub;
let apiUrl: string;
const c: Record<string, string> = {};
const homes: string[] = [];
const runs: RunnerRun[] = [];

function home(): string {
  const h = tempDir('kw-home-');
  homes.push(h);
  return h;
}

async function run(o: Omit<RunnerEnvOptions, 'apiUrl' | 'home'> & { home?: string }): Promise<RunnerRun> {
  const r = await runAction({ apiUrl, home: o.home ?? home(), ...o });
  runs.push(r);
  return r;
}

async function runPull(n: number, headSha: string, extra: Partial<RunnerEnvOptions> = {}): Promise<RunnerRun> {
  const merge = origin.openPull(n, headSha);
  api.heads.set(n, headSha);
  return run({
    event: 'pull_request',
    payload: pullRequestPayload({ number: n, baseSha: origin.sha('main'), headSha, headRef: 'pr', commits: 2 }),
    workspace: checkout(origin, `refs/pull/${n}/merge`, `refs/remotes/pull/${n}/merge`),
    sha: merge,
    ref: `refs/pull/${n}/merge`,
    ...extra,
  });
}

beforeAll(async () => {
  root = tempDir('kw-events-');
  origin = new Origin(root);
  const d = origin.dev;
  d.write('base.env', `TOKEN=${S.base}\n`);
  c.base = d.commit('base');
  origin.push('main');
  d.git('checkout', '-q', '-b', 'pr');
  d.write('big.txt', `${'x\n'.repeat(5)}key=${S.big}\n`);
  c.pr1 = d.commit('big file');
  d.write('small.txt', `key=${S.small}\n`);
  c.pr2 = d.commit('small file');
  origin.push('pr');
  d.git('checkout', '-q', 'main');

  api = new FakeGitHub({
    owner: OWNER,
    repo: REPO,
    token: TOKEN,
    prefix: '',
    diffLines: (_n, head) => {
      // big.txt is "too large to display": GitHub has no diff lines for it and refuses comments there.
      const lines = commentableLines(origin.bare, origin.sha('main'), head);
      lines.delete('big.txt');
      return lines;
    },
  });
  apiUrl = await api.start();
});

afterAll(async () => {
  await api.stop();
  rmSync(root, { recursive: true, force: true });
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

describe('pull request against github.com paths', () => {
  let first: RunnerRun;
  beforeAll(async () => {
    api.failures.push({ method: 'POST', path: /\/pulls\/3\/comments$/, status: 502 });
    first = await runPull(3, c.pr2!);
  });

  it('retries a 502, and moves a comment GitHub refuses (422) into the conversation', () => {
    expect(first.code).toBe(1);
    const posts = api.requests.filter((r) => r.method === 'POST' && r.path.includes('/pulls/3/comments'));
    expect(posts.map((p) => p.status).sort()).toEqual([201, 422, 502]);
    const review = api.reviewComments.filter((x) => x.pull_number === 3);
    expect(review.map((x) => `${x.path}:${x.line}`)).toEqual(['small.txt:1']);
    const conv = api.issueComments.filter((x) => x.issue_number === 3);
    expect(conv).toHaveLength(1);
    expect(conv[0]!.body).toMatch(/state=open/);
    expect(conv[0]!.body).toContain('`big.txt` line 6');
    expect(first.summary).toMatch(/Comments: 2 created/);
  });

  it('resolves the thread through /graphql when a push removes the secret', async () => {
    const d = origin.dev;
    d.git('checkout', '-q', 'pr');
    rmSync(join(d.dir, 'small.txt'));
    c.pr3 = d.commit('drop small');
    origin.push('pr');
    d.git('checkout', '-q', 'main');
    const r = await runPull(3, c.pr3);
    expect(r.code).toBe(1); // still in the PR's history
    const comment = api.reviewComments.find((x) => x.pull_number === 3)!;
    expect(api.threadOf(comment.id)!.isResolved).toBe(true);
    expect(api.requests.filter((x) => x.path === '/graphql').length).toBe(2);
  });
});

describe('inputs', () => {
  it('comment: annotations and fail-on: none: warnings only, exit 0, no API call', async () => {
    const before = api.requests.length;
    const r = await runPull(4, c.pr2!, { inputs: { comment: 'annotations', 'fail-on': 'none' } });
    expect(r.code).toBe(0);
    expect(r.outputs.findings).toBe('2');
    expect(r.stdout).toMatch(/::warning title=keywarden%3A github-pat,file=small.txt,line=1/);
    expect(r.stdout).not.toContain('::error');
    expect(api.requests.length).toBe(before);
    expect(r.summary).toContain('No comments (`comment: annotations`)');
  });

  it('comment: none writes neither annotations nor comments, only the summary and SARIF', async () => {
    const before = api.requests.length;
    const r = await runPull(4, c.pr2!, { inputs: { comment: 'none' } });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/::(error|warning) title=/);
    expect(api.requests.length).toBe(before);
    expect(JSON.parse(readFileSync(r.outputs.sarif!, 'utf8')).runs[0].results).toHaveLength(2);
  });

  it('a baseline (a JSON report made with the same key) makes known findings not new; fail-on: any still fails', async () => {
    const key = { KEYWARDEN_FINGERPRINT_KEY: 'shared-fingerprint-key-0123456789' };
    const full = checkout(origin, 'refs/heads/pr', 'refs/remotes/origin/pr', { fetchDepth: 0 });
    const baseline = join(full, 'baseline.json');
    const report = await spawnAsync(process.execPath, [BIN, 'diff', '--base', 'origin/main', '--head', c.pr2!, '-o', baseline], {
      cwd: full,
      env: { PATH: process.env.PATH ?? '', HOME: home(), ...key },
    });
    expect(report.code).toBe(1);
    const asNew = await runPull(5, c.pr2!, { inputs: { baseline, comment: 'none' }, extraEnv: key });
    expect(asNew.code).toBe(0);
    expect(asNew.outputs.findings).toBe('0');
    expect(asNew.summary).toContain('2 by the baseline');
    const any = await runPull(5, c.pr2!, { inputs: { baseline, comment: 'none', 'fail-on': 'any' }, extraEnv: key });
    expect(any.code).toBe(1);
    expect(any.outputs.findings).toBe('0');
    expect(any.summary).toContain('in the baseline');
  });

  it('rejects an unknown fail-on with exit 2, an error annotation and a summary', async () => {
    const r = await runPull(4, c.pr2!, { inputs: { 'fail-on': 'sometimes' } });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/::error::keywarden: the Action cannot start .*fail-on: expected one of new, any, none/s);
    expect(r.summary).toContain('## keywarden: error');
  });

  it('rejects a payload that is not a pull_request event with exit 2', async () => {
    const r = await run({
      event: 'pull_request',
      payload: { action: 'opened' },
      workspace: checkout(origin, 'refs/heads/main', 'refs/remotes/origin/main'),
      sha: origin.sha('main'),
      ref: 'refs/heads/main',
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('event payload (GITHUB_EVENT_PATH) is not what GitHub sends');
  });
});

describe('push', () => {
  it('a new branch: scans what is not on the default branch', async () => {
    const d = origin.dev;
    d.git('checkout', '-q', '-b', 'hotfix', 'main');
    d.write('fix.sh', `export T=${S.hotfix1}\n`);
    c.hot1 = d.commit('hotfix 1');
    origin.push('hotfix');
    d.git('checkout', '-q', 'main');
    const ws = checkout(origin, 'refs/heads/hotfix', 'refs/remotes/origin/hotfix');
    const r = await run({
      event: 'push',
      payload: pushPayload({ ref: 'refs/heads/hotfix', before: '0'.repeat(40), after: c.hot1, created: true }),
      workspace: ws,
      sha: c.hot1,
      ref: 'refs/heads/hotfix',
    });
    expect(r.code).toBe(1);
    expect(r.outputs.findings).toBe('1');
    expect(r.stdout).toMatch(/::error title=keywarden%3A github-pat,file=fix.sh,line=1/);
    expect(r.summary).toContain('not on the default branch `main`');
    expect(r.summary).not.toContain('`base.env`');
  });

  it('before..after: only the pushed commits', async () => {
    const d = origin.dev;
    d.git('checkout', '-q', 'hotfix');
    d.write('fix2.sh', `export T=${S.hotfix2}\n`);
    c.hot2 = d.commit('hotfix 2');
    origin.push('hotfix');
    d.git('checkout', '-q', 'main');
    const ws = checkout(origin, 'refs/heads/hotfix', 'refs/remotes/origin/hotfix');
    const r = await run({
      event: 'push',
      payload: pushPayload({ ref: 'refs/heads/hotfix', before: c.hot1!, after: c.hot2, created: false }),
      workspace: ws,
      sha: c.hot2,
      ref: 'refs/heads/hotfix',
    });
    expect(r.code).toBe(1);
    expect(r.outputs.findings).toBe('1');
    expect(r.summary).toContain('`fix2.sh`');
    expect(r.summary).not.toContain('`fix.sh`');
  });
  it('a force-push whose before is gone from the server: what is not on the default branch', async () => {
    const ws = checkout(origin, 'refs/heads/hotfix', 'refs/remotes/origin/hotfix');
    const r = await run({
      event: 'push',
      payload: pushPayload({ ref: 'refs/heads/hotfix', before: 'f'.repeat(40), after: c.hot2!, created: false }),
      workspace: ws,
      sha: c.hot2!,
      ref: 'refs/heads/hotfix',
    });
    expect(r.code).toBe(1);
    expect(r.outputs.findings).toBe('2');
    expect(r.summary).toContain('is gone (force-pushed); scanned what is not on main');
  });
});

describe('schedule', () => {
  it('scans the whole history once, then only what is new (state kept in ~/.local/state)', async () => {
    const h = home();
    const ws = () => checkout(origin, 'refs/heads/main', 'refs/remotes/origin/main', { fetchDepth: 0 });
    const payload = {
      schedule: '17 3 * * *',
      repository: { full_name: `${OWNER}/${REPO}`, html_url: 'https://github.example/x' },
    };
    const first = await run({
      event: 'schedule',
      payload,
      workspace: ws(),
      sha: origin.sha('main'),
      ref: 'refs/heads/main',
      home: h,
    });
    expect(first.code).toBe(1);
    // Every branch's history: main's base secret, the PR branch's, the hotfix's.
    expect(first.outputs.findings).toBe('5');
    expect(readFileSync(join(h, '.local/state/keywarden/git-state.json'), 'utf8')).toContain('"--all"');
    const second = await run({
      event: 'schedule',
      payload,
      workspace: ws(),
      sha: origin.sha('main'),
      ref: 'refs/heads/main',
      home: h,
    });
    expect(second.code).toBe(0);
    expect(second.outputs.findings).toBe('0');
    expect(second.summary).toContain('## keywarden: no new secrets');
  });

  it('workflow_dispatch is the same incremental scan', async () => {
    const r = await run({
      event: 'workflow_dispatch',
      payload: { inputs: {}, ref: 'refs/heads/main', repository: { full_name: `${OWNER}/${REPO}` } },
      workspace: checkout(origin, 'refs/heads/main', 'refs/remotes/origin/main', { fetchDepth: 0 }),
      sha: origin.sha('main'),
      ref: 'refs/heads/main',
    });
    expect(r.code).toBe(1);
    expect(r.summary).toContain('(`workflow_dispatch`)');
  });
});

describe('events with nothing to scan', () => {
  it('says so and exits 0, with outputs and an empty SARIF log', async () => {
    const r = await run({
      event: 'issues',
      payload: { action: 'opened' },
      workspace: checkout(origin, 'refs/heads/main', 'refs/remotes/origin/main'),
      sha: origin.sha('main'),
      ref: 'refs/heads/main',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/::notice::keywarden: the "issues" event has nothing for keywarden to scan/);
    expect(r.outputs.findings).toBe('0');
    expect(JSON.parse(readFileSync(r.outputs.sarif!, 'utf8')).runs[0].results).toEqual([]);
  });
});

it('no secret in any request, output, summary or SARIF of these runs', () => {
  const sent = api.requests.map((r) => `${r.path}?${r.query}\n${r.body}`);
  const written = runs.flatMap((r) => [r.stdout, r.stderr, r.summary, JSON.stringify(r.outputs)]);
  for (const r of runs) if (r.outputs.sarif) written.push(readFileSync(r.outputs.sarif, 'utf8'));
  for (const s of Object.values(S))
    for (const needle of [s, s.slice(4, -2)]) for (const t of [...sent, ...written]) expect(t.includes(needle)).toBe(false);
});
