// Job limits with real processes (issue #10): a real redis-server, workers spawned as
// `node bin/keywarden.js worker` (dist/ built by the vitest globalSetup) with the limits in their
// environment. /dev/zero (here a sparse 64 GiB dump, as devices are refused) and a hung ssh transport used to run forever.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { chmodSync, closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobQueues } from '../../workers/queue.js';
import { createRedis } from '../../workers/redis.js';
import { FindingStore } from '../../workers/store.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { type SpawnedWorker, spawnWorkerProcess, until } from '../helpers/worker-process.js';
import { githubToken, TEST_FINGERPRINT_KEY } from './fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'keywarden.js');

let redis: RedisHandle;
let conn: Redis;
let home: string;
const children = new Set<ChildProcess>();
let n = 0;

beforeAll(async () => {
  redis = await startRedis({ aof: false });
  conn = createRedis(redis.url);
  home = mkdtempSync(join(tmpdir(), 'kw-limits-'));
});
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});
afterAll(async () => {
  conn?.disconnect();
  await redis?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

function env(prefix: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    REDIS_URL: redis.url,
    KEYWARDEN_PREFIX: prefix,
    KEYWARDEN_FINGERPRINT_KEY: TEST_FINGERPRINT_KEY,
    // Dump roots and git hosts (another #10 change) must let these inputs through to the limits.
    KEYWARDEN_DUMP_ROOTS: home,
    KEYWARDEN_GIT_HOSTS: '127.0.0.1',
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_STATE_HOME: join(home, 'state'),
    ...extra,
  };
}

async function spawnWorker(prefix: string, queues: string, extraEnv: Record<string, string>): Promise<SpawnedWorker> {
  return spawnWorkerProcess(BIN, ['--queues', queues], { env: env(prefix, extraEnv), cwd: home, children });
}

function setup() {
  const prefix = `lim${process.pid}-${++n}`;
  return { prefix, queues: new JobQueues(conn, prefix), store: new FindingStore(conn, prefix) };
}

/**
 * A dump that reads as zeros for far longer than any test waits: a sparse 64 GiB file (dumps must be
 * regular files under the roots, so /dev/zero itself is refused before it is opened).
 */
function endlessDump(): string {
  const path = join(home, 'endless.core');
  const fd = openSync(path, 'w');
  ftruncateSync(fd, 64 * 1024 ** 3);
  closeSync(fd);
  return path;
}

describe('job limits', () => {
  it('stops a scan-dump of an endless dump at the byte limit, failing at once with KW_LIMIT_EXCEEDED', async () => {
    const { prefix, queues } = setup();
    await spawnWorker(prefix, 'scan-dump', { KEYWARDEN_DUMP_MAX_BYTES: '8MiB' });
    const job = await queues.enqueue('scan-dump', { path: endlessDump() });
    const view = await queues.waitFor('scan-dump', job.id, 30_000);
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(/^KW_LIMIT_EXCEEDED: .*8388608 bytes/);
    await queues.close();
  });

  it('records what a dump held before the byte limit, then fails the job', async () => {
    const { prefix, queues, store } = setup();
    const token = githubToken(700);
    const path = join(home, 'big.core');
    writeFileSync(path, Buffer.concat([Buffer.from(`\0\0env GITHUB_TOKEN=${token}\0`), Buffer.alloc(2 << 20)]));
    await spawnWorker(prefix, 'scan-dump', { KEYWARDEN_DUMP_MAX_BYTES: '1MiB' });
    const job = await queues.enqueue('scan-dump', { path });
    const view = await queues.waitFor('scan-dump', job.id, 30_000);
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(/^KW_LIMIT_EXCEEDED/);
    const list = await store.list();
    expect(list).toHaveLength(1);
    expect(list[0]?.ruleId).toMatch(/github/);
    await queues.close();
  });

  it('stops a scan-dump of an endless dump at its time limit with KW_JOB_TIMEOUT, not retried', async () => {
    const { prefix, queues } = setup();
    const w = await spawnWorker(prefix, 'scan-dump', { KEYWARDEN_JOB_TIMEOUT_SCAN_DUMP: '1s' });
    const job = await queues.enqueue('scan-dump', { path: endlessDump() });
    const view = await queues.waitFor('scan-dump', job.id, 30_000);
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(/^KW_JOB_TIMEOUT: scan-dump job ran past its time limit of 1000 ms/);
    // The work itself stopped: the worker is free and takes the next job.
    const next = await queues.enqueue('scan-dump', { path: join(home, 'missing') });
    expect((await queues.waitFor('scan-dump', next.id, 10_000)).state).toBe('failed');
    expect(w.proc.exitCode).toBeNull();
    await queues.close();
  });

  it('kills the git child of a clone that hangs when the time limit passes (KEYWARDEN_JOB_TIMEOUT)', async () => {
    const { prefix, queues } = setup();
    // An ssh transport that connects and then says nothing, for good: a hung git server.
    const marker = `86400.${process.pid}${n}`;
    const ssh = join(home, `hang-ssh-${n}.sh`);
    writeFileSync(ssh, `#!/bin/sh\nexec sleep ${marker}\n`);
    chmodSync(ssh, 0o755);
    await spawnWorker(prefix, 'scan-history', { KEYWARDEN_JOB_TIMEOUT: '1500ms', GIT_SSH_COMMAND: ssh });
    const job = await queues.enqueue('scan-history', { repo: 'ssh://git@127.0.0.1/never/answers.git' });
    const running = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes(`sleep ${marker}`);
    await until(running, 15_000, () => 'the hung transport never started');
    const view = await queues.waitFor('scan-history', job.id, 30_000);
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(/^KW_JOB_TIMEOUT: scan-history job ran past its time limit of 1500 ms/);
    await until(
      () => !running(),
      5000,
      () => 'the git transport still runs after the job failed',
    );
    await queues.close();
  });

  it('fails a clone whose credentials the remote refuses at once (KW_GIT_AUTH), not five times', async () => {
    const { prefix, queues } = setup();
    let requests = 0;
    const srv: Server = createServer((_req, res) => {
      requests++;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      await spawnWorker(prefix, 'scan-history', {});
      const job = await queues.enqueue('scan-history', { repo: `http://127.0.0.1:${port}/x/repo.git` });
      const view = await queues.waitFor('scan-history', job.id, 30_000);
      expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
      // Refused by the remote, or (with the git host policy) before any request: either way, once.
      expect(view.failedReason).toMatch(/^(KW_GIT_AUTH|KW_HOST_NOT_ALLOWED)/);
      expect(requests).toBeLessThanOrEqual(2);
    } finally {
      srv.close();
    }
    await queues.close();
  });

  it('fails a dump path that is a directory at once (EISDIR is not retried), and a FIFO without blocking on it', async () => {
    const { prefix, queues } = setup();
    const w = await spawnWorker(prefix, 'scan-dump', {});
    const job = await queues.enqueue('scan-dump', { path: home });
    const view = await queues.waitFor('scan-dump', job.id, 20_000);
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(/^(KW_JOB_INVALID|KW_PATH_NOT_ALLOWED)/);
    const fifo = join(home, `pipe-${n}`);
    execFileSync('mkfifo', [fifo]);
    const piped = await queues.waitFor('scan-dump', (await queues.enqueue('scan-dump', { path: fifo })).id, 20_000);
    expect(piped).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(piped.failedReason).toMatch(/^(KW_JOB_INVALID: .*pipe or socket|KW_PATH_NOT_ALLOWED)/);
    expect(w.proc.exitCode).toBeNull();
    await queues.close();
  });
});

describe('SIGTERM', () => {
  it('stops a worker stuck on a job within the grace period and hands the job back for another worker', async () => {
    const { prefix, queues } = setup();
    // A: no byte or time limit that the endless dump would reach; 1 s of grace.
    const a = await spawnWorker(prefix, 'scan-dump', {
      KEYWARDEN_SHUTDOWN_GRACE: '1s',
      KEYWARDEN_DUMP_MAX_BYTES: String(2 ** 40),
      KEYWARDEN_JOB_TIMEOUT: '1h',
    });
    const job = await queues.enqueue('scan-dump', { path: endlessDump() });
    await until(
      async () => (await queues.get('scan-dump', job.id))?.state === 'active',
      15_000,
      () => `A never took the job: ${a.log()}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<number | null>((r) => a.proc.once('exit', (code) => r(code)));
    const t0 = Date.now();
    a.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Grace (1 s) + wind-down (2 s) is the most it may take; a generous bound for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(1000 + 2000 + 3000);
    expect(a.log()).toContain(`"event":"handed-back","kind":"scan-dump","jobId":"${job.id}"`);
    // Back in the queue, not failed, its attempts untouched.
    expect(await queues.get('scan-dump', job.id)).toMatchObject({ state: 'waiting', attemptsMade: 0 });

    // Another worker takes it (and, with a byte limit, finishes it).
    await spawnWorker(prefix, 'scan-dump', { KEYWARDEN_DUMP_MAX_BYTES: '4MiB' });
    const view = await queues.waitFor('scan-dump', job.id, 30_000);
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(/^KW_LIMIT_EXCEEDED/);
    await queues.close();
  });
});
