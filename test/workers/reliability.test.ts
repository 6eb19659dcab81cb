// The service under failure, with real processes: a real redis-server (AOF on) and workers spawned as
// `node bin/keywarden.js worker` (compiled by the vitest globalSetup). Short lock and stalled-check
// intervals make a killed worker's job come back within seconds.
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobQueues } from '../../workers/queue.js';
import { createRedis } from '../../workers/redis.js';
import { FindingStore } from '../../workers/store.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { type SpawnedWorker, spawnWorkerProcess, until } from '../helpers/worker-process.js';
import { githubToken, logBatches, makeRepo, TEST_FINGERPRINT_KEY } from './fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'keywarden.js');
const run = promisify(execFile);

let redis: RedisHandle;
let conn: Redis;
let home: string;
const children = new Set<ChildProcess>();
const repos: string[] = [];
let n = 0;

beforeAll(async () => {
  redis = await startRedis({ aof: true });
  conn = createRedis(redis.url);
  home = mkdtempSync(join(tmpdir(), 'kw-home-'));
});
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});
afterAll(async () => {
  conn?.disconnect();
  await redis?.stop();
  for (const r of repos) rmSync(r, { recursive: true, force: true });
  if (home) rmSync(home, { recursive: true, force: true });
});

function env(prefix: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    REDIS_URL: redis.url,
    KEYWARDEN_PREFIX: prefix,
    KEYWARDEN_FINGERPRINT_KEY: TEST_FINGERPRINT_KEY,
    // Dumps may be read under the test's home only (the default refuses every dump).
    KEYWARDEN_DUMP_ROOTS: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_STATE_HOME: join(home, 'state'),
  };
}

/** Starts a worker process and resolves once it says it is ready. */
async function spawnWorker(prefix: string, extra: string[] = []): Promise<SpawnedWorker> {
  return spawnWorkerProcess(BIN, extra, { env: env(prefix), cwd: home, children });
}

function setup() {
  const prefix = `rel${process.pid}-${++n}`;
  return { prefix, queues: new JobQueues(conn, prefix, { logBatches: logBatches() }), store: new FindingStore(conn, prefix) };
}

