import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliverySettings, RotationTarget } from '../../config/sections/rotation.js';
import { issueCallbackToken } from '../../rotation/callback.js';
import {
  type AttemptResult,
  classifyStatus,
  deliverWebhook,
  nextDeliveryStep,
  notificationPayload,
  parseRetryAfter,
  retryDelayMs,
  rotationPayload,
} from '../../rotation/deliver.js';
import { rotationRequested } from '../../rotation/events.js';
import { notification } from '../../rotation/notification.js';
import { verifySignature } from '../../rotation/signature.js';
import { RotationReceiver } from '../helpers/rotation-receiver.js';
import { finding, settings, signingSecret } from './fixtures.js';

const secret = signingSecret();
const fast: DeliverySettings = { attempts: 4, timeoutMs: 400, backoffMs: 10, maxBackoffMs: 40, maxRetryAfterMs: 5000 };
const receivers: RotationReceiver[] = [];

async function receiver(): Promise<RotationReceiver> {
  const r = new RotationReceiver({ secret });
  receivers.push(r);
  await r.start();
  return r;
}

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

function targetFor(url: string, type: 'rotation' | 'notify' = 'rotation'): RotationTarget {
  const s =
    type === 'rotation'
      ? settings({ env: { KEYWARDEN_ROTATION_WEBHOOK_URL: url, KEYWARDEN_WEBHOOK_SECRET: secret } })
      : settings({ env: { KEYWARDEN_WEBHOOK_SECRET: secret }, file: { targets: [{ name: 'chat', type: 'notify', url }] } });
  return s.targets[0] as RotationTarget;
}

function requestPayload() {
  const { token } = issueCallbackToken(null, { now: Date.now(), ttlMs: 60_000 });
  const event = rotationRequested({ finding: finding(), publicUrl: 'http://127.0.0.1:8787', callbackToken: token });
  return { event, payload: rotationPayload(event) };
}

/** A sleep that records what it was asked for and waits only 1 ms. */
function recordingSleep() {
  const asked: number[] = [];
  return { asked, sleep: async (ms: number) => void asked.push(ms) };
}

