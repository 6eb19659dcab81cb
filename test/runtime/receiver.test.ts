// The rotation receiver against real peers on 127.0.0.1: a fake provider that issues and revokes keys,
// and a stand-in for keywarden's callback route (POST /v1/findings/<fp>/rotated with the one-time token).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  createRotatableSecret,
  createRotationReceiver,
  fileIdempotencyStore,
  fileSource,
  fileWriter,
  type RotationReceiverOptions,
  signatureHeader,
} from '../../runtime/index.js';
import { readJson, sendJson, startServer, type TestServer, until } from './helpers.js';

const WEBHOOK_SECRET = `whsec-${randomBytes(16).toString('hex')}`;
let dir: string;
const closers: Array<() => Promise<unknown>> = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kw-receiver-'));
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
  rmSync(dir, { recursive: true, force: true });
});

/** A provider with an admin API: issue a key, revoke a key; `live(key)` is what a liveness check would ask. */
async function fakeProvider() {
  const keys = new Map<string, { id: string; revoked: boolean }>();
  const calls: string[] = [];
  const issue = () => {
    const key = `prov-${randomBytes(16).toString('hex')}`;
    keys.set(key, { id: `key_${keys.size + 1}`, revoked: false });
    return key;
  };
  const srv = await startServer(async (req, res) => {
    calls.push(`${req.method} ${req.url}`);
    if (req.method === 'POST' && req.url === '/admin/keys') {
      const key = issue();
      return sendJson(res, 201, { id: keys.get(key)!.id, key });
    }
    if (req.method === 'POST' && req.url === '/admin/keys/revoke') {
      const { key } = (await readJson(req)) as { key: string };
      const k = keys.get(key);
      if (k === undefined) return sendJson(res, 404, { error: 'unknown key' });
      k.revoked = true;
      return sendJson(res, 200, { revoked: true });
    }
    sendJson(res, 404, {});
  });
  closers.push(() => srv.close());
  return { url: srv.url, keys, calls, issue, live: (key: string) => keys.get(key)?.revoked === false };
}

/** Keywarden's callback route as the rotation issue defines it: one-time token per finding. */
async function fakeKeywarden() {
  const tokens = new Map<string, string>(); // token -> fingerprint
  const received: Array<{ fingerprint: string; body: unknown; authorization: string | undefined }> = [];
  const script: number[] = [];
  const srv: TestServer = await startServer(async (req, res) => {
    const m = /^\/v1\/findings\/([^/]+)\/rotated$/.exec(req.url ?? '');
    const body = await readJson(req);
    if (req.method !== 'POST' || m === null) return sendJson(res, 404, {});
    const status = script.shift();
    if (status !== undefined) return sendJson(res, status, { error: { code: 'KW_INTERNAL' } });
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const fp = decodeURIComponent(m[1]!);
    if (tokens.get(token) !== fp) return sendJson(res, 401, { error: { code: 'KW_UNAUTHORIZED' } });
    tokens.delete(token); // one-time
    received.push({ fingerprint: fp, body, authorization: req.headers.authorization });
    sendJson(res, 200, { state: 'rotated' });
  });
  closers.push(() => srv.close());
  return {
    url: srv.url,
    received,
    script,
    tokens,
    /** A signed rotation.requested delivery for `fingerprint`, with a fresh one-time callback token. */
    delivery(fingerprint: string, opts: { idempotencyKey?: string; secret?: string; t?: number } = {}) {
      const token = randomBytes(16).toString('hex');
      tokens.set(token, fingerprint);
      const body = JSON.stringify({
        type: 'rotation.requested',
        id: `evt_${randomBytes(6).toString('hex')}`,
        idempotencyKey: opts.idempotencyKey ?? `idem-${fingerprint}`,
        createdAt: new Date().toISOString(),
        finding: {
          fingerprint,
          ruleId: 'openai-project-key',
          provider: 'OpenAI',
          redacted: 'sk-p…Ax',
          firstSeen: new Date().toISOString(),
          locations: [{ kind: 'git', repo: 'acme/agent', commit: 'abc123', path: 'config.env', line: 3 }],
        },
        callback: { url: `${srv.url}/v1/findings/${encodeURIComponent(fingerprint)}/rotated`, token },
      });
      const headers = {
        'content-type': 'application/json',
        'keywarden-signature': signatureHeader(opts.secret ?? WEBHOOK_SECRET, body, opts.t ?? Math.floor(Date.now() / 1000)),
        'idempotency-key': opts.idempotencyKey ?? `idem-${fingerprint}`,
      };
      return { body, headers, token };
    },
  };
}

