// docs/rotation.md's snippets, run for real: the YAML section parses to the defaults the tables state,
// the Node and shell/openssl verifiers accept real deliveries and refuse forgeries, and the example
// receiver answers, deduplicates and calls back.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROTATION_DEFAULTS, type RotationTarget, rotationSettings } from '../../config/sections/rotation.js';
import { issueCallbackToken } from '../../rotation/callback.js';
import { deliverWebhook, rotationPayload } from '../../rotation/deliver.js';
import { rotationRequested } from '../../rotation/events.js';
import { signatureHeader } from '../../rotation/signature.js';
import { type ReceivedDelivery, RotationReceiver } from '../helpers/rotation-receiver.js';
import { finding, settings, signingSecret } from './fixtures.js';

const run = promisify(execFile);
const doc = readFileSync(new URL('../../docs/rotation.md', import.meta.url), 'utf8');

function snippet(name: string): string {
  const m = new RegExp(`<!-- snippet: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(doc);
  if (!m) throw new Error(`docs/rotation.md has no snippet ${name}`);
  return `${m[1]}\n`;
}

const secret = signingSecret();
const dir = mkdtempSync(join(tmpdir(), 'kw-rotation-docs-'));
const receiver = new RotationReceiver({ secret });
let delivery: ReceivedDelivery;

beforeAll(async () => {
  await receiver.start();
  const { token } = issueCallbackToken(null, { now: Date.now(), ttlMs: 60_000 });
  const event = rotationRequested({ finding: finding(), publicUrl: 'http://127.0.0.1:8787', callbackToken: token });
  const target = settings({
    env: { KEYWARDEN_ROTATION_WEBHOOK_URL: receiver.url, KEYWARDEN_WEBHOOK_SECRET: secret },
  }).defaultTarget;
  await deliverWebhook(target as RotationTarget, rotationPayload(event), { delivery: ROTATION_DEFAULTS.delivery });
  delivery = receiver.deliveries[0] as ReceivedDelivery;
  writeFileSync(join(dir, 'verify-keywarden-signature.mjs'), snippet('verify-node'));
  writeFileSync(join(dir, 'receiver.mjs'), snippet('receiver-node'));
});

afterAll(async () => {
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
});

const header = (h: IncomingHttpHeaders) => h['keywarden-signature'] as string;
const now = () => Math.floor(Date.now() / 1000);

describe('docs/rotation.md', () => {
  it('the config-file example is valid, and its values are the documented defaults', () => {
    const yaml = parse(snippet('config-yaml')) as { rotation: unknown };
    const r = rotationSettings({
      file: yaml.rotation,
      env: {
        KEYWARDEN_WEBHOOK_SECRET: secret,
        AWS_ROTATOR_SIGNING_SECRET: signingSecret(),
        SECURITY_CHAT_WEBHOOK_URL: 'http://127.0.0.1:9/chat',
      },
    });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    const d = settings();
    expect(r.settings.revocation).toEqual(d.revocation);
    expect(r.settings.delivery).toEqual(d.delivery);
    expect(r.settings.callbackTokenTtlMs).toBe(d.callbackTokenTtlMs);
    expect(r.settings.targets.map((t) => `${t.name}:${t.type}`)).toEqual([
      'default:rotation',
      'aws-team:rotation',
      'platform:rotation',
      'security-chat:notify',
    ]);
  });

  describe('the Node verifier', () => {
    type Verify = (secret: string, body: Buffer | string, header: unknown, tolerance?: number) => boolean;
    let verify: Verify;
    beforeAll(async () => {
      const mod = (await import(pathToFileURL(join(dir, 'verify-keywarden-signature.mjs')).href)) as {
        verifyKeywardenSignature: Verify;
      };
      verify = mod.verifyKeywardenSignature;
    });

    it('accepts a real delivery, as bytes or as a string', () => {
      expect(verify(secret, delivery.rawBody, header(delivery.headers))).toBe(true);
      expect(verify(secret, delivery.rawBody.toString('utf8'), header(delivery.headers))).toBe(true);
    });
    it('refuses another secret, a changed body, a missing header and an old timestamp', () => {
      expect(verify(signingSecret(), delivery.rawBody, header(delivery.headers))).toBe(false);
      expect(verify(secret, Buffer.concat([delivery.rawBody, Buffer.from(' ')]), header(delivery.headers))).toBe(false);
      expect(verify(secret, delivery.rawBody, undefined)).toBe(false);
      expect(verify(secret, delivery.rawBody, signatureHeader(secret, delivery.rawBody, now() - 301))).toBe(false);
    });
    it('accepts any of several v1 entries (secret roll-over)', () => {
      const t = now();
      const other = signatureHeader(signingSecret(), delivery.rawBody, t).split(',')[1];
      expect(verify(secret, delivery.rawBody, `${signatureHeader(secret, delivery.rawBody, t)},${other}`)).toBe(true);
      expect(
        verify(secret, delivery.rawBody, `t=${t},${other},${signatureHeader(secret, delivery.rawBody, t).split(',')[1]}`),
      ).toBe(true);
    });
  });

  // bash (without rc files: the snippet alone, not this machine's set-up) and POSIX sh (dash here).
  const shells: Record<string, string[]> = { bash: ['bash', '--norc', '--noprofile', '-c'], sh: ['sh', '-c'] };
  for (const [shell, argv] of Object.entries(shells)) {
    describe(`the shell/openssl verifier, in ${shell}`, () => {
      async function sh(sig: string, body: Buffer, key = secret): Promise<{ code: number; out: string }> {
        const work = mkdtempSync(join(dir, 'sh-'));
        writeFileSync(join(work, 'body.json'), body);
        try {
          const r = await run(argv[0] as string, [...argv.slice(1), snippet('verify-shell')], {
            cwd: work,
            env: { PATH: process.env.PATH, HOME: work, SIGNATURE: sig, KEYWARDEN_WEBHOOK_SECRET: key },
          });
          return { code: 0, out: `${r.stdout}${r.stderr}`.trim() };
        } catch (err) {
          const e = err as { code: number; stdout: string; stderr: string };
          return { code: e.code, out: `${e.stdout}${e.stderr}`.trim() };
        }
      }
      it('accepts a real delivery', async () => {
        expect(await sh(header(delivery.headers), delivery.rawBody)).toEqual({ code: 0, out: 'signature ok' });
      });
      it('accepts one of several v1 entries', async () => {
        const t = now();
        const other = signatureHeader(signingSecret(), delivery.rawBody, t).split(',')[1];
        expect((await sh(`${signatureHeader(secret, delivery.rawBody, t)},${other}`, delivery.rawBody)).code).toBe(0);
      });
      it('refuses a changed body, another secret, an old timestamp and garbage', async () => {
        const bad = { code: 1, out: 'signature invalid' };
        expect(await sh(header(delivery.headers), Buffer.concat([delivery.rawBody, Buffer.from('\n')]))).toEqual(bad);
        expect(await sh(header(delivery.headers), delivery.rawBody, signingSecret())).toEqual(bad);
        expect(await sh(signatureHeader(secret, delivery.rawBody, now() - 400), delivery.rawBody)).toEqual(bad);
        expect(await sh('t=;v1=$(id)', delivery.rawBody)).toEqual(bad);
        expect(await sh('', delivery.rawBody)).toEqual(bad);
      });
    });
  }

  it('the example receiver answers 202, rotates once per idempotency key, calls back, and refuses forgeries; so does the curl callback', async () => {
    const callbacks: Array<{ auth: string | undefined; body: string; path: string }> = [];
    const api = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        callbacks.push({ auth: req.headers.authorization, body, path: req.url ?? '' });
        res.writeHead(200).end('{}');
      });
    });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    const port = await freePort();
    const child = spawn(process.execPath, [join(dir, 'receiver.mjs')], {
      env: { PATH: process.env.PATH, PORT: String(port), KEYWARDEN_WEBHOOK_SECRET: secret },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    try {
      await waitForPort(port);
      const url = `http://127.0.0.1:${port}/keywarden`;
      const target = settings({ env: { KEYWARDEN_ROTATION_WEBHOOK_URL: url, KEYWARDEN_WEBHOOK_SECRET: secret } })
        .defaultTarget as RotationTarget;
      const f = finding();
      const { token } = issueCallbackToken(null, { now: Date.now(), ttlMs: 60_000 });
      const event = rotationRequested({ finding: f, publicUrl: apiUrl, callbackToken: token });
      const fastDelivery = { ...ROTATION_DEFAULTS.delivery, backoffMs: 10 };
      const first = await deliverWebhook(target, rotationPayload(event), { delivery: fastDelivery });
      expect(first.attempts.map((a) => a.status)).toEqual([202]);
      await expect.poll(() => callbacks.length).toBe(1);
      expect(callbacks[0]).toEqual({
        auth: `Bearer ${token}`,
        body: JSON.stringify({ revoked: true, note: 'rotated by receiver.mjs' }),
        path: `/v1/findings/${f.fingerprint}/rotated`,
      });
      // A later delivery of the same request: answered, not acted on again.
      const again = rotationRequested({
        finding: f,
        publicUrl: apiUrl,
        callbackToken: issueCallbackToken(null, { now: 0, ttlMs: 1 }).token,
      });
      expect((await deliverWebhook(target, rotationPayload(again), { delivery: fastDelivery })).delivered).toBe(true);
      const forger = settings({ env: { KEYWARDEN_ROTATION_WEBHOOK_URL: url, KEYWARDEN_WEBHOOK_SECRET: signingSecret() } })
        .defaultTarget as RotationTarget;
      const forged = await deliverWebhook(
        forger,
        rotationPayload(rotationRequested({ finding: finding(), publicUrl: apiUrl, callbackToken: 'x' })),
        {
          delivery: fastDelivery,
        },
      );
      expect(forged.attempts.map((a) => a.status)).toEqual([401]);
      await new Promise((done) => setTimeout(done, 200));
      expect(callbacks).toHaveLength(1);

      // The curl callback from the docs, against the same stand-in API.
      await run('sh', ['-c', snippet('callback-curl')], {
        env: { PATH: process.env.PATH, HOME: dir, CALLBACK_URL: event.callback.url, CALLBACK_TOKEN: token },
      });
      expect(callbacks[1]).toEqual({
        auth: `Bearer ${token}`,
        body: '{"revoked": true, "note": "rotated by pipeline 4711"}',
        path: `/v1/findings/${f.fingerprint}/rotated`,
      });
    } finally {
      child.kill();
      api.closeAllConnections();
      await new Promise((done) => api.close(done));
    }
  });
});

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((done) => s.close(done));
  return port;
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        done(true);
      });
      c.once('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}
