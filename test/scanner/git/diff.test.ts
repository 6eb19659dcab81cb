// The PR view and the pre-commit view on real repositories: only what the range (or the index) adds,
// at head-side path and line, through renames, merges, deletions and more than 30 commits.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportEntry } from '../../../scanner/report.js';
import { reportEntries } from '../../../scanner/reporters/entries.js';
import { STAGED_COMMIT, scanDiff, scanStaged } from '../../../scanner/scan-git.js';
import { openRepo } from '../../../scanner/sources/git/repo.js';
import { KWTEST_RULE, lines, secret, TestRepo } from './fixture.js';

const key = Buffer.from('test-fingerprint-key-0123456789');
const opts = { rules: [KWTEST_RULE], globalAllow: {}, fingerprintKey: key, showSecrets: true, maxFileSize: 1_000_000 };
const S = {
  old: secret(),
  modified: secret(),
  added: secret(),
  renamed: secret(),
  transient: secret(),
  onMain: secret(),
  late: secret(),
};
const c: Record<string, string> = {};
let repo: TestRepo;
/** One entry per occurrence, in the scan's order, as `diff --format json` lists them. */
let findings: ReportEntry[];

const where = (f: ReportEntry) => (f.source.kind === 'git' ? `${f.source.commit.slice(0, 12)} ${f.path}:${f.line}` : '?');
const of = (s: string) => findings.filter((f) => f.secret === s).map(where);
const short = (s: string | undefined) => s!.slice(0, 12);

beforeAll(async () => {
  repo = new TestRepo();
  repo.write('a.txt', lines(6, 1, S.old));
  repo.commit('base');
  repo.git('checkout', '-q', '-b', 'pr');
  repo.write('a.txt', lines(6, 1, S.old).replace('line 3', `token = "${S.modified}"`));
  c.modified = repo.commit('modify a');
  repo.write('b.txt', `${S.added}\n`);
  c.added = repo.commit('add b');
  mkdirSync(join(repo.dir, 'moved'));
  repo.git('mv', 'a.txt', 'moved/c.txt');
  repo.write('moved/c.txt', `${repo.git('show', 'HEAD:a.txt').replace('line 5', `token = "${S.renamed}"`)}`);
  c.renamed = repo.commit('rename a to c and add a key');
  repo.write('tmp.txt', `${S.transient}\n`);
  c.transient = repo.commit('add tmp');
  repo.git('rm', '-q', 'tmp.txt');
  repo.commit('remove tmp');
  // main moves on; merging it into the PR must not put main's changes in the PR's range.
  repo.git('checkout', '-q', 'main');
  repo.write('main.txt', `${S.onMain}\n`);
  repo.commit('main work');
  repo.git('checkout', '-q', 'pr');
  repo.merge('main', 'merge main into pr');
  // More commits than gitleaks-action looks at.
  for (let i = 1; i <= 35; i++) {
    repo.write('many.txt', Array.from({ length: i }, (_, j) => (j + 1 === 33 ? `k=${S.late}` : `n${j + 1}`)).join('\n') + '\n');
    const sha = repo.commit(`many ${i}`);
    if (i === 33) c.late = sha;
  }
  findings = reportEntries(
    (await scanDiff(await openRepo(repo.dir, process.env), { ...opts, base: 'main', head: 'pr' })).findings,
    'finding',
  );
});
afterAll(() => rmSync(repo.dir, { recursive: true, force: true }));

describe('scanDiff', () => {
  it('reports an added line at its head-side path and line, blamed to the commit that wrote it', () => {
    expect(of(S.added)).toEqual([`${short(c.added)} b.txt:1`]);
    expect(of(S.modified)).toEqual([`${short(c.modified)} moved/c.txt:3`]);
  });

  it('follows a rename to the head-side path', () => {
    expect(of(S.renamed)).toEqual([`${short(c.renamed)} moved/c.txt:5`]);
  });

  it('reports a secret added and removed inside the range at the commit that added it', () => {
    expect(of(S.transient)).toEqual([`${short(c.transient)} tmp.txt:1`]);
  });

  it('does not report what the base already had, nor what a merge from the base brought in', () => {
    expect(of(S.old)).toEqual([]);
    expect(of(S.onMain)).toEqual([]);
  });

  it('has no commit limit', () => {
    expect(of(S.late)).toEqual([`${short(c.late)} many.txt:33`]);
  });

  it('fails with KW_GIT_UNKNOWN_REF for a ref that does not exist', async () => {
    await expect(scanDiff(await openRepo(repo.dir, process.env), { ...opts, base: 'nope', head: 'pr' })).rejects.toMatchObject({
      code: 'KW_GIT_UNKNOWN_REF',
    });
  });
});

describe('scanStaged', () => {
  it('reports staged added lines only, with the index path and line', async () => {
    const r = new TestRepo();
    const committed = secret();
    const staged = secret();
    r.write('app.env', `A=${committed}\n`);
    r.commit('init');
    r.write('app.env', `A=${committed}\nB=1\nC=${staged}\n`);
    r.write('unstaged.txt', `${secret()}\n`);
    r.git('add', 'app.env');
    const res = await scanStaged(await openRepo(r.dir, process.env), {
      ...opts,
      now: '2024-01-01T00:00:00Z',
      author: { name: 'Ada', email: 'ada@example.com' },
    });
    const entries = reportEntries(res.findings, 'finding');
    expect(entries.map((f) => `${f.path}:${f.line}:${f.column} ${f.secret === staged}`)).toEqual(['app.env:3:3 true']);
    expect(entries[0]!.source).toMatchObject({ kind: 'git', commit: STAGED_COMMIT, author: 'Ada' });
    rmSync(r.dir, { recursive: true, force: true });
  });

  it('works before the first commit', async () => {
    const r = new TestRepo();
    r.write('x.txt', `${secret()}\n`);
    r.git('add', 'x.txt');
    const res = await scanStaged(await openRepo(r.dir, process.env), { ...opts, now: '2024-01-01T00:00:00Z' });
    expect(reportEntries(res.findings, 'finding').map((f) => `${f.path}:${f.line}`)).toEqual(['x.txt:1']);
    rmSync(r.dir, { recursive: true, force: true });
  });
});

describe('bad input', () => {
  it('rejects a directory that is not a repository with KW_GIT_NOT_A_REPO', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'kw-notrepo-'));
    await expect(openRepo(dir, { ...process.env, GIT_CEILING_DIRECTORIES: tmpdir() })).rejects.toMatchObject({
      code: 'KW_GIT_NOT_A_REPO',
    });
    rmSync(dir, { recursive: true });
  });
});
