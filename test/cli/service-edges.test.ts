// The CLI's rough edges from the service trial (issue #10), run as a user runs them: the compiled
// binary on real files, a real pipe closed early, a real Redis (and one that is not there), and the
// README's own service recipe.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { Report } from '../../scanner/report.js';
import { JobQueues } from '../../workers/queue.js';
import { createRedis } from '../../workers/redis.js';
import { type RedisHandle, startRedis, unusedPort } from '../helpers/redis.js';

const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const rng = seededRng(1234);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kw-cli-edges-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    KEYWARDEN_FINGERPRINT_KEY: 'test-fingerprint-key-0123456789',
    XDG_CONFIG_HOME: dir,
    XDG_CACHE_HOME: dir,
    XDG_STATE_HOME: dir,
    ...extra,
  };
}

function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? dir, encoding: 'utf8', env: env(opts.env) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('keywarden scan on one file and into a closed pipe', () => {
  it('scans a single file, reported by its name, with the settings of its directory', () => {
    const sub = join(dir, 'single');
    mkdirSync(sub);
    const token = ghp();
    writeFileSync(join(sub, 'app.env'), `# deploy\nGITHUB_TOKEN=${token}\n`);
    writeFileSync(join(sub, 'other.env'), `GITHUB_TOKEN=${ghp()}\n`);
    const r = run(['scan', join(sub, 'app.env'), '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const report = Report.parse(JSON.parse(r.stdout));
    expect(report.findings.map((f) => `${f.ruleId} ${f.path}:${f.line}`)).toEqual(['github-pat app.env:2']);
    expect(r.stdout).not.toContain(token);
  });

  it('ends quietly with its exit code when the reader closes the pipe early (| head -c 10)', async () => {
    const big = join(dir, 'big');
    mkdirSync(big);
    // ~1 MB of JSON report: far more than a pipe holds, so writes fail with EPIPE once the reader is gone.
    writeFileSync(join(big, 'tokens.txt'), Array.from({ length: 3000 }, () => `token ${ghp()}\n`).join(''));
    for (const format of ['json', 'text']) {
      const child = spawn(process.execPath, [BIN, 'scan', big, '--format', format], {
        env: env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      // Read the first 10 bytes, as `head -c 10` does, then close our end.
      await new Promise<void>((res) => {
        child.stdout.once('data', () => {
          child.stdout.destroy();
          res();
        });
      });
      const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
      expect({ format, stderr }).toEqual({ format, stderr: '' });
      expect(code).toBe(1);
    }
  });
});

describe('git scans of a directory that is not there', () => {
  it('say that it does not exist, not "spawn git ENOENT"', () => {
    const r = run(['history', './no-such-repo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'no-such-repo')} does not exist`);
    expect(r.stderr).not.toContain('ENOENT');
  });
});

describe('keywarden enqueue', () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis({ aof: false });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('resolves a relative --repo against its own directory before queueing, and refuses one that is not there', async () => {
    const prefix = `kw-cli-rel-${process.pid}`;
    const repo = join(dir, 'repos', 'app');
    mkdirSync(repo, { recursive: true });
    const e = { REDIS_URL: redis.url, KEYWARDEN_PREFIX: prefix };
    const ok = run(['enqueue', 'scan-history', '--repo', 'app'], { cwd: join(dir, 'repos'), env: e });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const { id } = JSON.parse(ok.stdout) as { id: string };
    const conn = createRedis(redis.url);
    const queues = new JobQueues(conn, prefix);
    try {
      expect((await queues.get('scan-history', id))?.data).toEqual({ repo });
      const missing = run(['enqueue', 'scan-history', '--repo', './gone'], { cwd: join(dir, 'repos'), env: e });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`${join(dir, 'repos', 'gone')} does not exist`);
      expect((await queues.counts(['scan-history']))['scan-history']).toMatchObject({ waiting: 1 });
    } finally {
      await queues.close();
      conn.disconnect();
    }
  });

  it('names the Redis it cannot reach, without its password, in one line', async () => {
    const port = await unusedPort();
    const password = 'hunter2-redis-password';
    for (const args of [
      ['enqueue', 'scan-history', '--repo', '/srv/git/app.git'],
      ['findings', 'list'],
    ]) {
      const r = run(args, { env: { REDIS_URL: `redis://:${password}@127.0.0.1:${port}` } });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `keywarden: cannot reach Redis at redis://:***@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} [KW_REDIS]\n`,
      );
      expect(r.stderr + r.stdout).not.toContain(password);
    }
  });
});

describe("README's service recipe", () => {
  const text = readFileSync(README, 'utf8');
  const recipe = text.slice(text.indexOf('## Running the service'));
  const block = recipe.slice(recipe.indexOf('```sh'), recipe.indexOf('```\n', recipe.indexOf('```sh') + 5));

  it('binds Redis to loopback and gives it a data directory of its own', () => {
    const redisCmd = block.slice(block.indexOf('redis-server'), block.indexOf('&', block.indexOf('redis-server')));
    expect(redisCmd).toMatch(/--bind 127\.0\.0\.1\b/);
    expect(redisCmd).toMatch(/--dir \S+/);
    expect(redisCmd).toContain('--appendonly yes');
  });

  it('waits for the job in step 4 before reading findings', () => {
    const step4 = block.slice(block.indexOf('# 4.'));
    expect(step4).toContain('keywarden enqueue scan-history --repo /srv/git/app.git --wait');
    expect(step4.indexOf('--wait')).toBeLessThan(step4.indexOf('/v1/findings'));
    expect(step4).toMatch(/until curl[\s\S]*completed\|failed[\s\S]*\/v1\/findings/);
  });

  it('links the threat model', () => {
    expect(text).toContain('[docs/security.md](docs/security.md)');
  });
});
