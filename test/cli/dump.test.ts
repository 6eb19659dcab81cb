// `keywarden dump` as a user runs it: a real core file from a process holding a secret in its
// environment (gcore), a corrupt gzip, and `keywarden scan` meeting a core file in a tree.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { Report } from '../../scanner/report.js';

const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
const GCORE = '/usr/bin/gcore';
const rng = seededRng(777);
const secret = expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;

function run(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, KEYWARDEN_FINGERPRINT_KEY: 'test-fingerprint-key-0123456789' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function bytesAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

/**
 * A core file of a live `sleep` whose environment holds the secret, taken with gcore (gdb). Where
 * gcore cannot attach (no ptrace), a synthetic ELF core with an environment block stands in.
 */
async function makeCore(dir: string): Promise<{ path: string; real: boolean }> {
  if (existsSync(GCORE)) {
    const child = spawn('sleep', ['60'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GITHUB_TOKEN: secret },
      stdio: 'ignore',
    });
    try {
      // 'spawn' comes once exec succeeded (libuv reports exec failures synchronously), so the image
      // gcore dumps is `sleep` with the secret in its environment, not the forked parent.
      await once(child, 'spawn');
      const prefix = join(dir, 'core');
      const g = spawnSync(GCORE, ['-o', prefix, String(child.pid)], { encoding: 'utf8', timeout: 60_000 });
      const made = readdirSync(dir).find((f) => f.startsWith('core.'));
      if (g.status === 0 && made) return { path: join(dir, made), real: true };
    } finally {
      child.kill('SIGKILL');
    }
  }
  const path = join(dir, 'core.synthetic');
  const elf = Buffer.alloc(64);
  Buffer.from('\x7fELF\x02\x01\x01\0', 'latin1').copy(elf);
  elf.writeUInt16LE(4, 16); // e_type ET_CORE
  writeFileSync(
    path,
    Buffer.concat([elf, Buffer.alloc(8192), Buffer.from(`PATH=/usr/bin\0GITHUB_TOKEN=${secret}\0`), Buffer.alloc(4096)]),
  );
  return { path, real: false };
}

let dir: string;
let core: { path: string; real: boolean };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kw-cli-dump-'));
  core = await makeCore(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keywarden dump', () => {
  it('finds the secret from a process environment in its core file, at the right byte offset', () => {
    expect(core.real).toBe(true); // gcore works in this sandbox; a fallback would need a second look
    const r = run(['dump', core.path, '--format', 'json'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain(secret);
    const report = Report.parse(JSON.parse(r.stdout));
    const hits = report.findings.filter((f) => f.ruleId === 'github-pat');
    expect(hits.length).toBeGreaterThanOrEqual(1);
    for (const f of hits) {
      expect(f.source.kind).toBe('dump');
      if (f.source.kind !== 'dump') continue;
      expect(f.path).toBe(core.path.slice(dir.length + 1));
      expect(bytesAt(core.path, f.source.offset, secret.length).toString('latin1')).toBe(secret);
    }
    expect(report.stats.files).toBe(1);
  });

  it('scans gzip transparently and fails a truncated gzip with exit 2 after writing the report', () => {
    const raw = Buffer.concat([
      Buffer.from(`\0GITHUB_TOKEN=${secret}\0`),
      Buffer.from(Array.from({ length: 300_000 }, () => Math.floor(rng() * 256))),
    ]);
    const gz = gzipSync(raw);
    writeFileSync(join(dir, 'ok.gz'), gz);
    writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length - 1000));
    const ok = run(['dump', 'ok.gz', '--format', 'json'], dir);
    expect(ok.code).toBe(1);
    const f = JSON.parse(ok.stdout).findings.find((x: { ruleId: string }) => x.ruleId === 'github-pat');
    expect(f.source).toEqual({ kind: 'dump', offset: 14 });
    const cut = run(['dump', 'cut.gz', '--format', 'json', '--chunk-size', '16KiB'], dir);
    expect(cut.code).toBe(2);
    expect(cut.stderr).toContain('KW_DUMP_CORRUPT');
    const report = Report.parse(JSON.parse(cut.stdout));
    expect(report.findings.some((x) => x.ruleId === 'github-pat')).toBe(true);
    expect(report.stats.errors).toEqual([expect.objectContaining({ path: 'cut.gz', code: 'KW_DUMP_CORRUPT' })]);
  });

  it('rejects a bad --min-length with exit 2', () => {
    const r = run(['dump', core.path, '--min-length', '1'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('KW_USAGE');
  });

  it('lets `keywarden scan` find a core file lying in a tree, unless --skip-binary', () => {
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    spawnSync('cp', [core.path, join(tree, 'core')]);
    const r = run(['scan', tree, '--format', 'json', '--threads', '0'], dir);
    expect(r.code).toBe(1);
    const report = Report.parse(JSON.parse(r.stdout));
    const f = report.findings.find((x) => x.ruleId === 'github-pat');
    expect(f?.path).toBe('core');
    expect(f?.source.kind).toBe('dump');
    if (f?.source.kind === 'dump')
      expect(bytesAt(join(tree, 'core'), f.source.offset, secret.length).toString('latin1')).toBe(secret);
    const skipped = run(['scan', tree, '--format', 'json', '--skip-binary'], dir);
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.stdout).stats.skipped).toMatchObject({ binary: 1 });
  });
});
