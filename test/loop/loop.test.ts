// The closed loop with real processes on 127.0.0.1: a real redis-server, `keywarden serve` and
// `keywarden worker` (bin/keywarden.js, built by the test setup), the fake provider, a receiver that rotates at it and calls
// back over HTTP, and a fake GitHub API for secret scanning alerts. A leak committed to a real git
// repository goes detected -> rotation_requested -> rotated -> revoked; every key in Redis and every
// process's log is read afterwards for the secret.
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RotationRequested } from '../../rotation/events.js';
import { signatureHeader } from '../../rotation/signature.js';
import { createRotationReceiver } from '../../runtime/receiver.js';
import { createRedis } from '../../workers/redis.js';
import { FindingStore } from '../../workers/store.js';
import { FakeGitHubAlerts } from '../helpers/fake-github-alerts.js';
import { FakeProvider } from '../helpers/fake-provider.js';
import { commitFiles } from '../helpers/git-repo.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { type ReceivedDelivery, RotationReceiver } from '../helpers/rotation-receiver.js';
import { BIN, type Service, spawnKeywarden, startService, waitForLog } from '../helpers/service.js';

const run = promisify(execFile);
const TOKEN = randomBytes(24).toString('base64url');
const SIGNING = randomBytes(24).toString('base64url');
const GITHUB_HOOK_SECRET = randomBytes(24).toString('base64url');
const GITHUB_TOKEN = `ghs_test_${randomBytes(8).toString('hex')}`;
const VAULT_KEY = randomBytes(32).toString('hex');
const FINGERPRINT_KEY = randomBytes(24).toString('hex');

let redis: RedisHandle;
let conn: Redis;
let fake: FakeProvider;
let github: FakeGitHubAlerts;
let home: string;
const dirs: string[] = [];

beforeAll(async () => {
  redis = await startRedis({ aof: false });
  conn = createRedis(redis.url);
  fake = await FakeProvider.start();
  github = new FakeGitHubAlerts(GITHUB_TOKEN);
  await github.start();
  home = mkdtempSync(join(tmpdir(), 'kw-loop-home-'));
});
afterAll(async () => {
  conn?.disconnect();
  await fake?.stop();
  await github?.stop();
  await redis?.stop();
  for (const d of [home, ...dirs]) if (d) rmSync(d, { recursive: true, force: true });
});

function env(prefix: string, receiverUrl: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_STATE_HOME: join(home, 'state'),
    REDIS_URL: redis.url,
    KEYWARDEN_PREFIX: prefix,
    KEYWARDEN_API_TOKEN: TOKEN,
    KEYWARDEN_FINGERPRINT_KEY: FINGERPRINT_KEY,
    KEYWARDEN_ROTATION_WEBHOOK_URL: receiverUrl,
    KEYWARDEN_WEBHOOK_SECRET: SIGNING,
    KEYWARDEN_SECRET_KEY: VAULT_KEY,
    KEYWARDEN_REVOCATION_FIRST_POLL: '0s',
    KEYWARDEN_REVOCATION_POLL_INTERVAL: '200ms',
    KEYWARDEN_ROTATION_SLA: '1h',
    KEYWARDEN_LOG_LEVEL: 'info',
    ...fake.env(),
    ...extra,
  };
}

function repoWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kw-loop-leak-'));
  dirs.push(dir);
  commitFiles(dir, { 'README.md': '# app\n' }, 'start');
  return commitFiles(dir, files, 'add config (oops)');
}

