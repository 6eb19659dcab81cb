// The rotation loop in one process over a real redis-server, a real fake provider and a real receiver
// on 127.0.0.1, with BullMQ workers started in-process: decision, signed webhook, callback (through
// the function the API route calls), confirmation, escalation. The HTTP route and the worker processes
// are test/loop/'s.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RotationSettings, rotationSettings } from '../../config/sections/rotation.js';
import { resolveProviderBaseUrls } from '../../providers/base-urls.js';
import { builtinRules } from '../../rules/builtin.js';
import { acceptCallback } from '../../workers/loop-callback.js';
import { JobQueues } from '../../workers/queue.js';
import { createRedis } from '../../workers/redis.js';
import type { AuditEvent } from '../../workers/store.js';
import { type RunningWorkers, startWorkers } from '../../workers/worker.js';
import { FakeProvider } from '../helpers/fake-provider.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { RotationReceiver } from '../helpers/rotation-receiver.js';
import { scanSettings } from './fixtures.js';

const RULES = await builtinRules();
const SIGNING = `loop-signing-${process.pid}-0123456789`;
const VAULT_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + process.pid) & 255)).toString('hex');

let redis: RedisHandle;
let conn: Redis;
let fake: FakeProvider;
let n = 0;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  redis = await startRedis({ aof: false });
  conn = createRedis(redis.url);
  fake = await FakeProvider.start();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  conn?.disconnect();
  await fake?.stop();
  await redis?.stop();
});

function settings(env: Record<string, string>, file: unknown = {}): RotationSettings {
  const r = rotationSettings({ env, file });
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.settings;
}

function repoWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kw-loop-repo-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const git = (...a: string[]) =>
    execFileSync('git', a, {
      cwd: dir,
      stdio: 'ignore',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'T',
        GIT_AUTHOR_EMAIL: 't@example.com',
        GIT_COMMITTER_NAME: 'T',
        GIT_COMMITTER_EMAIL: 't@example.com',
      },
    });
  git('init', '-q', '-b', 'main');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git('add', '-A');
  git('commit', '-q', '-m', 'leak');
  return dir;
}

async function start(s: RotationSettings): Promise<{ prefix: string; workers: RunningWorkers; queues: JobQueues }> {
  const prefix = `loop${process.pid}-${++n}`;
  const workers = await startWorkers({
    redisUrl: redis.url,
    prefix,
    concurrency: 8,
    scan: scanSettings(),
    loop: { settings: s, rules: RULES, baseUrls: resolveProviderBaseUrls(fake.env()) },
  });
  const queues = new JobQueues(conn, prefix);
  cleanups.push(async () => {
    await workers.close();
    await queues.close();
  });
  return { prefix, workers, queues };
}

async function until<T>(f: () => Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const trail = (events: AuditEvent[]) => events.map((e) => `${e.what}: ${e.from || '-'} -> ${e.to}`);

describe('the loop in one process', () => {
  it('detected -> rotation_requested -> rotated -> revoked, the raw secret gone afterwards', async () => {
    const key = fake.issue('github-pat');
    const receiver = new RotationReceiver({
      secret: SIGNING,
      onRotationRequested: async (d) => {
        fake.revoke(key.secret);
        const r = await acceptCallback(running.workers.loop!, d.event!.finding.fingerprint, {
          presented: d.event!.callback.token,
          admin: false,
          body: { revoked: true, note: 'rotated by the test' },
          actor: 'api:callback',
        });
        if (!r.ok) throw new Error(r.message);
      },
    });
    await receiver.start();
    cleanups.push(() => receiver.stop());
    const s = settings(
      {
        KEYWARDEN_ROTATION_WEBHOOK_URL: receiver.url,
        KEYWARDEN_WEBHOOK_SECRET: SIGNING,
        KEYWARDEN_SECRET_KEY: VAULT_KEY,
        KEYWARDEN_PUBLIC_URL: 'http://127.0.0.1:9',
        KEYWARDEN_REVOCATION_FIRST_POLL: '0s',
        KEYWARDEN_REVOCATION_POLL_INTERVAL: '100ms',
      },
      {},
    );
    const running = await start(s);
    const repo = repoWith({ 'config/app.env': `GITHUB_TOKEN=${key.secret}\n` });
    await running.queues.enqueue('scan-history', { repo });
    const store = running.workers.store;
    const f = await until(async () => (await store.list({ state: 'revoked' }))[0]);
    expect(trail(await store.audit(f.fingerprint))).toEqual([
      'detected: - -> detected',
      'liveness_check: detected -> detected',
      'request_rotation: detected -> rotation_requested',
      'webhook: rotation_requested -> rotation_requested',
      'rotated: rotation_requested -> rotated',
      'confirm_revoked: rotated -> revoked',
    ]);
    expect(await conn.exists(store.keyOf(f.fingerprint, 'secret'))).toBe(0);
    expect(receiver.rotations).toHaveLength(1);
  });
});
