// Where a worker may read and fetch, end to end: a real redis-server, real workers, and real peers on
// 127.0.0.1 (a listener that must never see the worker's token, a TLS git host, a tarpit that accepts
// and never answers). Jobs are enqueued straight into the queues, past the API's own check, because
// the worker must hold the line by itself (the API's answers: test/api/access.test.ts).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessPolicy } from '../../access/policy.js';
import { isKeywardenError } from '../../errors/error.js';
import type { JobKind } from '../../workers/jobs.js';
import { JobQueues } from '../../workers/queue.js';
import { createRedis } from '../../workers/redis.js';
import { FindingStore } from '../../workers/store.js';
import { processJob, type RunningWorkers, startWorkers } from '../../workers/worker.js';
import {
  type CapturingServer,
  capturingServer,
  makeCertificate,
  type SilentServer,
  sawToken,
  silentServer,
  type TestCertificate,
} from '../helpers/git-peers.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { githubToken, scanSettings } from './fixtures.js';

// Generated per run: guards nothing; not a real token format, so no scanner flags this file.
const TOKEN = `kwtest${randomBytes(18).toString('hex')}`;

let redis: RedisHandle;
let conn: Redis;
let tls: TestCertificate;
let plain: CapturingServer;
let silent: SilentServer;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  redis = await startRedis({ aof: false });
  conn = createRedis(redis.url);
  tls = makeCertificate();
  plain = await capturingServer();
  silent = await silentServer();
});
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  await plain?.close();
  await silent?.close();
  conn?.disconnect();
  await redis?.stop();
});

/** The worker's environment as the README's recipe gave it: GITHUB_TOKEN set, git trusting the test CA. */
function workerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, GITHUB_TOKEN: TOKEN, GIT_SSL_CAINFO: tls.certFile, GIT_CONFIG_NOSYSTEM: '1', ...extra };
}