async function api(svc: Service, method: string, path: string, body?: unknown, token = TOKEN) {
  const res = await fetch(`${svc.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function until<T>(f: () => Promise<T | null | undefined | false>, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every value under the prefix: the store, the vault's ciphertext, BullMQ's job data and results. */
async function everything(prefix: string): Promise<{ keys: number; text: string }> {
  const keys = await conn.keys(`${prefix}:*`);
  const parts: string[] = [];
  for (const k of keys) {
    const type = await conn.type(k);
    if (type === 'hash') parts.push(JSON.stringify(await conn.hgetall(k)));
    else if (type === 'set') parts.push(JSON.stringify(await conn.smembers(k)));
    else if (type === 'zset') parts.push(JSON.stringify(await conn.zrange(k, '0', '-1', 'WITHSCORES')));
    else if (type === 'stream') parts.push(JSON.stringify(await conn.xrange(k, '-', '+')));
    else if (type === 'list') parts.push(JSON.stringify(await conn.lrange(k, 0, -1)));
    else if (type === 'string') parts.push((await conn.get(k)) ?? '');
    else parts.push(`<${type}>`);
  }
  return { keys: keys.length, text: parts.join('\n') };
}

type Audit = Array<{ what: string; from: string; to: string; actor: string; reason: string; at: string }>;

async function auditOf(svc: Service, fp: string): Promise<Audit> {
  return (await api(svc, 'GET', `/v1/findings/${fp}/audit`)).body.events as Audit;
}

/** A receiver as a key owner's automation: rotate (here: revoke at the fake provider), then call back. */
async function ownerReceiver(before?: (d: ReceivedDelivery) => void): Promise<RotationReceiver> {
  const r = new RotationReceiver({
    secret: SIGNING,
    onRotationRequested: async (d, self) => {
      before?.(d);
      // The owner knows its keys; the body never carries one.
      for (const key of owned) fake.revoke(key);
      const res = await self.callBack(d, { revoked: true, note: 'rotated by the owner pipeline' });
      callbacks.push(res.status);
    },
  });
  await r.start();
  return r;
}
const keysByFingerprint = new Map<string, string>();
/** Keys the owner's automation holds (and so revokes when asked to rotate). */
const owned: string[] = [];
const callbacks: number[] = [];

describe('the closed loop, real processes', () => {
  let receiver: RotationReceiver;
  let svc: Service;
  const prefix = `kwloop-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    receiver = await ownerReceiver();
    svc = await startService({
      env: env(prefix, receiver.url, {
        KEYWARDEN_GITHUB_WEBHOOK_SECRET: GITHUB_HOOK_SECRET,
        KEYWARDEN_GITHUB_TOKEN: GITHUB_TOKEN,
        GITHUB_API_URL: github.url,
      }),
      cwd: home,
      workers: 1,
      workerArgs: ['--concurrency', '4'],
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await receiver?.stop();
  });

  it('leak committed -> history scan via the API -> signed webhook -> rotated and revoked -> confirmed; secret gone, audit complete', async () => {
    const key = fake.issue('github-pat');
    owned.push(key.secret);
    const repo = repoWith({ 'config/prod.env': `# deploy\nGITHUB_TOKEN=${key.secret}\n` });
    const scan = await api(svc, 'POST', '/v1/scans', { kind: 'scan-history', data: { repo } });
    expect(scan.status).toBe(202);

    const revoked = await until(async () => {
      const list = (await api(svc, 'GET', '/v1/findings?state=revoked')).body.findings as Array<{ fingerprint: string }>;
      return list[0];
    }, 'the finding to be revoked');
    const fp = revoked.fingerprint;
    keysByFingerprint.set(fp, key.secret);
    expect(fake.isLive(key.secret)).toBe(false);

    // The webhook as the receiver got it: signed, idempotent, no secret, the callback on the public URL.
    expect(receiver.deliveries).toHaveLength(1);
    const d = receiver.deliveries[0]!;
    expect(d.signature.ok).toBe(true);
    expect(d.headers['content-type']).toBe('application/json');
    const event = RotationRequested.parse(d.json);
    expect(d.headers['idempotency-key']).toBe(event.idempotencyKey);
    expect(event.idempotencyKey).toBe(`rot_${fp.slice(4)}`);
    expect(event.finding).toMatchObject({ fingerprint: fp, ruleId: 'github-pat', provider: 'GitHub' });
    expect(event.finding.locations).toEqual([
      {
        kind: 'git',
        repo: expect.stringContaining('kw-loop-leak-'),
        commit: expect.stringMatching(/^[0-9a-f]{40}$/),
        path: 'config/prod.env',
        line: 2,
      },
    ]);
    expect(event.callback.url).toBe(`${svc.apiUrl}/v1/findings/${fp}/rotated`);
    expect(d.rawBody.toString()).not.toContain(key.secret);
    expect(callbacks).toEqual([200]);

    // The whole audit trail, in order.
    const audit = await auditOf(svc, fp);
    expect(audit.map((e) => [e.what, e.from, e.to])).toEqual([
      ['detected', '', 'detected'],
      ['liveness_check', 'detected', 'detected'],
      ['request_rotation', 'detected', 'rotation_requested'],
      ['webhook', 'rotation_requested', 'rotation_requested'],
      ['rotated', 'rotation_requested', 'rotated'],
      ['confirm_revoked', 'rotated', 'revoked'],
    ]);
    expect(audit.map((e) => e.reason)).toEqual([
      expect.stringMatching(/^first seen in .*kw-loop-leak-/),
      expect.stringMatching(
        /^at detection: live \(provider accepts the key: HTTP 200, login=octocat\) \[GET http:\/\/127\.0\.0\.1:\d+\/github\/user\]$/,
      ),
      'default: rule github-pat has a liveness check: rotate (request #1 to default)',
      'rotation.requested #1 to default, try 1: delivered (HTTP 200)',
      expect.stringMatching(
        /^rotated, reported by receiver \(token [0-9a-f]{12}\); claims the old key is revoked \(unconfirmed: the provider decides\); note: rotated by the owner pipeline$/,
      ),
      expect.stringMatching(
        /^the provider no longer accepts the old key: provider rejects the key: HTTP 401 \[GET .*\/github\/user\]; raw secret deleted$/,
      ),
    ]);
    expect(audit.map((e) => e.actor)).toEqual([
      expect.stringMatching(/^worker:/),
      expect.stringMatching(/^worker:/),
      expect.stringMatching(/^worker:/),
      expect.stringMatching(/^worker:/),
      'api:callback',
      expect.stringMatching(/^worker:/),
    ]);

    const lifecycle = (await api(svc, 'GET', `/v1/findings/${fp}/lifecycle`)).body;
    expect((lifecycle.lifecycle as Array<{ state: string }>).map((s) => s.state)).toEqual([
      'detected',
      'rotation_requested',
      'rotated',
      'revoked',
    ]);
    expect(lifecycle.rotation).toMatchObject({ rawSecret: 'deleted: the finding is closed', seenLive: true, requests: 1 });

    // The raw secret is nowhere: not in any Redis key (store, vault, queues), not in any log.
    expect(await conn.exists(`${prefix}:store:f:${fp}:secret`)).toBe(0);
    const all = await everything(prefix);
    expect(all.keys).toBeGreaterThan(10);
    expect(all.text).not.toContain(key.secret);
    expect(all.text).not.toContain(event.callback.token);
    expect(svc.logs()).not.toContain(key.secret);
    expect(svc.logs()).not.toContain(event.callback.token);

    // `findings show -f text` and `verify`, as a user runs them (each audited).
    const cliEnv = env(prefix, receiver.url) as NodeJS.ProcessEnv;
    const show = await run(process.execPath, [BIN, 'findings', 'show', fp, '-f', 'text', '--actor', 'alice'], {
      env: cliEnv,
      cwd: home,
    });
    const states = show.stdout
      .split('\n')
      .map((l) => /^\s+\S+Z\s+(\w+)/.exec(l)?.[1])
      .filter(Boolean);
    expect(states).toEqual(['detected', 'rotation_requested', 'rotated', 'revoked']);
    expect(show.stdout).toContain('raw secret: deleted: the finding is closed');
    const verify = await run(process.execPath, [BIN, 'verify', fp, '--actor', 'alice'], { env: cliEnv, cwd: home }).catch(
      (e: { code: number; stdout: string }) => e,
    );
    expect((verify as { code?: number }).code).toBe(2);
    expect(verify.stdout).toContain('unknown  no raw secret is stored for this finding');
    const after = await auditOf(svc, fp);
    expect(after.slice(6).map((e) => [e.what, e.actor])).toEqual([
      ['viewed', 'alice'],
      ['verify', 'alice'],
    ]);
  });

  it('refuses a reused and a forged callback token over HTTP, changing nothing, audited without the token', async () => {
    const [fp] = [...keysByFingerprint.keys()];
    const token = (receiver.deliveries[0]!.event as RotationRequested).callback.token;
    const cb = (t: string) =>
      fetch(`${svc.apiUrl}/v1/findings/${fp}/rotated`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: '{}',
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: string } } }));
    expect(await cb(token)).toMatchObject({ status: 403, body: { error: { code: 'KW_FORBIDDEN' } } });
    expect(await cb(`kwcb_${randomBytes(32).toString('base64url')}`)).toMatchObject({
      status: 401,
      body: { error: { code: 'KW_WEBHOOK_REJECTED' } },
    });
    expect(await cb('not-even-a-token')).toMatchObject({ status: 401 });
    // An unknown fingerprint answers like a wrong token.
    const unknown = await fetch(`${svc.apiUrl}/v1/findings/kw1:${'0'.repeat(32)}/rotated`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unknown.status).toBe(401);
    const rejected = (await auditOf(svc, fp!)).filter((e) => e.what === 'callback_rejected').map((e) => e.reason);
    expect(rejected).toEqual([
      expect.stringMatching(/^callback rejected: token already used \(token [0-9a-f]{12}\)$/),
      'callback rejected: no such token for this finding',
      'callback rejected: not a callback token',
    ]);
    expect(JSON.stringify(await auditOf(svc, fp!))).not.toContain(token);
    expect((await api(svc, 'GET', `/v1/findings/${fp}`)).body.finding).toMatchObject({ state: 'revoked' });
  });

  it('the same key seen again in another repository: one finding, no second rotation request', async () => {
    const [[fp, secret]] = [...keysByFingerprint.entries()] as [[string, string]];
    const repo = repoWith({ 'old/settings.ini': `token = ${secret}\n` });
    const job = await api(svc, 'POST', '/v1/scans', { kind: 'scan-history', data: { repo } });
    await until(
      async () => ((await api(svc, 'GET', `/v1/jobs/${job.body.id}`)).body.state === 'completed' ? true : null),
      'the second scan',
    );
    await new Promise((r) => setTimeout(r, 500));
    const f = (await api(svc, 'GET', `/v1/findings/${fp}`)).body;
    expect((f.finding as { occurrenceCount: number }).occurrenceCount).toBe(2);
    expect((f.finding as { state: string }).state).toBe('revoked');
    expect(receiver.deliveries).toHaveLength(1);
    expect(await conn.exists(`${prefix}:store:f:${fp}:secret`)).toBe(0);
  });

  it('a GitHub secret scanning alert -> the same loop -> the alert resolved as revoked; a forged signature refused and audited', async () => {
    const key = fake.issue('github-pat');
    owned.push(key.secret);
    github.addAlert('acme/app', {
      number: 7,
      secret: key.secret,
      secretType: 'github_personal_access_token',
      locations: [
        {
          type: 'commit',
          details: {
            path: 'src/config.ts',
            start_line: 3,
            end_line: 3,
            start_column: 12,
            end_column: 52,
            blob_sha: 'b'.repeat(40),
            blob_url: 'https://github.com/acme/app/blob/abc/src/config.ts',
            commit_sha: 'c'.repeat(40),
            commit_url: 'https://github.com/acme/app/commit/ccc',
          },
        },
        { type: 'issue_comment', details: { issue_comment_url: 'https://github.com/acme/app/issues/1#issuecomment-2' } },
      ],
    });
    const body = JSON.stringify({
      action: 'created',
      alert: {
        number: 7,
        html_url: 'https://github.com/acme/app/security/secret-scanning/7',
        secret_type: 'github_personal_access_token',
      },
      repository: { full_name: 'acme/app', html_url: 'https://github.com/acme/app' },
    });
    const hook = (signature: string | null) =>
      fetch(`${svc.apiUrl}/v1/github/webhook`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'secret_scanning_alert',
          'x-github-delivery': 'd-1',
          ...(signature !== null ? { 'x-hub-signature-256': signature } : {}),
        },
        body,
      });
    const sign = (secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

    expect((await hook(sign('not the secret at all'))).status).toBe(401);
    expect((await hook(null)).status).toBe(401);
    const store = new FindingStore(conn, prefix);
    expect((await store.serviceAudit()).map((e) => [e.what, e.reason])).toEqual([
      [
        'github_webhook_rejected',
        expect.stringMatching(/^secret_scanning_alert event rejected: X-Hub-Signature-256 does not verify/),
      ],
      ['github_webhook_rejected', expect.stringMatching(/^secret_scanning_alert event rejected: no X-Hub-Signature-256/)],
    ]);
    expect(github.requests).toEqual([]);

    const res = await hook(sign(GITHUB_HOOK_SECRET));
    expect(res.status).toBe(202);
    const answer = (await res.json()) as { fingerprint: string; ruleId: string; newFinding: boolean; locations: number };
    expect(answer).toMatchObject({ ruleId: 'github-pat', newFinding: true, locations: 2 });
    keysByFingerprint.set(answer.fingerprint, key.secret);

    await until(async () => github.alert('acme/app', 7)?.state === 'resolved', 'the alert to be resolved');
    const alert = github.alert('acme/app', 7)!;
    expect(alert.resolution).toBe('revoked');
    expect(alert.resolutionComment).toMatch(/^keywarden confirmed this key revoked/);
    // GitHub's alert is resolved just before the worker audits having resolved it: wait for the entry.
    const audit = await until(async () => {
      const a = await auditOf(svc, answer.fingerprint);
      return a.some((e) => e.what === 'github_alert') ? a : null;
    }, 'the github_alert audit entry');
    // The receiver may call back before the worker has audited the delivery it answered: `webhook`
    // follows the request, in either order with `rotated`.
    const steps = audit.map((e) => e.what);
    expect(steps.filter((w) => w !== 'webhook')).toEqual([
      'detected',
      'liveness_check',
      'request_rotation',
      'rotated',
      'confirm_revoked',
      'github_alert',
    ]);
    expect(steps.indexOf('webhook')).toBeGreaterThan(steps.indexOf('request_rotation'));
    expect(audit.at(-1)?.reason).toBe('GitHub alert acme/app#7 resolved as revoked');
    const occ = (await api(svc, 'GET', `/v1/findings/${answer.fingerprint}`)).body.occurrences as Array<{
      provenance: Record<string, unknown>;
      span: { line: number };
    }>;
    expect(occ.map((o) => o.provenance)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'github-alert',
          repo: 'https://github.com/acme/app',
          alert: 7,
          location: 'commit',
          path: 'src/config.ts',
        }),
        expect.objectContaining({ kind: 'github-alert', location: 'issue_comment' }),
      ]),
    );
    expect((await everything(prefix)).text).not.toContain(key.secret);
    expect(svc.logs()).not.toContain(key.secret);
  });
});

