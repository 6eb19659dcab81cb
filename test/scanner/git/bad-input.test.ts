// Bad input in git history (issue 3): a 100 MB single-line file, non-UTF-8 content and paths, and
// corrupt loose objects. Each must end in a counted skip or error, never a crash, hang or silent gap.
import { chmodSync, closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerGitCommands } from '../../../cli/commands/git.js';
import type { Finding } from '../../../model/finding.js';
import { DEFAULT_MAX_FILE_SIZE } from '../../../scanner/config.js';
import type { ReportEntry } from '../../../scanner/report.js';
import { reportEntries } from '../../../scanner/reporters/entries.js';
import { scanHistory } from '../../../scanner/scan-git.js';
import { openRepo } from '../../../scanner/sources/git/repo.js';
import { KWTEST_RULE, lines, secret, TestRepo } from './fixture.js';

const key = Buffer.from('test-fingerprint-key-0123456789');
const opts = {
  rules: [KWTEST_RULE],
  globalAllow: {},
  fingerprintKey: key,
  showSecrets: true,
  maxFileSize: DEFAULT_MAX_FILE_SIZE,
};
const HUGE = 100 * 1024 * 1024;
const repos: TestRepo[] = [];
afterAll(() => {
  for (const r of repos) rmSync(r.dir, { recursive: true, force: true });
});

function newRepo(): TestRepo {
  const r = new TestRepo();
  repos.push(r);
  return r;
}

/** One entry per occurrence, as the report lists them. */
const entriesOf = (r: { findings: Finding[] }): ReportEntry[] => reportEntries(r.findings, 'finding');
const secretsOf = (fs: ReportEntry[]) => fs.map((f) => f.secret);

/** Writes `size` bytes of one line (no newline anywhere) with `tail` at the very end, 1 MB at a time. */
function writeOneLine(path: string, size: number, tail: string): void {
  const chunk = Buffer.alloc(1024 * 1024, 'abcdefghij=+/-');
  const fd = openSync(path, 'w');
  try {
    let left = size - tail.length;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      writeSync(fd, chunk, 0, n);
      left -= n;
    }
    writeSync(fd, Buffer.from(tail));
  } finally {
    closeSync(fd);
  }
}

describe('a 100 MB single-line file in history', () => {
  const S = { huge: secret(), small: secret() };
  let repo: TestRepo;
  let commit: string;

  beforeAll(() => {
    repo = newRepo();
    writeOneLine(join(repo.dir, 'huge.min.js'), HUGE, ` ${S.huge}`);
    repo.write('small.env', `KEY=${S.small}\n`);
    commit = repo.commit('add a huge bundle');
  });

  it('is skipped as tooLarge under the default max size (counted, not read into memory)', async () => {
    // Sampled during the scan (not maxRSS, which also holds whatever peak came before this test).
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 5);
    const r = await scanHistory(await openRepo(repo.dir, process.env), opts).finally(() => clearInterval(sampler));
    const peakGrowth = rssPeak - rssBefore;

    expect(r.commits).toBe(1);
    expect(r.stats.skipped).toEqual({ tooLarge: 1 });
    expect(r.stats.errors).toEqual([]);
    expect(r.stats.files).toBe(1);
    expect(secretsOf(entriesOf(r))).toEqual([S.small]);
    expect(entriesOf(r)[0]!.source).toMatchObject({ kind: 'git', commit });
    // The 100 MB went through the pipe and was discarded: the scan never held it.
    expect(peakGrowth).toBeLessThan(64 * 1024 * 1024);
  });

  it('is scanned when the max size allows it, the secret found at its column on line 1', async () => {
    const r = await scanHistory(await openRepo(repo.dir, process.env), { ...opts, maxFileSize: HUGE + 1 });
    expect(r.stats.skipped).toEqual({});
    expect(r.stats.files).toBe(2);
    const f = entriesOf(r).find((x) => x.secret === S.huge)!;
    expect(f).toMatchObject({ path: 'huge.min.js', line: 1, column: HUGE - S.huge.length + 1 });
  });
});

