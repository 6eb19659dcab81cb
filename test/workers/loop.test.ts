import { mkdtempSync, rmSync } from 'node:fs';
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
import { commitFiles } from '../helpers/git-repo.js';
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
  return commitFiles(dir, files, 'leak');
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

/** Every value under the prefix (hashes, sets, streams, strings, BullMQ's job data), as one string. */
async function everything(prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const k of await conn.keys(`${prefix}:*`)) {
    const type = await conn.type(k);
    if (type === 'hash') parts.push(JSON.stringify(await conn.hgetall(k)));
    else if (type === 'set') parts.push(JSON.stringify(await conn.smembers(k)));
    else if (type === 'zset') parts.push(JSON.stringify(await conn.zrange(k, '0', '-1')));
    else if (type === 'stream') parts.push(JSON.stringify(await conn.xrange(k, '-', '+')));
    else if (type === 'list') parts.push(JSON.stringify(await conn.lrange(k, 0, -1)));
    else if (type === 'string') parts.push((await conn.get(k)) ?? '');
  }
  return parts.join('\n');
}

/** Rotation settings with a receiver, short durations, and `extra` over them. */
function loopSettings(receiverUrl: string, extra: Record<string, string> = {}, file: Record<string, unknown> = {}) {
  return settings(
    {
      KEYWARDEN_ROTATION_WEBHOOK_URL: receiverUrl,
      KEYWARDEN_WEBHOOK_SECRET: SIGNING,
      KEYWARDEN_SECRET_KEY: VAULT_KEY,
      KEYWARDEN_PUBLIC_URL: 'http://127.0.0.1:9',
      KEYWARDEN_REVOCATION_FIRST_POLL: '0s',
      KEYWARDEN_REVOCATION_POLL_INTERVAL: '100ms',
      ...extra,
    },
    file,
  );
}