type Provider = Awaited<ReturnType<typeof fakeProvider>>;

function receiverOptions(
  provider: Provider,
  file: string,
  audit: AuditEvent[],
  extra: Partial<RotationReceiverOptions> = {},
): RotationReceiverOptions {
  return {
    webhookSecret: WEBHOOK_SECRET,
    async rotate() {
      const r = await fetch(`${provider.url}/admin/keys`, { method: 'POST' });
      const { id, key } = (await r.json()) as { id: string; key: string };
      return { value: key, id };
    },
    write: fileWriter(file),
    async revoke({ oldValue }) {
      if (oldValue === undefined) return { revoked: false, note: 'old key unknown' };
      const r = await fetch(`${provider.url}/admin/keys/revoke`, { method: 'POST', body: JSON.stringify({ key: oldValue }) });
      return r.ok;
    },
    revokeDelay: 0,
    backoff: 1,
    onAudit: (e) => audit.push(e),
    ...extra,
  };
}

async function serve(handler: Parameters<typeof startServer>[0]): Promise<string> {
  const s = await startServer(handler);
  closers.push(() => s.close());
  return s.url;
}

const send = (url: string, d: { body: string; headers: Record<string, string> }) =>
  fetch(url, { method: 'POST', headers: d.headers, body: d.body });

