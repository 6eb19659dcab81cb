// Redis away (issue #10): the API answers `503 KW_REDIS` within 2 s on every route that needs Redis
// (KEYWARDEN_REDIS_REQUEST_TIMEOUT, 1500 ms by default), naming the URL without its password, and
// serves again once Redis is back; a worker logs one line per Redis state change. Real redis-server,
// real HTTP on 127.0.0.1, a worker spawned from dist/.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAccessPolicy } from '../../access/policy.js';
import { type ApiServer, createApiServer } from '../../api/server.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';

const BIN = join(fileURLToPath(new URL('../..', import.meta.url)), 'bin', 'keywarden.js');
const TOKEN = randomBytes(24).toString('base64url');
// Redis here has no password: ioredis warns and goes on. The point is that it never shows in a message.
const PASSWORD = `pw${randomBytes(8).toString('hex')}`;
/** The contract is 2 s; the measured bound leaves room for a loaded test machine. */
const BOUND_MS = 2500;

type Json = { error: { code: string; message: string } };

let redis: RedisHandle;
let home: string;
let api: ApiServer;
let base: string;

beforeAll(async () => {
  redis = await startRedis({ aof: false });
  home = mkdtempSync(join(tmpdir(), 'kw-away-'));
  api = await createApiServer({
    redisUrl: `redis://:${PASSWORD}@127.0.0.1:${redis.port}`,
    prefix: `away${process.pid}`,
    token: TOKEN,
    processMetrics: false,
    access: { ...defaultAccessPolicy(), dumpRoots: ['/var/crash'] },
  });
  base = await api.listen('127.0.0.1', 0);
});
afterAll(async () => {
  await api?.close();
  await redis?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function timed(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers },
  });
  const body = await res.json().catch(() => null);
  return { status: res.status, body, ms: performance.now() - t0 };
}

const scan = { method: 'POST', body: JSON.stringify({ kind: 'scan-dump', data: { path: '/var/crash/app.core' } }) };

describe('the API with Redis away', () => {
  it('answers 503 KW_REDIS within 2 s on every Redis route, and serves again when Redis is back', async () => {
    expect((await timed('/v1/findings')).status).toBe(200);
    await redis.down();
    try {
      for (const [path, init] of [
        ['/v1/findings', {}],
        ['/v1/scans', scan],
        ['/v1/jobs/scan-dump-00000000000000000000000000000000', {}],
        [`/v1/findings/kw1:${'0'.repeat(32)}`, {}],
        ['/v1/schedules', {}],
        ['/metrics', {}],
      ] as const) {
        const r = await timed(path, init);
        if (path === '/v1/schedules') continue; // no schedule configured: answered without Redis
        expect({ path, status: r.status, code: (r.body as Json).error?.code }).toEqual({ path, status: 503, code: 'KW_REDIS' });
        expect(r.ms, path).toBeLessThan(BOUND_MS);
        const message = (r.body as Json).error.message;
        expect(message).not.toContain(PASSWORD);
        if (path !== '/metrics') expect(message).toContain(`127.0.0.1:${redis.port}`);
      }
      // Still bounded on a second round (no queue of commands building up behind the first).
      const again = await timed('/v1/scans', scan);
      expect(again.status).toBe(503);
      expect(again.ms).toBeLessThan(BOUND_MS);
    } finally {
      await redis.up();
    }
    // ioredis reconnects within its capped delay (2 s): the API serves again without a restart.
    const deadline = Date.now() + 10_000;
    let back = await timed('/v1/findings');
    while (back.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      back = await timed('/v1/findings');
    }
    expect(back.status).toBe(200);
    expect((await timed('/v1/scans', scan)).status).toBe(202);
  });
});

describe('a worker with Redis away', () => {
  let worker: ChildProcess | null = null;
  afterAll(() => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  });

  it('logs one structured line per Redis state change (down, retrying, up), not one per failed command', async () => {
    const proc = spawn(process.execPath, [BIN, 'worker', '--queues', 'scan-log-batch,scan-dump'], {
      env: {
        ...process.env,
        REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${redis.port}`,
        KEYWARDEN_PREFIX: `away-w${process.pid}`,
        KEYWARDEN_FINGERPRINT_KEY: 'keywarden-test-fingerprint-key-0123456789',
        XDG_CONFIG_HOME: join(home, 'config'),
        XDG_CACHE_HOME: join(home, 'cache'),
        XDG_STATE_HOME: join(home, 'state'),
      },
      cwd: home,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker = proc;
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d.toString();
    });
    proc.stderr!.on('data', (d) => {
      out += d.toString();
    });
    const until = async (cond: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out; worker output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(() => out.includes('"event":"ready"'), 20_000);
    const before = out.length;
    await redis.down();
    // Long enough for many reconnect attempts by each of the worker's connections.
    await new Promise((r) => setTimeout(r, 4000));
    await redis.up();
    await until(() => out.includes('"event":"redis-up"'), 15_000);
    const lines = out
      .slice(before)
      .split('\n')
      .filter((l) => l.trim() !== '');
    const events = lines.map((l) => {
      try {
        return (JSON.parse(l) as { event?: string }).event ?? l;
      } catch {
        return l; // an unstructured line: fails the comparison below
      }
    });
    expect(events).toEqual(['redis-down', 'redis-retrying', 'redis-up']);
    expect(out).not.toContain(PASSWORD);
    expect(lines[0]).toContain(`redis://:***@127.0.0.1:${redis.port}`);
    proc.kill('SIGTERM');
  });
});