describe('webhook delivery to a real receiver on 127.0.0.1', () => {
  it('POSTs the body with exactly these headers; the signature verifies with rotation/signature.ts', async () => {
    const r = await receiver();
    const { event, payload } = requestPayload();
    const report = await deliverWebhook(targetFor(r.url), payload, { delivery: fast });
    expect(report).toMatchObject({
      target: 'default',
      type: 'rotation.requested',
      delivered: true,
      escalate: false,
      aborted: false,
    });
    expect(report.attempts).toHaveLength(1);
    const [d] = r.deliveries;
    if (!d) throw new Error('no delivery');
    expect(d.method).toBe('POST');
    expect(d.path).toBe('/hooks/rotate');
    expect(Object.keys(d.headers).sort()).toEqual([
      'connection',
      'content-length',
      'content-type',
      'host',
      'idempotency-key',
      'keywarden-signature',
      'user-agent',
    ]);
    expect(d.headers['content-type']).toBe('application/json');
    expect(d.headers['idempotency-key']).toBe(event.idempotencyKey);
    expect(d.headers['user-agent']).toBe('keywarden-webhook/1');
    expect(d.headers['keywarden-signature']).toMatch(/^t=\d{10},v1=[0-9a-f]{64}$/);
    expect(d.signature).toMatchObject({ ok: true });
    expect(verifySignature(secret, d.rawBody, d.headers['keywarden-signature'] as string)).toMatchObject({ ok: true });
    expect(verifySignature(signingSecret(), d.rawBody, d.headers['keywarden-signature'] as string)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(d.rawBody.equals(payload.rawBody)).toBe(true);
    expect(d.event).toEqual(event);
    expect(Number(d.headers['content-length'])).toBe(payload.rawBody.length);
  });

  it('retries a 5xx with backoff: same bytes and Idempotency-Key every time, each try signed afresh', async () => {
    const r = await receiver();
    r.answers = [500, 503, 502];
    const { event, payload } = requestPayload();
    const { asked, sleep } = recordingSleep();
    const report = await deliverWebhook(targetFor(r.url), payload, { delivery: fast, sleep });
    expect(report.delivered).toBe(true);
    expect(report.attempts.map((a) => [a.outcome, a.status])).toEqual([
      ['retry', 500],
      ['retry', 503],
      ['retry', 502],
      ['delivered', 200],
    ]);
    expect(asked).toEqual([10, 20, 40]);
    expect(r.deliveries).toHaveLength(4);
    expect(new Set(r.deliveries.map((d) => d.headers['idempotency-key']))).toEqual(new Set([event.idempotencyKey]));
    expect(r.deliveries.every((d) => d.rawBody.equals(payload.rawBody) && d.signature.ok)).toBe(true);
    // The receiver saw four deliveries of one request: a real one rotates once.
    expect(r.rotations).toEqual([event.idempotencyKey]);
  });

  it('retries a receiver that does not answer in time', async () => {
    const r = await receiver();
    r.answers = ['hang', { hangThenOk: 2000 }];
    const { payload } = requestPayload();
    const { sleep } = recordingSleep();
    const report = await deliverWebhook(targetFor(r.url), payload, { delivery: fast, sleep });
    expect(report.attempts.map((a) => (a.outcome === 'retry' ? a.cause : a.outcome))).toEqual([
      'timeout',
      'timeout',
      'delivered',
    ]);
    expect(report.attempts[0]?.durationMs).toBeGreaterThanOrEqual(fast.timeoutMs - 5);
    expect(report.delivered).toBe(true);
  });

  it('retries a connection refused, then escalates after the last attempt', async () => {
    const gone = createServer();
    gone.listen(0, '127.0.0.1');
    await once(gone, 'listening');
    const port = (gone.address() as AddressInfo).port;
    await new Promise((done) => gone.close(done));
    const { asked, sleep } = recordingSleep();
    const report = await deliverWebhook(targetFor(`http://127.0.0.1:${port}/hook`), requestPayload().payload, {
      delivery: fast,
      sleep,
    });
    expect(report.attempts.map((a) => (a.outcome === 'retry' ? [a.cause, a.error] : a.outcome))).toEqual(
      Array.from({ length: 4 }, () => ['connection', 'ECONNREFUSED']),
    );
    expect(asked).toEqual([10, 20, 40]);
    expect(report).toMatchObject({
      delivered: false,
      escalate: true,
      reason: 'could not reach the receiver (ECONNREFUSED) after 4 attempts',
    });
  });

  it('retries 408 and 429; other 4xx are final at once and escalate', async () => {
    const r = await receiver();
    r.answers = [408, 429, 400];
    const { sleep } = recordingSleep();
    const report = await deliverWebhook(targetFor(r.url), requestPayload().payload, { delivery: fast, sleep });
    expect(report.attempts.map((a) => [a.outcome, a.status])).toEqual([
      ['retry', 408],
      ['retry', 429],
      ['rejected', 400],
    ]);
    expect(report).toMatchObject({ delivered: false, escalate: true, reason: 'receiver refused (HTTP 400)' });
    for (const status of [401, 403, 404, 409, 410, 422]) {
      r.answers = [status];
      const one = await deliverWebhook(targetFor(r.url), requestPayload().payload, { delivery: fast, sleep });
      expect([one.attempts.length, one.escalate]).toEqual([1, true]);
    }
  });

  it('a receiver that rejects the signature (401) is final', async () => {
    const r = await receiver();
    const wrong = settings({ env: { KEYWARDEN_ROTATION_WEBHOOK_URL: r.url, KEYWARDEN_WEBHOOK_SECRET: signingSecret() } })
      .defaultTarget as RotationTarget;
    const report = await deliverWebhook(wrong, requestPayload().payload, { delivery: fast });
    expect(report.attempts.map((a) => a.status)).toEqual([401]);
    expect(r.deliveries[0]?.signature).toEqual({ ok: false, reason: 'mismatch' });
    expect(report.escalate).toBe(true);
  });

  it('honours Retry-After (seconds) on a 429, for real', async () => {
    const r = await receiver();
    r.answers = [{ status: 429, headers: { 'Retry-After': '1' } }];
    const report = await deliverWebhook(targetFor(r.url), requestPayload().payload, { delivery: fast });
    expect(report.delivered).toBe(true);
    expect(report.attempts[0]).toMatchObject({ outcome: 'retry', status: 429, retryAfterMs: 1000 });
    const [a, b] = r.deliveries;
    // A lower bound only: the backoff alone (10 ms) would have retried at once.
    expect((b?.at ?? 0) - (a?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('honours Retry-After on a 503 too, capped at maxRetryAfter', async () => {
    const r = await receiver();
    r.answers = [
      { status: 503, headers: { 'Retry-After': '3' } },
      { status: 429, headers: { 'Retry-After': '86400' } },
    ];
    const { asked, sleep } = recordingSleep();
    await deliverWebhook(targetFor(r.url), requestPayload().payload, { delivery: fast, sleep });
    expect(asked).toEqual([3000, 5000]);
  });

  it('does not follow a redirect: the other server gets nothing, the attempt is final', async () => {
    const elsewhere = await receiver();
    const r = await receiver();
    r.answers = [{ status: 307, headers: { Location: elsewhere.url } }];
    const report = await deliverWebhook(targetFor(r.url), requestPayload().payload, { delivery: fast });
    expect(report).toMatchObject({
      delivered: false,
      escalate: true,
      reason: 'receiver redirected (HTTP 307); redirects are not followed',
    });
    expect(elsewhere.deliveries).toHaveLength(0);
  });

  it('stops when the worker shuts down: neither delivered nor escalated', async () => {
    const r = await receiver();
    r.mode = 500;
    const ac = new AbortController();
    const pending = deliverWebhook(targetFor(r.url), requestPayload().payload, {
      delivery: { ...fast, attempts: 100, backoffMs: 60_000, maxBackoffMs: 60_000 },
      signal: ac.signal,
    });
    await r.waitForDeliveries(1);
    ac.abort();
    const report = await pending;
    expect(report).toMatchObject({ delivered: false, escalate: false, aborted: true });
  });

  it('checks TLS certificates: a self-signed receiver is a connection error, never a plain-text fallback', async () => {
    // A throwaway certificate made now, in a temp dir (never committed).
    const dir = mkdtempSync(join(tmpdir(), 'kw-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    let requests = 0;
    const tls = createHttpsServer(
      { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) },
      (_req, res) => {
        requests++;
        res.writeHead(200).end();
      },
    );
    rmSync(dir, { recursive: true, force: true });
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    try {
      const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/hook`;
      const { sleep } = recordingSleep();
      const report = await deliverWebhook(targetFor(url), requestPayload().payload, {
        delivery: { ...fast, attempts: 2 },
        sleep,
      });
      expect(report.attempts.map((a) => (a.outcome === 'retry' ? [a.cause, a.error] : a.outcome))).toEqual([
        ['connection', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
        ['connection', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
      ]);
      expect(report.escalate).toBe(true);
      expect(requests).toBe(0);
    } finally {
      tls.closeAllConnections();
      await new Promise((done) => tls.close(done));
    }
  });

  it('sends notification targets text only, signed, and refuses to send them a rotation body', async () => {
    const chat = await receiver();
    const target = targetFor(chat.url, 'notify');
    const { event, payload } = requestPayload();
    await expect(deliverWebhook(target, payload, { delivery: fast })).rejects.toThrow(/notification-only/);
    expect(chat.deliveries).toHaveLength(0);
    const text = notification(finding(), { kind: 'rotation-requested', targets: ['default'] });
    const report = await deliverWebhook(target, notificationPayload(event.idempotencyKey, text), { delivery: fast });
    expect(report.delivered).toBe(true);
    const [d] = chat.deliveries;
    expect(d?.json).toEqual({ text: text.text });
    expect(d?.signature.ok).toBe(true);
    expect(d?.rawBody.toString()).not.toContain('kwcb_');
    expect(d?.rawBody.toString()).not.toContain('/rotated');
  });

  it('no delivered byte holds the raw secret, even from a finding object that carries one', async () => {
    const r = await receiver();
    const raw = `ghp_${randomBytes(18).toString('base64url')}`;
    const leaky = { ...finding(), secret: raw, locations: [{ kind: 'file', path: 'a', line: 1, secret: raw }] };
    const { token } = issueCallbackToken(null, { now: Date.now(), ttlMs: 60_000 });
    const event = rotationRequested({ finding: leaky, publicUrl: 'http://127.0.0.1:8787', callbackToken: token });
    await deliverWebhook(targetFor(r.url), rotationPayload(event), { delivery: fast });
    const seen = r.deliveries.map((d) => `${JSON.stringify(d.headers)}${d.rawBody.toString()}`).join('');
    expect(seen).not.toContain(raw);
  });
});

describe('delivery classification (pure)', () => {
  const statuses: Record<number, AttemptResult['outcome']> = {
    200: 'delivered',
    202: 'delivered',
    204: 'delivered',
    301: 'rejected',
    302: 'rejected',
    400: 'rejected',
    401: 'rejected',
    403: 'rejected',
    404: 'rejected',
    408: 'retry',
    413: 'rejected',
    429: 'retry',
    500: 'retry',
    502: 'retry',
    503: 'retry',
    504: 'retry',
  };
  for (const [status, outcome] of Object.entries(statuses)) {
    it(`HTTP ${status}: ${outcome}`, () => expect(classifyStatus(Number(status), undefined, 0).outcome).toBe(outcome));
  }

  const now = Date.parse('2026-01-01T00:00:00Z');
  const retryAfter: Record<string, number | null> = {
    '0': 0,
    '120': 120_000,
    'Thu, 01 Jan 2026 00:00:30 GMT': 30_000,
    'Wed, 31 Dec 2025 23:00:00 GMT': 0,
    soon: null,
    '-5': null,
  };
  for (const [v, want] of Object.entries(retryAfter))
    it(`Retry-After ${JSON.stringify(v)} -> ${want}`, () => expect(parseRetryAfter(v, now)).toBe(want));

  it('backoff doubles from `backoff` to `maxBackoff`; Retry-After wins when longer, up to `maxRetryAfter`', () => {
    const d: DeliverySettings = {
      attempts: 10,
      timeoutMs: 1000,
      backoffMs: 2000,
      maxBackoffMs: 600_000,
      maxRetryAfterMs: 3_600_000,
    };
    const e: AttemptResult = { outcome: 'retry', cause: 'status', status: 500, retryAfterMs: null, error: null };
    expect([1, 2, 3, 4, 5, 9, 10, 20].map((n) => retryDelayMs(n, e, d))).toEqual([
      2000, 4000, 8000, 16_000, 32_000, 512_000, 600_000, 600_000,
    ]);
    expect(retryDelayMs(1, { ...e, retryAfterMs: 1000 }, d)).toBe(2000);
    expect(retryDelayMs(1, { ...e, retryAfterMs: 90_000 }, d)).toBe(90_000);
    expect(retryDelayMs(1, { ...e, retryAfterMs: 10 * 3_600_000 }, d)).toBe(3_600_000);
  });

  it('the step after a try, for a queue processor: done, retry with a delay, or escalate', () => {
    const e: AttemptResult = { outcome: 'retry', cause: 'timeout', status: null, retryAfterMs: null, error: null };
    expect(nextDeliveryStep(1, { outcome: 'delivered', status: 200 }, fast)).toEqual({ kind: 'done' });
    expect(nextDeliveryStep(1, e, fast)).toEqual({ kind: 'retry', delayMs: 10 });
    expect(nextDeliveryStep(4, e, fast)).toEqual({
      kind: 'escalate',
      reason: 'receiver did not answer in time after 4 attempts',
    });
    expect(nextDeliveryStep(1, { outcome: 'rejected', cause: 'status', status: 410 }, fast)).toEqual({
      kind: 'escalate',
      reason: 'receiver refused (HTTP 410)',
    });
  });
});