describe('a worker killed mid-check', () => {
  it('the check completes on another worker and no webhook is sent twice', async () => {
    const prefix = `kwkill-${randomBytes(3).toString('hex')}`;
    let hung = 0;
    const receiver = await ownerReceiver(() => {
      // The next GitHub request (the first confirmation check) hangs at the provider.
      hung = fake.requests.length;
      fake.fail('GITHUB', { kind: 'hang' }, { times: 1 });
    });
    const svc = await startService({
      env: env(prefix, receiver.url),
      cwd: home,
      workers: 1,
      workerArgs: ['--lock-duration', '2000', '--stalled-interval', '500'],
    });
    try {
      const key = fake.issue('github-pat');
      owned.push(key.secret);
      const repo = repoWith({ 'k.env': `K=${key.secret}\n` });
      const store = new FindingStore(conn, prefix);
      await api(svc, 'POST', '/v1/scans', { kind: 'scan-history', data: { repo } });
      const f = await until(async () => (await store.list())[0], 'the finding');
      keysByFingerprint.set(f.fingerprint, key.secret);
      await until(async () => hung > 0 && fake.requests.slice(hung).some((r) => r.path === '/github/user'), 'the hanging check');
      svc.workers[0]!.kill('SIGKILL');
      await svc.workers[0]!.exited;
      expect((await store.mustGet(f.fingerprint)).state).toBe('rotated');
      await svc.addWorker(['--lock-duration', '2000', '--stalled-interval', '500']);
      await until(async () => (await store.mustGet(f.fingerprint)).state === 'revoked', 'revoked by the second worker', 40_000);
      expect(receiver.deliveries.filter((d) => d.event?.type === 'rotation.requested')).toHaveLength(1);
      const audit = await store.audit(f.fingerprint);
      expect(audit.filter((e) => e.what === 'webhook')).toHaveLength(1);
      expect(audit.filter((e) => e.what === 'confirm_revoked')).toHaveLength(1);
      expect(audit.at(-1)?.actor).not.toBe(audit[0]?.actor);
    } finally {
      fake.clearFailures();
      await svc.stop();
      await receiver.stop();
    }
  });
});

