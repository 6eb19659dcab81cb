// Re-runs (issue #10): a completed scan is not a cache that hides a key committed since, a failed
// job's id is free again, `force` runs a scan again, and concurrent identical submissions add one job.
// A real redis-server, the HTTP API on 127.0.0.1 and in-process workers (startWorkers).
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, createApiServer } from '../../api/server.js';
import { jobIdFor } from '../../workers/jobs.js';
import { JobQueues, resultStaysValid } from '../../workers/queue.js';
import { createRedis } from '../../workers/redis.js';
import { FindingStore } from '../../workers/store.js';
import { type RunningWorkers, startWorkers } from '../../workers/worker.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { githubToken, logBatches, makeRepo, scanSettings, TEST_FINGERPRINT_KEY } from './fixtures.js';

const BIN = join(fileURLToPath(new URL('../..', import.meta.url)), 'bin', 'keywarden.js');
const run = promisify(execFile);
const TOKEN = randomBytes(24).toString('base64url');

let redis: RedisHandle;
let conn: Redis;
let home: string;
const cleanup: Array<() => Promise<void> | void> = [];
let n = 0;

beforeAll(async () => {
  redis = await startRedis({ aof: false });
  conn = createRedis(redis.url);
  home = mkdtempSync(join(tmpdir(), 'kw-reruns-'));
});
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  conn?.disconnect();
  await redis?.stop();
  rmSync(home, { recursive: true, force: true });
});

async function setup(withWorkers = true) {
  const prefix = `rerun${process.pid}-${++n}`;
  const queues = new JobQueues(conn, prefix, { logBatches: logBatches() });
  const store = new FindingStore(conn, prefix);
  let workers: RunningWorkers | null = null;
  if (withWorkers) {
    workers = await startWorkers({ redisUrl: redis.url, prefix, scan: scanSettings(), stalledIntervalMs: 1000 });
    const w = workers;
    cleanup.push(() => w.close(1000));
  }
  cleanup.push(() => queues.close());
  return { prefix, queues, store };
}