/** A receiver that revokes the key at the fake provider (unless told not to) and calls back. */
async function rotatingReceiver(
  getLoop: () => RunningWorkers,
  opts: { revoke?: (fp: string) => void; callBack?: boolean } = {},
): Promise<RotationReceiver> {
  const receiver = new RotationReceiver({
    secret: SIGNING,
    onRotationRequested: async (d) => {
      opts.revoke?.(d.event!.finding.fingerprint);
      if (opts.callBack === false) return;
      const r = await acceptCallback(getLoop().loop!, d.event!.finding.fingerprint, {
        presented: d.event!.callback.token,
        admin: false,
        body: { revoked: true },
        actor: 'api:callback',
      });
      if (!r.ok) throw new Error(r.message);
    },
  });
  await receiver.start();
  cleanups.push(() => receiver.stop());
  return receiver;
}

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

  it('the same finding seen again in another repository makes no second rotation request', async () => {
    const key = fake.issue('github-pat');
    let running!: Awaited<ReturnType<typeof start>>;
    const receiver = await rotatingReceiver(() => running.workers, { callBack: false });
    running = await start(loopSettings(receiver.url, { KEYWARDEN_ROTATION_SLA: '1h' }));
    const a = repoWith({ 'a.env': `TOKEN=${key.secret}\n` });
    const b = repoWith({ 'deploy/b.env': `TOKEN=${key.secret}\n` });
    const store = running.workers.store;
    const ja = await running.queues.enqueue('scan-history', { repo: a });
    await running.queues.waitFor('scan-history', ja.id, 20_000);
    const f = await until(async () => (await store.list({ state: 'rotation_requested' }))[0]);
    await receiver.waitForDeliveries(1);
    const jb = await running.queues.enqueue('scan-history', { repo: b });
    expect((await running.queues.waitFor('scan-history', jb.id, 20_000)).state).toBe('completed');
    await new Promise((r) => setTimeout(r, 500));
    expect((await store.mustGet(f.fingerprint)).occurrenceCount).toBe(2);
    expect(receiver.deliveries).toHaveLength(1);
    expect((await store.audit(f.fingerprint)).filter((e) => e.what === 'request_rotation')).toHaveLength(1);
  });

  it('a receiver that never answers: tries time out, then the finding is escalated and the chat told', async () => {
    const receiver = new RotationReceiver({ secret: SIGNING });
    receiver.mode = 'hang';
    await receiver.start();
    cleanups.push(() => receiver.stop());
    const chat = new RotationReceiver({ secret: SIGNING, path: '/chat' });
    await chat.start();
    cleanups.push(() => chat.stop());
    const key = fake.issue('github-pat');
    const s = loopSettings(
      receiver.url,
      { KEYWARDEN_ROTATION_SLA: '500ms', CHAT_URL: chat.url },
      {
        delivery: { attempts: 3, timeout: '150ms', backoff: '50ms' },
        callbackTokenTtl: '1h',
        targets: [{ name: 'security-chat', type: 'notify', urlEnv: 'CHAT_URL' }],
      },
    );
    const running = await start(s);
    await running.queues.enqueue('scan-history', { repo: repoWith({ 'x.env': `T=${key.secret}\n` }) });
    const store = running.workers.store;
    const f = await until(async () => (await store.list({ state: 'escalated' }))[0], 20_000);
    const audit = await store.audit(f.fingerprint);
    const escalation = audit.find((e) => e.what === 'escalate')!;
    expect(escalation.reason).toMatch(
      /^(delivery: default: receiver did not answer in time after 3 attempts|callback: no callback within the 500ms SLA)$/,
    );
    await until(async () => chat.deliveries.some((d) => /ESCALATED/.test(String((d.json as { text?: string })?.text))));
    const text = chat.deliveries.map((d) => (d.json as { text: string }).text).join('\n');
    expect(text).toContain(`Fingerprint ${f.fingerprint}`);
    expect(text).not.toContain(key.secret);
    expect(chat.deliveries.every((d) => !JSON.stringify(d.json).includes('kwcb_'))).toBe(true);
    // Never dropped: still open, and a human can still act.
    expect((await store.mustGet(f.fingerprint)).state).toBe('escalated');
  });

  it('a receiver that takes the webhook but never calls back: escalated at the SLA, rotation.escalated sent', async () => {
    const receiver = new RotationReceiver({ secret: SIGNING });
    await receiver.start();
    cleanups.push(() => receiver.stop());
    const key = fake.issue('github-pat');
    const running = await start(loopSettings(receiver.url, { KEYWARDEN_ROTATION_SLA: '500ms' }, { callbackTokenTtl: '1h' }));
    await running.queues.enqueue('scan-history', { repo: repoWith({ 'x.env': `T=${key.secret}\n` }) });
    const store = running.workers.store;
    const f = await until(async () => (await store.list({ state: 'escalated' }))[0], 20_000);
    expect((await store.audit(f.fingerprint)).find((e) => e.what === 'escalate')?.reason).toBe(
      'callback: no callback within the 500ms SLA',
    );
    const [request, escalated] = await receiver.waitForDeliveries(2);
    expect(request?.event?.type).toBe('rotation.requested');
    expect(escalated?.event).toMatchObject({
      type: 'rotation.escalated',
      idempotencyKey: `${request?.event?.idempotencyKey}.escalated.callback`,
      escalation: { stage: 'callback', reason: 'no callback within the 500ms SLA' },
    });
    expect(escalated?.signature.ok).toBe(true);
    // A late receiver can still finish the loop with the escalation's token.
    fake.revoke(key.secret);
    const late = await acceptCallback(running.workers.loop!, f.fingerprint, {
      presented: escalated!.event!.callback.token,
      admin: false,
      body: {},
      actor: 'api:callback',
    });
    expect(late.ok).toBe(true);
    await until(async () => (await store.mustGet(f.fingerprint)).state === 'revoked');
  });

  it('a provider answering 500 never gets a key called revoked: checks go on, the SLA escalates', async () => {
    const key = fake.issue('github-pat');
    let running!: Awaited<ReturnType<typeof start>>;
    const receiver = await rotatingReceiver(() => running.workers, {
      revoke: () => {
        fake.revoke(key.secret);
        fake.fail('GITHUB', { kind: 'status', status: 500 });
      },
    });
    cleanups.push(() => fake.clearFailures());
    running = await start(
      loopSettings(receiver.url, { KEYWARDEN_ROTATION_SLA: '1500ms' }, { revocation: { maxPollInterval: '200ms' } }),
    );
    await running.queues.enqueue('scan-history', { repo: repoWith({ 'x.env': `T=${key.secret}\n` }) });
    const store = running.workers.store;
    const f = await until(async () => (await store.list({ state: 'escalated' }))[0], 20_000);
    const audit = await store.audit(f.fingerprint);
    const checks = audit.filter((e) => /^check \d+: unknown/.test(e.reason));
    expect(checks.length).toBeGreaterThanOrEqual(2);
    expect(checks[0]?.reason).toMatch(/check 1: unknown \(provider error: HTTP 500\)/);
    expect(audit.some((e) => e.to === 'revoked')).toBe(false);
    expect(audit.find((e) => e.what === 'escalate')?.reason).toMatch(/^revocation: the old key could not be confirmed revoked/);
    // The key is revoked in truth; once the provider answers again, the next check closes the finding.
    fake.clearFailures();
    await until(async () => (await store.mustGet(f.fingerprint)).state === 'revoked', 20_000);
  });

  it('a 429 with Retry-After delays the next check by at least that long', async () => {
    const key = fake.issue('github-pat');
    let running!: Awaited<ReturnType<typeof start>>;
    const receiver = await rotatingReceiver(() => running.workers, {
      revoke: () => fake.fail('GITHUB', { kind: 'rate-limit', retryAfterSeconds: 1 }, { times: 1 }),
    });
    running = await start(loopSettings(receiver.url, { KEYWARDEN_ROTATION_SLA: '1h' }));
    await running.queues.enqueue('scan-history', { repo: repoWith({ 'x.env': `T=${key.secret}\n` }) });
    const store = running.workers.store;
    const f = await until(async () => (await store.list({ state: 'revocation_pending' }))[0], 20_000);
    fake.revoke(key.secret);
    await until(async () => (await store.mustGet(f.fingerprint)).state === 'revoked', 20_000);
    const audit = await store.audit(f.fingerprint);
    const limited = audit.find((e) => /^check 1: unknown/.test(e.reason))!;
    expect(limited.reason).toMatch(/\(the provider asked to wait\)$/);
    const closed = audit.find((e) => e.to === 'revoked')!;
    expect(Date.parse(closed.at) - Date.parse(limited.at)).toBeGreaterThanOrEqual(900);
  });

  it('refuses a forged and a reused callback token (401, 403), changing nothing, audited without the token', async () => {
    const receiver = new RotationReceiver({ secret: SIGNING });
    await receiver.start();
    cleanups.push(() => receiver.stop());
    const key = fake.issue('github-pat');
    const running = await start(loopSettings(receiver.url, { KEYWARDEN_ROTATION_SLA: '1h' }));
    await running.queues.enqueue('scan-history', { repo: repoWith({ 'x.env': `T=${key.secret}\n` }) });
    const [d] = await receiver.waitForDeliveries(1);
    const fp = d!.event!.finding.fingerprint;
    const loop = running.workers.loop!;
    const call = (presented: string | null) =>
      acceptCallback(loop, fp, { presented, admin: false, body: {}, actor: 'api:callback' });
    const forged = `kwcb_${'A'.repeat(43)}`;
    expect(await call(forged)).toMatchObject({ ok: false, status: 401, reason: 'unknown' });
    expect(await call(null)).toMatchObject({ ok: false, status: 401, reason: 'missing' });
    expect((await loop.store.mustGet(fp)).state).toBe('rotation_requested');
    expect(await call(d!.event!.callback.token)).toMatchObject({ ok: true, from: 'rotation_requested', to: 'rotated' });
    expect(await call(d!.event!.callback.token)).toMatchObject({ ok: false, status: 403, reason: 'used' });
    const audit = await loop.store.audit(fp);
    expect(audit.filter((e) => e.what === 'callback_rejected').map((e) => e.reason)).toEqual([
      'callback rejected: no such token for this finding',
      'callback rejected: no bearer token',
      expect.stringMatching(/^callback rejected: token already used \(token [0-9a-f]{12}\)$/),
    ]);
    expect(JSON.stringify(audit)).not.toContain(d!.event!.callback.token);
    expect(await everything(running.prefix)).not.toContain(d!.event!.callback.token);
    // An unknown finding is refused like a wrong token.
    expect(
      await acceptCallback(loop, `kw1:${'0'.repeat(32)}`, { presented: forged, admin: false, body: {}, actor: 'x' }),
    ).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it('selfRevoke immediately: keywarden revokes at the provider, audited, then confirms with the liveness check', async () => {
    const key = fake.issue('github-pat');
    const s = settings(
      { KEYWARDEN_SECRET_KEY: VAULT_KEY, KEYWARDEN_REVOCATION_FIRST_POLL: '0s' },
      { selfRevoke: { rules: { 'github-pat': 'immediately' } } },
    );
    const running = await start(s);
    await running.queues.enqueue('scan-history', { repo: repoWith({ 'x.env': `T=${key.secret}\n` }) });
    const store = running.workers.store;
    const f = await until(async () => (await store.list({ state: 'revoked' }))[0], 20_000);
    expect(fake.isLive(key.secret)).toBe(false);
    const audit = await store.audit(f.fingerprint);
    expect(trail(audit)).toEqual([
      'detected: - -> detected',
      'liveness_check: detected -> detected',
      'policy: detected -> detected',
      'self_revoked: detected -> revocation_pending',
      'confirm_revoked: revocation_pending -> revoked',
    ]);
    expect(audit[3]?.reason).toMatch(/^keywarden asked GITHUB to revoke the key \(selfRevoke immediately\): accepted/);
  });

  it('without KEYWARDEN_SECRET_KEY: recorded and rotated, no raw secret kept, so closing escalates to a human', async () => {
    const key = fake.issue('github-pat');
    let running!: Awaited<ReturnType<typeof start>>;
    const receiver = await rotatingReceiver(() => running.workers, { revoke: () => fake.revoke(key.secret) });
    const s = settings({
      KEYWARDEN_ROTATION_WEBHOOK_URL: receiver.url,
      KEYWARDEN_WEBHOOK_SECRET: SIGNING,
      KEYWARDEN_REVOCATION_FIRST_POLL: '0s',
    });
    running = await start(s);
    await running.queues.enqueue('scan-history', { repo: repoWith({ 'x.env': `T=${key.secret}\n` }) });
    const store = running.workers.store;
    const f = await until(async () => (await store.list({ state: 'escalated' }))[0], 20_000);
    const audit = await store.audit(f.fingerprint);
    expect(audit[1]?.reason).toMatch(/^at detection: not run: KEYWARDEN_SECRET_KEY is not set/);
    expect(audit.find((e) => e.what === 'escalate')?.reason).toMatch(/^revocation: KEYWARDEN_SECRET_KEY is not set/);
    expect(await conn.exists(store.keyOf(f.fingerprint, 'secret'))).toBe(0);
    // A human confirms with a reason; audited.
    await store.resolve(f.fingerprint, 'revoked', { actor: 'cli:alice', reason: 'revoked in the GitHub UI by alice' });
    expect((await store.mustGet(f.fingerprint)).state).toBe('revoked');
    expect(await everything(running.prefix)).not.toContain(key.secret);
  });

  it('pairs an AWS key id with the secret access key beside it, and checks them as a pair (SigV4) at detection', async () => {
    // The engine finds the two together (rule aws-access-key-pair): one finding, the secret access key,
    // carrying the key id as its part; the loop's check signs with both.
    const key = fake.issue('aws-access-key-pair');
    const running = await start(settings({ KEYWARDEN_SECRET_KEY: VAULT_KEY }));
    const file = `[default]\naws_access_key_id = ${key.parts.accessKeyId}\naws_secret_access_key = ${key.secret}\n`;
    await running.queues.enqueue('scan-history', { repo: repoWith({ '.aws/credentials': file }) });
    const store = running.workers.store;
    const f = await until(async () => (await store.list({ ruleId: 'aws-access-key-pair' }))[0]);
    const check = await until(async () => (await store.audit(f.fingerprint)).find((e) => e.what === 'liveness_check'));
    expect(check.reason).toMatch(/^at detection: live \(/);
    expect(await store.list({ ruleId: 'aws-access-key-id' })).toEqual([]);
    const stored = await everything(running.prefix);
    expect(stored).not.toContain(key.secret);
    expect(stored).not.toContain(key.parts.accessKeyId!);
  });
});
