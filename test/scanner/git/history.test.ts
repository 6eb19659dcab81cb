// Full-history scans of real repositories: deleted secrets, unmerged branches, merges, renames,
// removed files, binary and oversized blobs, with exact commit / path / line expectations.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportEntry } from '../../../scanner/report.js';
import { reportEntries } from '../../../scanner/reporters/entries.js';
import { scanHistory } from '../../../scanner/scan-git.js';
import { openRepo } from '../../../scanner/sources/git/repo.js';
import { KWTEST_RULE, lines, secret, TestRepo } from './fixture.js';

const key = Buffer.from('test-fingerprint-key-0123456789');
const opts = { rules: [KWTEST_RULE], globalAllow: {}, fingerprintKey: key, showSecrets: true, maxFileSize: 100_000 };

const S = {
  deleted: secret(),
  branch: secret(),
  renamed: secret(),
  removed: secret(),
  evil: secret(),
  side: secret(),
  binary: secret(),
  big: secret(),
  odd: secret(),
};
const c: Record<string, string> = {};
let repo: TestRepo;
/** One entry per occurrence, in the scan's order, as `history --format json` lists them. */
let findings: ReportEntry[];
let result: Awaited<ReturnType<typeof scanHistory>>;

const where = (f: ReportEntry) =>
  f.source.kind === 'git' ? `${f.source.commit.slice(0, 12)} ${f.path}:${f.line}:${f.column}` : '?';
const of = (s: string) => findings.filter((f) => f.secret === s);

beforeAll(async () => {
  repo = new TestRepo();
  repo.write('config.js', lines(5, 3, S.deleted));
  c.add = repo.commit('add config');
  repo.write('config.js', lines(5, 0, ''));
  c.del = repo.commit('remove the key');

  repo.git('checkout', '-q', '-b', 'feature');
  repo.write('feature.txt', lines(4, 2, S.branch));
  c.branch = repo.commit('feature work');
  repo.git('checkout', '-q', 'main');

  repo.write('old/name.env', `KEY=${S.renamed}\n`);
  c.renameAdd = repo.commit('add env');
  mkdirSync(join(repo.dir, 'new'));
  repo.git('mv', 'old/name.env', 'new/name.env');
  c.rename = repo.commit('move env');

  repo.write('tmp/dump.log', lines(6, 5, S.removed));
  c.removedAdd = repo.commit('add dump');
  repo.git('rm', '-q', 'tmp/dump.log');
  c.removedDel = repo.commit('remove dump');

  // A conflicting merge whose resolution introduces a secret ("evil merge"), and a clean merge.
  repo.write('conflict.txt', 'base\n');
  repo.commit('conflict base');
  repo.git('checkout', '-q', '-b', 'side');
  repo.write('conflict.txt', 'side\n');
  repo.write('side.txt', lines(3, 3, S.side));
  c.side = repo.commit('side change');
  repo.git('checkout', '-q', 'main');
  repo.write('conflict.txt', 'main\n');
  repo.commit('main change');
  c.merge = repo.merge('side', 'merge side', () => repo.write('conflict.txt', `resolved\n${S.evil}\n`));

  // The deleted secret comes back in another file: same fingerprint, a later occurrence.
  repo.write('again.txt', `x ${S.deleted}\n`);
  c.again = repo.commit('again');

  repo.write('blob.bin', Buffer.concat([Buffer.from([0, 1, 2, 0]), Buffer.from(S.binary)]));
  repo.write('big.txt', `${'y'.repeat(200_000)}\n${S.big}\n`);
  // A file name that is not UTF-8 (bytes ff fe).
  writeFileSync(Buffer.concat([Buffer.from(`${repo.dir}/odd-`), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]), `${S.odd}\n`);
  c.misc = repo.commit('binary, big, odd name');

  result = await scanHistory(await openRepo(repo.dir, process.env), opts);
  findings = reportEntries(result.findings, 'finding');
});
afterAll(() => rmSync(repo.dir, { recursive: true, force: true }));

describe('scanHistory', () => {
  it('reports a secret deleted in the next commit at the commit, path and line that added it', () => {
    const f = of(S.deleted);
    expect(f.map(where)).toEqual([`${c.add!.slice(0, 12)} config.js:3:10`, `${c.again!.slice(0, 12)} again.txt:1:3`]);
    expect(f[0]!.source).toEqual({
      kind: 'git',
      commit: c.add,
      author: 'Ada Lovelace',
      email: 'ada@example.com',
      date: expect.stringMatching(/^2024-01-01T00:00:01/),
      message: 'add config',
    });
    expect(new Set(f.map((x) => x.fingerprint)).size).toBe(1);
    // One finding, both places its occurrences, the introducer first.
    const [one, ...none] = result.findings.filter((x) => x.secret === S.deleted);
    expect(none).toEqual([]);
    expect(one!.occurrences.map((o) => o.provenance.kind === 'git' && o.provenance.commit)).toEqual([c.add, c.again]);
  });

  it('reports a secret that lives only on an unmerged branch', () => {
    expect(of(S.branch).map(where)).toEqual([`${c.branch!.slice(0, 12)} feature.txt:2:10`]);
  });

  it('attributes a renamed file to the commit that added it, the rename as a later occurrence', () => {
    expect(of(S.renamed).map(where)).toEqual([
      `${c.renameAdd!.slice(0, 12)} old/name.env:1:5`,
      `${c.rename!.slice(0, 12)} new/name.env:1:5`,
    ]);
  });

  it('reports a secret in a file later removed', () => {
    expect(of(S.removed).map(where)).toEqual([`${c.removedAdd!.slice(0, 12)} tmp/dump.log:5:10`]);
  });

  it('attributes a secret written by a merge resolution to the merge, and a merged one to its branch commit', () => {
    expect(of(S.evil).map(where)).toEqual([`${c.merge!.slice(0, 12)} conflict.txt:2:1`]);
    expect(of(S.side).map(where)).toEqual([`${c.side!.slice(0, 12)} side.txt:3:10`]);
  });

  it('counts binary and oversized blobs as skipped, and survives a non-UTF-8 path', () => {
    expect(of(S.binary)).toEqual([]);
    expect(of(S.big)).toEqual([]);
    expect(result.stats.skipped).toMatchObject({ binary: 1, tooLarge: 1 });
    expect(of(S.odd).map((f) => f.path)).toEqual(['odd-\ufffd\ufffd.txt']);
  });

  it('walks every commit once and excludes already-scanned history with exclude', async () => {
    expect(result.commits).toBe(Number(repo.git('rev-list', '--all', '--count').trim()));
    const again = await scanHistory(await openRepo(repo.dir, process.env), { ...opts, exclude: [c.merge!] });
    const entries = reportEntries(again.findings, 'finding');
    expect(entries.map((f) => f.secret)).toEqual(expect.arrayContaining([S.deleted, S.branch]));
    expect(entries.find((f) => f.secret === S.evil)).toBeUndefined();
    expect(entries.find((f) => f.secret === S.deleted)!.path).toBe('again.txt');
  });

  it('limits to one ref with branch', async () => {
    const r = await scanHistory(await openRepo(repo.dir, process.env), { ...opts, branch: 'main' });
    expect(r.findings.find((f) => f.secret === S.branch)).toBeUndefined();
    expect(r.tips.get('main')).toBe(repo.head());
  });
});