/** Starts workers for `kinds` with `access`, runs one job of `kind`, and returns its final view. */
async function runJob(kind: JobKind, data: Record<string, unknown>, access: Partial<AccessPolicy>, env = workerEnv()) {
  const prefix = `kwtest-access-${randomBytes(4).toString('hex')}`;
  const cacheDir = mkdtempSync(join(tmpdir(), 'kw-access-cache-'));
  const scan = { ...scanSettings({ githubToken: TOKEN, ...access }), env, cacheDir };
  const running: RunningWorkers = await startWorkers({ redisUrl: redis.url, prefix, queues: [kind], scan });
  const queues = new JobQueues(conn, prefix);
  try {
    const job = await queues.enqueue(kind, data);
    return await queues.waitFor(kind, job.id, 40_000);
  } finally {
    await queues.close();
    await running.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

describe("the worker's git credentials", () => {
  it('never sends GITHUB_TOKEN to a host the job names over plain http, even one KEYWARDEN_GIT_HOSTS allows', async () => {
    const before = plain.requests.length;
    const view = await runJob('scan-history', { repo: `${plain.url}/x/repo.git` }, { gitHosts: ['127.0.0.1'] });
    expect(sawToken(plain.requests.slice(before), TOKEN)).toBe(false);
    // Refused before any connection, at once: plain http is not a transport the service uses.
    expect(plain.requests.length).toBe(before);
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(/^KW_HOST_NOT_ALLOWED: repository URL scheme http:\/\/ is not allowed/);
  }, 60_000);

  it('sends no token to an https git host that is allowed but is not a credential host', async () => {
    const host = await capturingServer({ tls });
    cleanup.push(() => host.close());
    const view = await runJob('scan-history', { repo: `${host.url}/x/repo.git` }, { gitHosts: ['127.0.0.1'] });
    expect(host.requests.length).toBeGreaterThan(0); // git did talk to it
    expect(sawToken(host.requests, TOKEN)).toBe(false);
    expect(host.requests.some((r) => r.headers.authorization !== undefined)).toBe(false);
    // Refused credentials (401 with nothing to send) cannot succeed on retry.
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(/^KW_GIT_COMMAND: cannot clone https:\/\/127\.0\.0\.1:\d+\/x\/repo\.git/);
  }, 60_000);

  it('sends GIT_TOKEN to a host KEYWARDEN_GIT_CREDENTIAL_HOSTS names, and never follows its redirect to another host', async () => {
    const other = await capturingServer({ tls });
    const named = await capturingServer({ tls, redirectTo: () => other.url });
    cleanup.push(
      () => other.close(),
      () => named.close(),
    );
    const gitToken = `kwgit${randomBytes(16).toString('hex')}`;
    const view = await runJob(
      'scan-history',
      { repo: `${named.url}/x/repo.git` },
      { gitHosts: ['127.0.0.1'], gitToken, gitCredentialHosts: [`127.0.0.1:${named.port}`] },
      workerEnv({ GIT_TOKEN: gitToken }),
    );
    expect(sawToken(named.requests, gitToken)).toBe(true);
    expect(sawToken(named.requests, TOKEN)).toBe(false);
    expect(other.requests).toEqual([]);
    expect(view.state).toBe('failed');
    expect(view.failedReason).not.toContain(gitToken);
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(
      /^KW_HOST_NOT_ALLOWED: cannot clone https:\/\/127\.0\.0\.1:\d+\/x\/repo\.git: the remote redirects/,
    );
  }, 60_000);

  it('reaches a named host at the addresses it checked (curl pinned to them), and sends it no token', async () => {
    const host = await capturingServer({ tls });
    cleanup.push(() => host.close());
    const view = await runJob('scan-history', { repo: `https://localhost:${host.port}/x/repo.git` }, { gitHosts: ['localhost'] });
    expect(host.requests.length).toBeGreaterThan(0);
    expect(sawToken(host.requests, TOKEN)).toBe(false);
    expect(view.failedReason).toMatch(/^KW_GIT_COMMAND: cannot clone https:\/\/localhost:\d+\/x\/repo\.git/);
  }, 60_000);

  it('refuses a repository URL that carries credentials, and says so without them', async () => {
    const secret = `kwurl${randomBytes(12).toString('hex')}`;
    const before = plain.requests.length;
    const view = await runJob('scan-history', { repo: `https://ci:${secret}@127.0.0.1:${plain.port}/x/repo.git` }, {});
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(/^KW_JOB_INVALID: repository URL must not carry credentials/);
    expect(view.failedReason).not.toContain(secret);
    expect(plain.requests.length).toBe(before);
  }, 60_000);
});

describe('which remotes a worker may fetch', () => {
  const refused: Record<string, () => string> = {
    'git:// (clear text, no auth)': () => `git://127.0.0.1:${silent.port}/x.git`,
    'plain http to the tarpit': () => `http://127.0.0.1:${silent.port}/`,
    'ext:: (runs a command)': () => `ext::nc 127.0.0.1 ${silent.port}`,
    'file:// while KEYWARDEN_GIT_ALLOW_FILE is off': () => 'file:///etc',
    'loopback over https, not listed in KEYWARDEN_GIT_HOSTS': () => `https://127.0.0.1:${silent.port}/x.git`,
    'a name resolving to loopback (localhost)': () => `https://localhost:${silent.port}/x.git`,
    'ssh to a link-local address (cloud metadata)': () => 'ssh://git@169.254.169.254/x.git',
    'a private range through scp syntax': () => 'git@10.1.2.3:team/x.git',
  };
  for (const [name, url] of Object.entries(refused)) {
    it(`refuses ${name} at once, before connecting (KW_HOST_NOT_ALLOWED)`, async () => {
      const before = silent.connections;
      const s = scanSettings({ githubToken: TOKEN });
      const store = new FindingStore(conn, `kwtest-access-${randomBytes(4).toString('hex')}`);
      const err = await processJob(
        'scan-history',
        { repo: url() },
        { scan: { ...s, env: workerEnv() }, store, actor: 't' },
      ).catch((e: unknown) => e);
      expect(isKeywardenError(err, 'KW_HOST_NOT_ALLOWED')).toBe(true);
      expect(silent.connections).toBe(before);
    });
  }

  it('stops a clone from an https host that accepts and never answers, with KW_GIT_TIMEOUT and no retry', async () => {
    const view = await runJob(
      'scan-history',
      { repo: `https://127.0.0.1:${silent.port}/x/repo.git` },
      { gitHosts: ['127.0.0.1'], gitIdleTimeout: 1000, gitConnectTimeout: 1000 },
    );
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(
      /^KW_GIT_TIMEOUT: git clone https:\/\/127\.0\.0\.1:\d+\/x\/repo\.git stopped: the remote sent nothing for 1 s/,
    );
  }, 60_000);

  it('stops an ssh clone from a host that accepts and never sends its banner', async () => {
    const view = await runJob(
      'scan-history',
      { repo: `ssh://git@127.0.0.1:${silent.port}/x/repo.git` },
      { gitHosts: ['127.0.0.1'], gitIdleTimeout: 1000, gitConnectTimeout: 1000 },
    );
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(/^KW_GIT_TIMEOUT: /);
  }, 60_000);
});

describe('which dumps a worker may read', () => {
  let root: string;
  let outside: string;
  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'kw-dumps-')));
    outside = realpathSync(mkdtempSync(join(tmpdir(), 'kw-outside-')));
    mkdirSync(join(root, 'crash'));
    writeFileSync(join(root, 'crash', 'core.1'), `\0\0heap ${githubToken(4242)}\0\0`);
    writeFileSync(join(outside, 'private.bin'), `\0${githubToken(4243)}\0`);
    symlinkSync(join(outside, 'private.bin'), join(root, 'crash', 'link.bin'));
    symlinkSync(outside, join(root, 'elsewhere'));
    cleanup.push(
      () => rmSync(root, { recursive: true, force: true }),
      () => rmSync(outside, { recursive: true, force: true }),
    );
  });

  async function dump(path: string, access: Partial<AccessPolicy>) {
    const store = new FindingStore(conn, `kwtest-dump-${randomBytes(4).toString('hex')}`);
    return processJob('scan-dump', { path }, { scan: scanSettings(access), store, actor: 't' }).catch((e: unknown) => e);
  }

  it('scans a dump under KEYWARDEN_DUMP_ROOTS', async () => {
    expect(await dump(join(root, 'crash', 'core.1'), { dumpRoots: [root] })).toMatchObject({ kind: 'scan-dump', findings: 1 });
  });

  const outsideCases: Record<string, () => string> = {
    '/etc/passwd': () => '/etc/passwd',
    '/proc/self/environ (the API token, once)': () => '/proc/self/environ',
    'a symlink inside the root to a file outside': () => join(root, 'crash', 'link.bin'),
    'a path through a symlinked directory': () => join(root, 'elsewhere', 'private.bin'),
    'a .. walk out of the root': () => `${root}/crash/../../${outside.split('/').pop()}/private.bin`,
    'a file that is not there, under the root': () => join(root, 'crash', 'core.404'),
    'a directory under the root': () => join(root, 'crash'),
    'a relative path': () => 'crash/core.1',
  };
  for (const [name, path] of Object.entries(outsideCases)) {
    it(`answers ${name} with the one KW_PATH_NOT_ALLOWED message`, async () => {
      const err = await dump(path(), { dumpRoots: [root] });
      expect(isKeywardenError(err, 'KW_PATH_NOT_ALLOWED')).toBe(true);
      expect((err as Error).message).toBe(`dump path ${JSON.stringify(path())} is not allowed or not there`);
    });
  }

  it('refuses every dump until KEYWARDEN_DUMP_ROOTS is set (the default), and fails the job at once', async () => {
    const err = await dump(join(root, 'crash', 'core.1'), { dumpRoots: [] });
    expect(isKeywardenError(err, 'KW_PATH_NOT_ALLOWED')).toBe(true);
    const view = await runJob('scan-dump', { path: '/etc/passwd' }, { dumpRoots: [] });
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toBe('KW_PATH_NOT_ALLOWED: dump path "/etc/passwd" is not allowed or not there');
  }, 60_000);
});
