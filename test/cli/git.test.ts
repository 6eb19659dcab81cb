// `keywarden history | diff | staged` as a user runs them: the compiled binary on real repositories,
// including a real `git commit` blocked by the pre-commit hook, incremental runs and URL clones.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { Report } from '../../scanner/report.js';
import { lines, secret, TestRepo } from '../scanner/git/fixture.js';

// KEYWARDEN_TEST_BIN lets a branch that has not wired the commands into cli/main.ts yet run this file.
const BIN = process.env.KEYWARDEN_TEST_BIN ?? fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
const rng = seededRng(7);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
const CONFIG = `extends: none
rules:
  - id: kwtest-token
    description: keywarden test token
    provider: keywarden
    category: generic
    pattern: 'kwtest_[A-Za-z0-9]{32}'
    keywords: [kwtest_]
    examples: ['«kwtest_{base62:32}»']
`;
const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(d);
  return d;
}

function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      KEYWARDEN_FINGERPRINT_KEY: 'test-fingerprint-key-0123456789',
      XDG_STATE_HOME: tmp('kw-state-'),
      XDG_CACHE_HOME: tmp('kw-cache-'),
      ...opts.env,
    },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The test rule as a standalone config file (URL repositories have no work tree to hold one). */
function configFile(): string {
  const f = join(tmp('kw-cfg-'), 'keywarden.yaml');
  writeFileSync(f, CONFIG);
  return f;
}

function newRepo(): TestRepo {
  const r = new TestRepo();
  cleanup.push(r.dir);
  r.write('.keywarden.yaml', CONFIG);
  r.commit('config');
  return r;
}

describe('keywarden history', () => {
  it('reports a deleted secret at the commit, path and line that added it, as JSON, exit 1', () => {
    const r = newRepo();
    const s = secret();
    r.write('src/app.js', lines(4, 2, s));
    const added = r.commit('add key');
    r.write('src/app.js', lines(4, 0, ''));
    r.commit('remove key');
    const res = run(['history', r.dir, '--format', 'json']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(1);
    const report = Report.parse(JSON.parse(res.stdout));
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ ruleId: 'kwtest-token', path: 'src/app.js', line: 2, column: 10 });
    expect(report.findings[0]!.source).toMatchObject({
      kind: 'git',
      commit: added,
      author: 'Ada Lovelace',
      email: 'ada@example.com',
      message: 'add key',
    });
    expect(res.stdout).not.toContain(s);
  });

  it('scans only new commits with --incremental, and exits 0 when nothing new leaks', () => {
    const r = newRepo();
    const state = join(tmp('kw-st-'), 'state.json');
    const s1 = secret();
    r.write('a.txt', `${s1}\n`);
    r.commit('one');
    const first = run(['history', r.dir, '--incremental', '--state-file', state, '--format', 'json', '--show-secrets']);
    expect(JSON.parse(first.stdout).findings.map((f: { secret: string }) => f.secret)).toEqual([s1]);
    const s2 = secret();
    r.write('b.txt', `${s2}\n`);
    r.commit('two');
    const second = run(['history', r.dir, '--incremental', '--state-file', state, '--format', 'json', '--show-secrets']);
    expect(JSON.parse(second.stdout).findings.map((f: { secret: string }) => f.secret)).toEqual([s2]);
    const third = run(['history', r.dir, '--incremental', '--state-file', state, '--format', 'json']);
    expect(third.code).toBe(0);
    expect(JSON.parse(third.stdout).findings).toEqual([]);
  });

  it('honours --since-commit', () => {
    const r = newRepo();
    r.write('a.txt', `${secret()}\n`);
    const old = r.commit('old');
    const s = secret();
    r.write('b.txt', `${s}\n`);
    r.commit('new');
    const res = run(['history', r.dir, '--since-commit', old, '--format', 'json', '--show-secrets']);
    expect(JSON.parse(res.stdout).findings.map((f: { secret: string }) => f.secret)).toEqual([s]);
  });

  it('fails with exit 2 and KW_GIT_NOT_A_REPO outside a repository, and KW_GIT_UNKNOWN_REF for a bad ref', () => {
    const dir = tmp('kw-plain-');
    const res = run(['history', dir], { env: { GIT_CEILING_DIRECTORIES: tmpdir() } });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('KW_GIT_NOT_A_REPO');
    const r = newRepo();
    const bad = run(['diff', r.dir, '--base', 'no-such-branch']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('KW_GIT_UNKNOWN_REF');
  });

  it('warns that a shallow clone has incomplete history', () => {
    const r = newRepo();
    for (let i = 0; i < 3; i++) {
      r.write('f.txt', `${i}\n`);
      r.commit(`c${i}`);
    }
    const clone = join(tmp('kw-shallow-'), 'c');
    spawnSync('git', ['clone', '-q', '--depth', '2', `file://${r.dir}`, clone]);
    const res = run(['history', clone, '--format', 'json']);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/shallow clone: history is incomplete \(HEAD reaches 2 commits\)/);
  });
});