describe('keywarden rotate and verify, as a user runs them', () => {
  it('rotate sends request #2 now (same idempotency key, a new event), verify reads the key live; both audited', async () => {
    const prefix = `kwcli-${randomBytes(3).toString('hex')}`;
    const receiver = new RotationReceiver({ secret: SIGNING });
    await receiver.start();
    const svc = await startService({ env: env(prefix, receiver.url), cwd: home, workers: 1 });
    try {
      const key = fake.issue('github-pat');
      await api(svc, 'POST', '/v1/scans', { kind: 'scan-history', data: { repo: repoWith({ 'a.env': `A=${key.secret}\n` }) } });
      const [first] = await receiver.waitForDeliveries(1);
      const fp = first!.event!.finding.fingerprint;
      const cliEnv = { ...env(prefix, receiver.url), KEYWARDEN_PUBLIC_URL: svc.apiUrl } as NodeJS.ProcessEnv;
      const rotated = await run(process.execPath, [BIN, 'rotate', fp, '--reason', 'leaked again', '--actor', 'alice'], {
        env: cliEnv,
        cwd: home,
      });
      expect(JSON.parse(rotated.stdout)).toEqual({
        fingerprint: fp,
        request: 2,
        state: 'rotation_requested',
        targets: [{ target: 'default', outcome: 'delivered (HTTP 200)' }],
      });
      const second = receiver.deliveries[1]!;
      expect(second.signature.ok).toBe(true);
      expect(second.event!.idempotencyKey).toBe(first!.event!.idempotencyKey);
      expect(second.event!.id).not.toBe(first!.event!.id);
      const verify = await run(process.execPath, [BIN, 'verify', fp, '-f', 'json', '--actor', 'alice'], {
        env: cliEnv,
        cwd: home,
      }).catch((e: { code: number; stdout: string }) => e);
      expect((verify as { code?: number }).code).toBe(1);
      expect(JSON.parse(verify.stdout)).toMatchObject({ verdict: 'live', ruleId: 'github-pat', status: 200 });
      expect(verify.stdout).not.toContain(key.secret);
      const audit = await auditOf(svc, fp);
      expect(audit.slice(4).map((e) => [e.what, e.actor, e.reason])).toEqual([
        ['request_rotation_again', 'alice', 'keywarden rotate: leaked again (request #2 to default)'],
        ['webhook', 'alice', 'rotation.requested #2 to default, try 1: delivered (HTTP 200)'],
        ['verify', 'alice', expect.stringMatching(/^live \(provider accepts the key: HTTP 200, login=octocat\)/)],
      ]);
    } finally {
      await svc.stop();
      await receiver.stop();
    }
  });
});