describe('workers under failure', () => {
  it('a job whose worker is SIGKILLed mid-scan completes on another worker, no finding lost or duplicated', async () => {
    const { prefix, queues, store } = setup();
    const tokens = Array.from({ length: 8 }, (_, i) => githubToken(100 + i));
    const repo = makeRepo(tokens);
    repos.push(repo);
    // A holds the job after recording two of its eight occurrences: it is mid-job when killed.
    const a = await spawnWorker(prefix, ['--queues', 'scan-history', '--debug-hold-after', '2']);
    const job = await queues.enqueue('scan-history', { repo });
    await until(
      () => a.log().includes('"event":"debug-hold"'),
      30_000,
      () => `A never held the job: ${a.log()}`,
    );
    a.proc.kill('SIGKILL');
    expect(await store.list()).toHaveLength(2);

    const b = await spawnWorker(prefix, ['--queues', 'scan-history']);
    const view = await queues.waitFor('scan-history', job.id, 40_000);
    expect(view.state).toBe('completed');
    // B's completion line may reach the pipe just after the state is visible.
    await until(
      () => b.log().includes(`"event":"completed","jobId":"${job.id}"`),
      5000,
      () => `B never reported the job: ${b.log()}`,
    );

    const list = await store.list();
    expect(list).toHaveLength(tokens.length);
    for (const f of list) {
      expect(f.occurrenceCount).toBe(1);
      expect((await store.audit(f.fingerprint)).filter((e) => e.what === 'detected')).toHaveLength(1);
    }
    await queues.close();
  });

  it('the same scan enqueued twice is one job and one set of findings', async () => {
    const { prefix, queues, store } = setup();
    const repo = makeRepo([githubToken(200), githubToken(201)]);
    repos.push(repo);
    const first = await queues.enqueue('scan-history', { repo });
    const second = await queues.enqueue('scan-history', { repo });
    expect(second).toEqual({ ...first, duplicate: true });
    await spawnWorker(prefix, ['--queues', 'scan-history', '--concurrency', '2']);
    expect((await queues.waitFor('scan-history', first.id, 30_000)).state).toBe('completed');
    // After it completed, the refs may have moved: a repository scan runs again, and adds nothing new.
    const third = await queues.enqueue('scan-history', { repo });
    expect(third).toEqual({ ...first, duplicate: false });
    expect((await queues.waitFor('scan-history', third.id, 30_000)).state).toBe('completed');
    const list = await store.list();
    expect(list.map((f) => f.occurrenceCount)).toEqual([1, 1]);
    const counts = await queues.counts(['scan-history']);
    expect(counts['scan-history']).toMatchObject({ completed: 1, waiting: 0, active: 0 });
    await queues.close();
  });

  it('findings, lifecycle states and audit events survive a Redis restart during a run', async () => {
    const { prefix, queues, store } = setup();
    await spawnWorker(prefix, ['--queues', 'scan-log-batch', '--concurrency', '4']);
    const batch = (i: number) => ({
      stream: `app-${i % 3}`,
      lines: [`request ${i} ok`, `retry with ${githubToken(300 + i)}`],
      firstLine: i * 10 + 1,
    });
    const before = await Promise.all(Array.from({ length: 10 }, (_, i) => queues.enqueue('scan-log-batch', batch(i))));
    for (const j of before) expect((await queues.waitFor('scan-log-batch', j.id, 20_000)).state).toBe('completed');
    const [resolved] = await store.list({ target: 'app-0' });
    await store.resolve(resolved!.fingerprint, 'accepted_risk', { actor: 'test', reason: 'sandbox key' });

    // Enqueue more, restart Redis while the worker drains them, then enqueue again.
    const during = await Promise.all(Array.from({ length: 20 }, (_, i) => queues.enqueue('scan-log-batch', batch(10 + i))));
    await redis.restart();
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => queues.enqueue('scan-log-batch', batch(30 + i))));
    for (const j of [...during, ...after]) expect((await queues.waitFor('scan-log-batch', j.id, 30_000)).state).toBe('completed');

    const list = await store.list();
    expect(list).toHaveLength(40);
    expect(list.every((f) => f.occurrenceCount === 1)).toBe(true);
    expect((await store.mustGet(resolved!.fingerprint)).state).toBe('accepted_risk');
    expect((await store.audit(resolved!.fingerprint)).map((e) => e.what)).toEqual(['detected', 'accept_risk']);
    await queues.close();
  });

  it('invalid job data and a rotate job for no finding fail visibly without crashing the worker, which stops on SIGTERM', async () => {
    const { prefix, queues } = setup();
    const w = await spawnWorker(prefix, ['--queues', 'scan-dump,rotate']);
    // Bypass the enqueue-side validation, as a buggy producer would.
    const raw = new Queue('scan-dump', { connection: conn, prefix });
    const bad = await raw.add('scan-dump', { path: 7 }, { attempts: 5, removeOnFail: false });
    const rot = await queues.enqueue('rotate', { fingerprint: `kw1:${'9'.repeat(32)}` });
    const badView = await queues.waitFor('scan-dump', bad.id!, 20_000);
    expect(badView).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(badView.failedReason).toMatch(/KW_JOB_INVALID: invalid scan-dump job data: scan-dump > path/);
    const rotView = await queues.waitFor('rotate', rot.id, 20_000);
    expect(rotView.state).toBe('failed');
    expect(rotView).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(rotView.failedReason).toMatch(/^KW_FINDING_NOT_FOUND: no finding kw1:9{32}/);
    expect(w.proc.exitCode).toBeNull();
    expect((await queues.counts(['scan-dump']))['scan-dump']).toMatchObject({ failed: 1 });

    const exited = new Promise<number | null>((r) => w.proc.once('exit', (code) => r(code)));
    w.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    await raw.close();
    await queues.close();
  });

  it('SIGTERM lets the in-flight job finish before the worker exits', async () => {
    const { prefix, queues, store } = setup();
    const repo = makeRepo([githubToken(500), githubToken(501), githubToken(502)]);
    repos.push(repo);
    // The worker holds the job after one of its three occurrences until SIGTERM: in flight when it comes.
    const w = await spawnWorker(prefix, ['--queues', 'scan-history', '--debug-hold-after', '1']);
    const job = await queues.enqueue('scan-history', { repo });
    await until(
      () => w.log().includes('"event":"debug-hold"'),
      20_000,
      () => `the job was never held: ${w.log()}`,
    );
    expect(await store.list()).toHaveLength(1);
    const exited = new Promise<number | null>((r) => w.proc.once('exit', (code) => r(code)));
    w.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((await queues.get('scan-history', job.id))?.state).toBe('completed');
    expect(await store.list()).toHaveLength(3);
    await queues.close();
  });

  it('a job that fails for a reason a retry may fix is retried with backoff and stays visible', async () => {
    const { prefix, queues } = setup();
    await spawnWorker(prefix, ['--queues', 'scan-dump']);
    // A gzip cut short: a core file still being flushed may read whole on the next try (KW_DUMP_CORRUPT).
    const cut = join(home, 'cut.core.gz');
    writeFileSync(cut, gzipSync(Buffer.alloc(64 * 1024, 'x')).subarray(0, 40));
    const job = await queues.enqueue('scan-dump', { path: cut });
    await until(
      async () => ((await queues.get('scan-dump', job.id))?.attemptsMade ?? 0) >= 2,
      20_000,
      () => 'not retried',
    );
    const view = await queues.get('scan-dump', job.id);
    expect(['delayed', 'waiting', 'active']).toContain(view?.state);
    expect(view?.failedReason).toMatch(/gzip stream is corrupt or truncated/);
    await queues.close();
  });

  it('the CLI enqueues, lists, shows and resolves findings', async () => {
    const { prefix } = setup();
    await spawnWorker(prefix, ['--queues', 'scan-log-batch']);
    const e = env(prefix);
    const token = githubToken(400);
    const enq = await run(
      process.execPath,
      [BIN, 'enqueue', 'scan-log-batch', '--stream', 'cli', '--line', 'hello', `key ${token}`, '--wait', '--timeout', '20000'],
      { env: e },
    );
    expect(JSON.parse(enq.stdout)).toMatchObject({ state: 'completed', returnvalue: { findings: 1 } });
    expect(enq.stdout).not.toContain(token); // --wait shows the job, never its lines
    expect(enq.stdout).not.toContain('hello');
    const list = JSON.parse(
      (await run(process.execPath, [BIN, 'findings', 'list', '--state', 'detected', '--stream', 'cli'], { env: e })).stdout,
    );
    expect(list).toHaveLength(1);
    const fp = list[0].fingerprint as string;
    await run(process.execPath, [BIN, 'findings', 'resolve', fp, '--as', 'false_positive', '--reason', 'documented example'], {
      env: e,
    });
    const shown = JSON.parse((await run(process.execPath, [BIN, 'findings', 'show', fp], { env: e })).stdout);
    expect(shown.finding.state).toBe('false_positive');
    expect(shown.occurrences[0].span.line).toBe(2);
    expect(shown.audit.at(-2)).toMatchObject({ what: 'mark_false_positive', reason: 'documented example' });
    // Reading a leaked key's finding is audited too.
    expect(shown.audit.at(-1)).toMatchObject({ what: 'viewed', reason: 'findings show' });
    expect(shown.lifecycle.map((s: { state: string }) => s.state)).toEqual(['detected', 'false_positive']);
    expect(JSON.stringify(shown)).not.toContain(token);
    const illegal = await run(process.execPath, [BIN, 'findings', 'resolve', fp, '--as', 'accepted_risk', '--reason', 'x'], {
      env: e,
    }).catch((err) => err);
    expect(illegal.code).toBe(2);
    expect(illegal.stderr).toContain('cannot accept_risk a finding in state false_positive');
  });
});