describe('createRotationReceiver', () => {
  it('verifies, rotates at the provider, writes where the app reads, revokes the old key and calls back', async () => {
    const provider = await fakeProvider();
    const keywarden = await fakeKeywarden();
    const file = join(dir, 'llm-key');
    const oldKey = provider.issue();
    writeFileSync(file, `${oldKey}\n`);
    const app = createRotatableSecret({ name: 'llm', source: fileSource(file), refreshInterval: 100 });
    closers.push(() => app.close());
    await app.ready;

    const audit: AuditEvent[] = [];
    const receiver = createRotationReceiver(receiverOptions(provider, file, audit));
    const url = await serve(receiver);
    const d = keywarden.delivery('kw1:0123456789abcdef0123456789abcdef');
    const res = await send(url, d);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'accepted', idempotencyKey: 'idem-kw1:0123456789abcdef0123456789abcdef' });
    await receiver.settled();

    const newKey = readFileSync(file, 'utf8');
    expect(newKey).not.toBe(oldKey);
    expect(provider.live(newKey)).toBe(true);
    expect(provider.live(oldKey)).toBe(false);
    await until(() => app.value === newKey, 'the app to switch');
    expect(app.previous).toBe(oldKey);

    expect(keywarden.received).toEqual([
      {
        fingerprint: 'kw1:0123456789abcdef0123456789abcdef',
        authorization: `Bearer ${d.token}`,
        body: { revoked: true, note: 'rotated; old key revoked at the provider; new key id key_2' },
      },
    ]);
    expect(audit.map((e) => e.event)).toEqual(['rotation.accepted', 'rotation.written', 'rotation.completed']);
    const trail = JSON.stringify(audit);
    for (const s of [oldKey, newKey, d.token, WEBHOOK_SECRET]) expect(trail).not.toContain(s);
  });

  it('never rotates twice for one idempotencyKey: redeliveries, concurrent duplicates, and after a restart with a file store', async () => {
    const provider = await fakeProvider();
    const keywarden = await fakeKeywarden();
    const file = join(dir, 'key');
    writeFileSync(file, provider.issue());
    const storeFile = join(dir, 'idempotency.json');
    let rotations = 0;
    const opts = (audit: AuditEvent[]) => {
      const base = receiverOptions(provider, file, audit, { idempotency: fileIdempotencyStore(storeFile) });
      return {
        ...base,
        rotate: async (ctx: Parameters<RotationReceiverOptions['rotate']>[0]) => {
          rotations++;
          return base.rotate(ctx);
        },
      };
    };
    const receiver = createRotationReceiver(opts([]));
    const url = await serve(receiver);
    const fp = 'kw1:ffffffffffffffffffffffffffffffff';
    const [a, b] = await Promise.all([send(url, keywarden.delivery(fp)), send(url, keywarden.delivery(fp))]);
    expect([a.status, b.status].sort()).toEqual([202, 202]);
    expect(new Set([((await a.json()) as { status: string }).status, ((await b.json()) as { status: string }).status])).toEqual(
      new Set(['accepted', 'in_progress']),
    );
    await receiver.settled();
    const again = await send(url, keywarden.delivery(fp));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'already_done' });

    // A new process with the same store.
    const restarted = createRotationReceiver(opts([]));
    const url2 = await serve(restarted);
    expect((await send(url2, keywarden.delivery(fp))).status).toBe(200);
    await restarted.settled();
    expect(rotations).toBe(1);
    expect(keywarden.received).toHaveLength(1);
    expect(JSON.parse(readFileSync(storeFile, 'utf8'))[`idem-${fp}`]).toMatchObject({ state: 'completed', fingerprint: fp });
  });

  it('rejects forged, expired, unsigned and mismatched deliveries without rotating (audited)', async () => {
    const provider = await fakeProvider();
    const keywarden = await fakeKeywarden();
    const file = join(dir, 'key');
    writeFileSync(file, provider.issue());
    const audit: AuditEvent[] = [];
    let rotations = 0;
    const receiver = createRotationReceiver({
      ...receiverOptions(provider, file, audit),
      rotate: async () => {
        rotations++;
        return 'never';
      },
    });
    const url = await serve(receiver);
    const fp = 'kw1:11111111111111111111111111111111';

    const forged = await send(url, keywarden.delivery(fp, { secret: 'an-attacker-guessed-secret' }));
    expect(forged.status).toBe(401);
    expect(await forged.json()).toEqual({ error: { code: 'KW_WEBHOOK_REJECTED', message: 'signature mismatch' } });
    const old = await send(url, keywarden.delivery(fp, { t: Math.floor(Date.now() / 1000) - 3600 }));
    expect(((await old.json()) as { error: { message: string } }).error.message).toBe('signature expired');
    const d = keywarden.delivery(fp);
    const unsigned = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: d.body });
    expect(unsigned.status).toBe(401);
    // The signature covers the exact bytes: re-serialised JSON does not verify.
    const reserialised = await fetch(url, {
      method: 'POST',
      headers: d.headers,
      body: JSON.stringify(JSON.parse(d.body), null, 1),
    });
    expect(reserialised.status).toBe(401);
    const otherKey = await fetch(url, { method: 'POST', headers: { ...d.headers, 'idempotency-key': 'other' }, body: d.body });
    expect(otherKey.status).toBe(400);
    expect((await fetch(url)).status).toBe(405);
    await receiver.settled();
    expect(rotations).toBe(0);
    expect(audit.map((e) => e.reason)).toEqual([
      'signature_mismatch',
      'signature_expired',
      'signature_missing',
      'signature_mismatch',
    ]);
  });

  it('refuses callback URLs outside callbackOrigins, and findings `accepts` declines', async () => {
    const provider = await fakeProvider();
    const keywarden = await fakeKeywarden();
    const file = join(dir, 'key');
    writeFileSync(file, provider.issue());
    const strict = createRotationReceiver(
      receiverOptions(provider, file, [], { callbackOrigins: ['https://keywarden.example.com'] }),
    );
    expect((await send(await serve(strict), keywarden.delivery('kw1:22222222222222222222222222222222'))).status).toBe(422);
    const picky = createRotationReceiver(receiverOptions(provider, file, [], { accepts: (f) => f.ruleId === 'github-pat' }));
    expect((await send(await serve(picky), keywarden.delivery('kw1:33333333333333333333333333333333'))).status).toBe(422);
    expect(provider.calls).toEqual([]);
  });

  it('a failed callback is retried with the next delivery token, without rotating again', async () => {
    const provider = await fakeProvider();
    const keywarden = await fakeKeywarden();
    const file = join(dir, 'key');
    writeFileSync(file, provider.issue());
    const audit: AuditEvent[] = [];
    const receiver = createRotationReceiver(receiverOptions(provider, file, audit, { attempts: 2 }));
    const url = await serve(receiver);
    const fp = 'kw1:44444444444444444444444444444444';
    keywarden.script.push(503, 503);
    await send(url, keywarden.delivery(fp));
    await receiver.settled();
    expect(keywarden.received).toHaveLength(0);
    expect(audit.map((e) => e.event)).toContain('rotation.callback_pending');

    const retry = await send(url, keywarden.delivery(fp));
    expect(await retry.json()).toMatchObject({ status: 'callback_retry' });
    await receiver.settled();
    expect(keywarden.received).toHaveLength(1);
    expect(keywarden.received[0]!.body).toMatchObject({ revoked: true });
    expect(provider.calls.filter((c) => c === 'POST /admin/keys')).toHaveLength(1);
  });

  it('a rotation that fails at the provider leaves the old key alone and lets the next delivery try again', async () => {
    const provider = await fakeProvider();
    const keywarden = await fakeKeywarden();
    const file = join(dir, 'key');
    const oldKey = provider.issue();
    writeFileSync(file, oldKey);
    let failing = true;
    const audit: AuditEvent[] = [];
    const base = receiverOptions(provider, file, audit, { attempts: 2 });
    const receiver = createRotationReceiver({
      ...base,
      rotate: async (ctx) => {
        if (failing) throw new Error(`provider said no to ${oldKey}`);
        return base.rotate(ctx);
      },
    });
    const url = await serve(receiver);
    const fp = 'kw1:55555555555555555555555555555555';
    await send(url, keywarden.delivery(fp));
    await receiver.settled();
    expect(readFileSync(file, 'utf8')).toBe(oldKey);
    expect(provider.live(oldKey)).toBe(true);
    expect(audit.filter((e) => e.event === 'rotation.step_failed')).toHaveLength(2);
    expect(JSON.stringify(audit)).not.toContain(oldKey); // the thrown message is not recorded

    failing = false;
    expect((await send(url, keywarden.delivery(fp))).status).toBe(202);
    await receiver.settled();
    expect(provider.live(oldKey)).toBe(false);
    expect(keywarden.received).toHaveLength(1);
  });

  it('takes the raw body on fastify and on express (express.raw), and says so when express.json() ran first', async () => {
    const provider = await fakeProvider();
    const keywarden = await fakeKeywarden();
    const file = join(dir, 'key');
    writeFileSync(file, provider.issue());

    const fastifyReceiver = createRotationReceiver(receiverOptions(provider, file, []));
    const app = Fastify();
    await app.register(fastifyReceiver.fastify, { prefix: '/hooks/keywarden' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => app.close());
    const furl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/hooks/keywarden`;
    expect((await send(furl, keywarden.delivery('kw1:66666666666666666666666666666666'))).status).toBe(202);
    await fastifyReceiver.settled();

    const expressReceiver = createRotationReceiver(receiverOptions(provider, file, []));
    const ex = express();
    ex.use('/raw', express.raw({ type: '*/*' }), expressReceiver.express);
    ex.use(express.json());
    ex.use('/parsed', expressReceiver.express);
    const eurl = await serve(ex);
    expect((await send(`${eurl}/raw`, keywarden.delivery('kw1:77777777777777777777777777777777'))).status).toBe(202);
    const parsed = await send(`${eurl}/parsed`, keywarden.delivery('kw1:88888888888888888888888888888888'));
    expect(parsed.status).toBe(500);
    expect(((await parsed.json()) as { error: { message: string } }).error.message).toMatch(/mount it before express\.json\(\)/);
    await expressReceiver.settled();
    expect(keywarden.received.map((r) => r.fingerprint)).toEqual([
      'kw1:66666666666666666666666666666666',
      'kw1:77777777777777777777777777777777',
    ]);
  });
});
