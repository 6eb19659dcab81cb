// `keywarden serve` as a user runs it: the compiled binary, a real redis-server, SIGTERM to stop.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkedFetch } from '../helpers/openapi.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';

const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
const TOKEN = randomBytes(24).toString('base64url');

interface Running {
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], env: Record<string, string>, cwd: string): Running {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (d) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, stderr: () => err, exited };
}

async function waitForLine(r: Running, event: string, ms = 15_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const line of r.stderr().split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.event === event) return entry;
    }
    if (r.proc.exitCode !== null) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`no ${event} line; stderr:\n${r.stderr()}`);
}

describe('keywarden serve', () => {
  let redis: RedisHandle;
  let dir: string;
  const prefix = `kwtest-serve-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    redis = await startRedis({ aof: false });
    dir = mkdtempSync(join(tmpdir(), 'kw-serve-'));
  });

  afterAll(async () => {
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves on loopback, syncs the schedule from .keywarden.yaml, and stops cleanly on SIGTERM', async () => {
    writeFileSync(
      join(dir, '.keywarden.yaml'),
      'schedule:\n  cron: "0 2 * * *"\n  timezone: UTC\n  repos: [/srv/a.git, /srv/b.git]\n',
    );
    const r = run(
      ['serve', '--port', '0', '--log-level', 'silent'],
      { REDIS_URL: redis.url, KEYWARDEN_PREFIX: prefix, KEYWARDEN_API_TOKEN: TOKEN },
      dir,
    );
    try {
      const sched = await waitForLine(r, 'schedule');
      expect((sched.upserted as unknown[]).length).toBe(2);
      const { url } = (await waitForLine(r, 'listening')) as { url: string };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      // Another process: its responses are checked here against the document it serves.
      const doc = await (await fetch(`${url}/v1/openapi.json`)).json();
      expect((await checkedFetch(doc, `${url}/healthz`)).res.status).toBe(200);
      expect((await checkedFetch(doc, `${url}/v1/findings`)).res.status).toBe(401);
      const { text } = await checkedFetch(doc, `${url}/v1/schedules`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const schedules = JSON.parse(text) as { repos: { repo: string; next: string | null }[] };
      expect(schedules.repos.map((s) => s.repo)).toEqual(['/srv/a.git', '/srv/b.git']);
      for (const s of schedules.repos) expect(s.next).toMatch(/T02:00:00\.000Z$/);
    } finally {
      r.proc.kill('SIGTERM');
    }
    expect(await r.exited).toBe(0);
    expect(r.stderr()).not.toContain(TOKEN);
  });

  it('refuses to start without KEYWARDEN_API_TOKEN (exit 2, one line)', async () => {
    const r = run(['serve', '--port', '0'], { REDIS_URL: redis.url, KEYWARDEN_PREFIX: prefix }, dir);
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toMatch(/KEYWARDEN_API_TOKEN is not set.*\[KW_CONFIG_INVALID\]/);
  });
});