function commit(repo: string, file: string, text: string): void {
  writeFileSync(join(repo, file), text);
  const env = { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T' };
  execFileSync('git', ['add', '-A'], { cwd: repo, env: { ...env, GIT_COMMITTER_EMAIL: 't@example.com' } });
  execFileSync('git', ['commit', '-q', '-m', `add ${file}`], {
    cwd: repo,
    env: { ...env, GIT_COMMITTER_EMAIL: 't@example.com' },
  });
}

describe('re-runs', () => {
  it('scans a repository again when it is submitted after a completed scan: a key committed since is found', async () => {
    const { queues, store } = await setup();
    const repo = makeRepo([githubToken(800)]);
    cleanup.push(() => rmSync(repo, { recursive: true, force: true }));
    const first = await queues.enqueue('scan-history', { repo });
    expect((await queues.waitFor('scan-history', first.id, 20_000)).state).toBe('completed');
    expect(await store.list()).toHaveLength(1);

    commit(repo, 'later.env', `pushed later with ${githubToken(801)}\n`);
    const second = await queues.enqueue('scan-history', { repo });
    expect(second).toEqual({ id: first.id, kind: 'scan-history', duplicate: false });
    expect((await queues.waitFor('scan-history', second.id, 20_000)).state).toBe('completed');
    expect(await store.list()).toHaveLength(2);
  });

  it('frees a failed job id: the same submission runs again once the cause is fixed', async () => {
    const { queues, store } = await setup();
    const path = join(home, `late-${n}.core`);
    const first = await queues.enqueue('scan-dump', { path });
    const failed = await queues.waitFor('scan-dump', first.id, 20_000);
    expect(failed).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(failed.failedReason).toMatch(/KW_JOB_INVALID|KW_PATH_NOT_ALLOWED/);

    writeFileSync(path, Buffer.from(`\0\0GITHUB_TOKEN=${githubToken(810)}\0\0`));
    const again = await queues.enqueue('scan-dump', { path });
    expect(again).toEqual({ id: first.id, kind: 'scan-dump', duplicate: false });
    const view = await queues.waitFor('scan-dump', again.id, 20_000);
    // With the dump-root policy of another #10 change, the path must be under KEYWARDEN_DUMP_ROOTS; the
    // id is free again either way.
    if (view.state === 'completed') expect(await store.list()).toHaveLength(1);
    else expect(view.failedReason).toMatch(/KW_PATH_NOT_ALLOWED/);
  });

  it('answers a completed log batch from its result, and runs it again with force', async () => {
    const { queues } = await setup();
    const data = { stream: 'app', lines: ['nothing here'] };
    const first = await queues.enqueue('scan-log-batch', data);
    expect((await queues.waitFor('scan-log-batch', first.id, 20_000)).state).toBe('completed');
    const finishedOn = (await queues.queue('scan-log-batch').getJob(first.id))?.finishedOn;
    expect(await queues.enqueue('scan-log-batch', data)).toMatchObject({ duplicate: true });
    const forced = await queues.enqueue('scan-log-batch', data, { force: true });
    expect(forced).toEqual({ id: first.id, kind: 'scan-log-batch', duplicate: false });
    expect((await queues.waitFor('scan-log-batch', forced.id, 20_000)).state).toBe('completed');
    expect((await queues.queue('scan-log-batch').getJob(first.id))?.finishedOn).toBeGreaterThan(finishedOn ?? 0);
  });

  it('keeps a diff between two commit ids as a cached result, and a diff of ref names not', () => {
    const sha = 'a'.repeat(40);
    expect(resultStaysValid({ kind: 'scan-diff', data: { repo: '/r', base: sha, head: 'b'.repeat(40) } })).toBe(true);
    expect(resultStaysValid({ kind: 'scan-diff', data: { repo: '/r', base: 'main', head: sha } })).toBe(false);
    expect(resultStaysValid({ kind: 'scan-history', data: { repo: '/r' } })).toBe(false);
  });

  it('runs a job again with `keywarden enqueue --force`', async () => {
    const { prefix, queues } = await setup();
    const env = {
      ...process.env,
      REDIS_URL: redis.url,
      KEYWARDEN_PREFIX: prefix,
      KEYWARDEN_FINGERPRINT_KEY: TEST_FINGERPRINT_KEY,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_STATE_HOME: join(home, 'state'),
    };
    const args = [BIN, 'enqueue', 'scan-log-batch', '--stream', 'cli', '--line', 'hello', '--wait', '--timeout', '20000'];
    const first = JSON.parse((await run(process.execPath, args, { env, cwd: home })).stdout);
    expect(first).toMatchObject({ state: 'completed', duplicate: false });
    const plain = JSON.parse((await run(process.execPath, args, { env, cwd: home })).stdout);
    expect(plain).toMatchObject({ id: first.id, duplicate: true });
    const forced = JSON.parse((await run(process.execPath, [...args, '--force'], { env, cwd: home })).stdout);
    expect(forced).toMatchObject({ id: first.id, duplicate: false, state: 'completed' });
    await queues.close();
  });
});

describe('concurrent identical submissions', () => {
  let api: ApiServer;
  let base: string;
  let prefix: string;
  beforeAll(async () => {
    prefix = `rerun-api${process.pid}`;
    api = await createApiServer({ redisUrl: redis.url, prefix, token: TOKEN, processMetrics: false });
    base = await api.listen('127.0.0.1', 0);
    cleanup.push(() => api.close());
  });

  const post = (body: unknown) =>
    fetch(`${base}/v1/scans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as { id: string; duplicate: boolean } }));

  it('answers duplicate: true to all but one of three identical POSTs sent at once', async () => {
    const data = { repo: '/srv/concurrent', branch: 'main' };
    const answers = await Promise.all([1, 2, 3].map(() => post({ kind: 'scan-history', data })));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    expect(new Set(answers.map((a) => a.body.id))).toEqual(new Set([jobIdFor('scan-history', data)]));
    expect(answers.filter((a) => !a.body.duplicate)).toHaveLength(1);
    const counts = await new JobQueues(conn, prefix).counts(['scan-history']);
    expect(counts['scan-history']).toMatchObject({ waiting: 1 });
  });

  it('takes `force: true` in the body, and refuses a force that is not a boolean', async () => {
    const data = { repo: '/srv/forced' };
    expect((await post({ kind: 'scan-history', data, force: true })).status).toBe(202);
    const bad = await post({ kind: 'scan-history', data, force: 'yes' });
    expect(bad.status).toBe(400);
  });
});