describe('non-UTF-8 content and paths', () => {
  const S = { normal: secret(), latin1: secret(), oddPath: secret() };
  let result: Awaited<ReturnType<typeof scanHistory>>;

  beforeAll(async () => {
    const repo = newRepo();
    repo.write('normal.txt', lines(4, 2, S.normal));
    // Latin-1 "café" and an invalid UTF-8 sequence (c3 28) before the secret on the same line.
    repo.write('legacy.ini', Buffer.concat([Buffer.from('caf\xe9 \xc3\x28 = ', 'latin1'), Buffer.from(`${S.latin1}\n`)]));
    writeFileSync(
      Buffer.concat([Buffer.from(`${repo.dir}/bad-`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('.cfg')]),
      `x=${S.oddPath}\n`,
    );
    repo.commit('mixed encodings');
    result = await scanHistory(await openRepo(repo.dir, process.env), opts);
  });

  it('scans every blob without errors and still finds the secret in the normal file', () => {
    expect(result.stats.errors).toEqual([]);
    expect(result.stats.skipped).toEqual({});
    expect(result.stats.files).toBe(3);
    expect(entriesOf(result).find((f) => f.secret === S.normal)).toMatchObject({ path: 'normal.txt', line: 2, column: 10 });
  });

  it('finds secrets in non-UTF-8 content and under a non-UTF-8 path (bytes shown as U+FFFD)', () => {
    expect(entriesOf(result).find((f) => f.secret === S.latin1)).toMatchObject({ path: 'legacy.ini', line: 1 });
    const odd = entriesOf(result).find((f) => f.secret === S.oddPath)!;
    expect(odd.path.startsWith('bad-')).toBe(true);
    expect(odd.path.endsWith('.cfg')).toBe(true);
    expect(odd.path).toContain('\ufffd');
  });
});

describe('a corrupt loose object', () => {
  /** A repo whose `victim.txt` blob is corrupted at `at(size)` bytes into its loose object file. */
  async function corrupted(at: (size: number) => number) {
    const S = { before: secret(), victim: secret(), after: secret() };
    const repo = newRepo();
    repo.write('a-before.txt', lines(3, 1, S.before));
    // Varied text, so the zlib stream is long enough to corrupt past the object header.
    repo.write('victim.txt', `${Array.from({ length: 200 }, (_, i) => `row ${i} ${secret()}`).join('\n')}\n${S.victim}\n`);
    repo.write('z-after.txt', lines(3, 2, S.after));
    const commit = repo.commit('three files');
    const sha = repo.git('rev-parse', `${commit}:victim.txt`).trim();
    const file = join(repo.dir, '.git', 'objects', sha.slice(0, 2), sha.slice(2));
    chmodSync(file, 0o644);
    const bytes = readFileSync(file);
    bytes.fill(0xa5, at(bytes.length), at(bytes.length) + 16);
    writeFileSync(file, bytes);
    const result = await scanHistory(await openRepo(repo.dir, process.env), opts);
    return { S, sha, result };
  }

  it('counts a blob whose header does not inflate as unreadable and scans the others', async () => {
    const { S, sha, result } = await corrupted(() => 2);
    expect(result.stats.skipped).toEqual({ unreadable: 1 });
    expect(result.stats.errors).toEqual([{ path: 'victim.txt', code: 'KW_GIT_OBJECT', message: expect.stringContaining(sha) }]);
    expect(result.stats.files).toBe(2);
    expect(secretsOf(entriesOf(result)).sort()).toEqual([S.before, S.after].sort());
  });

  it('survives git dying mid-blob (body corrupt after the header) and scans the blobs after it', async () => {
    const { S, sha, result } = await corrupted((n) => Math.floor(n / 2));
    expect(result.stats.skipped).toEqual({ unreadable: 1 });
    expect(result.stats.errors).toEqual([{ path: 'victim.txt', code: 'KW_GIT_OBJECT', message: expect.stringContaining(sha) }]);
    expect(result.stats.files).toBe(2);
    expect(secretsOf(entriesOf(result)).sort()).toEqual([S.before, S.after].sort());
  });
});

describe('git commands accept --no-progress like scan', () => {
  it.each(['history', 'diff', 'staged'])('%s', (name) => {
    const program = new Command();
    registerGitCommands(program, () => {}, {});
    const cmd = program.commands.find((c) => c.name() === name)!;
    expect(cmd.options.map((o) => o.long)).toContain('--no-progress');
  });
});