describe('keywarden diff', () => {
  it('reports what the PR adds at the head-side line, not what the base had, as SARIF', () => {
    const r = newRepo();
    const old = secret();
    r.write('a.txt', `${old}\n`);
    r.commit('base');
    r.git('checkout', '-q', '-b', 'pr');
    const s = secret();
    r.write('a.txt', `${old}\nmore\n${s}\n`);
    r.commit('pr');
    const res = run(['diff', r.dir, '--base', 'main', '--head', 'pr', '--format', 'json', '--show-secrets']);
    expect(res.code).toBe(1);
    const f = JSON.parse(res.stdout).findings;
    expect(f.map((x: { secret: string; path: string; line: number }) => `${x.secret === s} ${x.path}:${x.line}`)).toEqual([
      'true a.txt:3',
    ]);
    const sarif = run(['diff', r.dir, '--base', 'main', '--head', 'pr', '--format', 'sarif']);
    expect(JSON.parse(sarif.stdout).runs[0].results[0].locations[0].physicalLocation.region.startLine).toBe(3);
  });
});

describe('keywarden staged (pre-commit hook)', () => {
  it('blocks a real git commit that stages a GitHub token (built-in rules) and lets a clean one through', () => {
    const r = new TestRepo();
    cleanup.push(r.dir);
    r.write('README.md', 'hello\n');
    r.commit('init');
    const hook = join(r.dir, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" staged --format text\n`);
    chmodSync(hook, 0o755);
    const token = ghp();
    r.write('deploy.sh', `export GITHUB_TOKEN=${token}\n`);
    r.git('add', 'deploy.sh');
    const before = r.head();
    const env = { ...process.env, KEYWARDEN_FINGERPRINT_KEY: 'test-fingerprint-key-0123456789', NO_COLOR: '1' };
    const blocked = spawnSync('git', ['commit', '-m', 'leak'], { cwd: r.dir, encoding: 'utf8', env });
    expect(blocked.status).not.toBe(0);
    expect(blocked.stdout + blocked.stderr).toContain('deploy.sh');
    expect(blocked.stdout + blocked.stderr).not.toContain(token);
    expect(r.head()).toBe(before);
    r.write('deploy.sh', 'export GITHUB_TOKEN="$(cat ~/.token)"\n');
    r.git('add', 'deploy.sh');
    const ok = spawnSync('git', ['commit', '-q', '-m', 'clean'], { cwd: r.dir, encoding: 'utf8', env });
    expect(ok.status).toBe(0);
    expect(r.head()).not.toBe(before);
  });
});

describe('keywarden history URL', () => {
  it('clones a URL bare into the cache, fetches on the next run, and keeps the token out of config and output', () => {
    const r = newRepo();
    const s1 = secret();
    r.write('a.txt', `${s1}\n`);
    r.commit('one');
    const cache = tmp('kw-repos-');
    const cfg = configFile();
    const token = 'kwtoken-not-a-real-token-0123456789';
    const env = { GIT_TOKEN: token };
    const first = run(['history', `file://${r.dir}`, '--cache-dir', cache, '--config', cfg, '--format', 'json'], { env });
    expect(first.code).toBe(1);
    const clones = readdirSync(cache);
    expect(clones).toHaveLength(1);
    expect(existsSync(join(cache, clones[0]!, 'HEAD'))).toBe(true);
    expect(existsSync(join(cache, clones[0]!, '.git'))).toBe(false); // bare
    r.write('b.txt', `${secret()}\n`);
    r.commit('two');
    const second = run(['history', `file://${r.dir}`, '--cache-dir', cache, '--config', cfg, '--format', 'json'], { env });
    expect(JSON.parse(second.stdout).findings).toHaveLength(2);
    expect(readFileSync(join(cache, clones[0]!, 'config'), 'utf8')).not.toContain(token);
    expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain(token);
  });

  it('sends the token as an HTTP header scoped to the origin, and redacts it from errors', async () => {
    const r = newRepo();
    r.write('a.txt', `${secret()}\n`);
    r.commit('one');
    const bare = join(tmp('kw-served-'), 'repo.git');
    spawnSync('git', ['clone', '-q', '--bare', r.dir, bare]);
    spawnSync('git', ['update-server-info'], { cwd: bare });
    const token = 'kwtoken-http-0123456789abcdef';
    const seen: string[] = [];
    // A dumb-HTTP git server: static files from the bare repo, 401 without the right header.
    const server: Server = createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      const want = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
        return;
      }
      const file = join(bare, decodeURIComponent((req.url ?? '/').split('?')[0]!.replace(/^\/repo\.git\//, '')));
      if (!file.startsWith(bare) || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    const url = `http://127.0.0.1:${port}/repo.git`;
    const runAsync = (args: string[], env: Record<string, string>) =>
      new Promise<{ code: number | null; out: string }>((ok) => {
        const p = spawn(process.execPath, [BIN, ...args], {
          env: { ...process.env, KEYWARDEN_FINGERPRINT_KEY: 'k'.repeat(32), ...env },
        });
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (out += d));
        p.on('close', (code) => ok({ code, out }));
      });
    const denied = await runAsync(
      [
        'history',
        url.replace('http://', `http://user:${token}x@`),
        '--cache-dir',
        tmp('kw-c1-'),
        '--config',
        configFile(),
        '--format',
        'json',
      ],
      {},
    );
    expect(denied.code).toBe(2);
    expect(denied.out).not.toContain(`${token}x`);
    const ok = await runAsync(['history', url, '--cache-dir', tmp('kw-c2-'), '--config', configFile(), '--format', 'json'], {
      GIT_TOKEN: token,
    });
    server.close();
    expect(ok.out).not.toContain(token);
    expect(ok.code).toBe(1);
    expect(seen.some((h) => h.startsWith('Basic '))).toBe(true);
  });
});