describe('start-up', () => {
  it('serve and worker exit 2 when a rotation target is set without KEYWARDEN_WEBHOOK_SECRET', async () => {
    for (const cmd of ['serve', 'worker']) {
      const p = spawnKeywarden(
        [cmd],
        { ...env('kwstart', 'http://127.0.0.1:9/hook'), KEYWARDEN_WEBHOOK_SECRET: undefined },
        home,
      );
      expect(await p.exited).toBe(2);
      expect(p.log()).toMatch(/KEYWARDEN_WEBHOOK_SECRET required when a rotation or notification target is set/);
      expect(p.log()).toContain('[KW_CONFIG_INVALID]');
    }
  });

  it('say at start-up when KEYWARDEN_SECRET_KEY is not set', async () => {
    const p = spawnKeywarden(
      ['worker'],
      { ...env('kwstart2', 'http://127.0.0.1:9/hook'), KEYWARDEN_SECRET_KEY: undefined },
      home,
    );
    try {
      await waitForLog(p, /"event":"ready"/);
      expect(p.log()).toMatch(/KEYWARDEN_SECRET_KEY is not set: findings are recorded but no raw secret is kept/);
    } finally {
      p.kill('SIGKILL');
    }
  });
});

describe('a forged rotation webhook at a receiver', () => {
  it('keywarden/runtime refuses it (401) and audits it; nothing is rotated', async () => {
    const events: Array<{ event: string }> = [];
    let rotated = 0;
    const r = createRotationReceiver({
      webhookSecret: SIGNING,
      rotate: async () => {
        rotated++;
        return { value: 'new' };
      },
      write: { write: async () => {} },
      onAudit: (e) => events.push(e as { event: string }),
    });
    const body = JSON.stringify({ type: 'rotation.requested', id: 'evt_1', idempotencyKey: 'rot_1' });
    const server = createServer(r);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    try {
      const port = (server.address() as { port: number }).port;
      const answer = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'keywarden-signature': signatureHeader('forged-secret-0123456789', body, Math.floor(Date.now() / 1000)),
        },
        body,
      });
      expect(answer.status).toBe(401);
      expect(events.map((e) => e.event)).toEqual(['rotation.rejected']);
      expect(rotated).toBe(0);
    } finally {
      await r.close();
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });
});
