// The request -> callback half of the loop over real HTTP: a stand-in for the API's callback route (the
// real one comes with the worker/API wiring) built only from rotation/'s pure pieces, and the test
// receiver rotating and calling back.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RotationTarget } from '../../config/sections/rotation.js';
import {
  bearerToken,
  CallbackRequest,
  type CallbackTokens,
  checkCallbackToken,
  describeCallback,
  issueCallbackToken,
} from '../../rotation/callback.js';
import { deliverWebhook, rotationPayload } from '../../rotation/deliver.js';
import { rotationRequested } from '../../rotation/events.js';
import { RotationReceiver } from '../helpers/rotation-receiver.js';
import { finding, settings, signingSecret } from './fixtures.js';

const secret = signingSecret();

/** What the route does, in the order the real one will: token, then body, then the (stubbed) transition. */
class CallbackApi {
  tokens = new Map<string, CallbackTokens>();
  audit: Array<{ fingerprint: string; line: string }> = [];
  rotated: string[] = [];
  server: Server | null = null;
  url = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const m = /^\/v1\/findings\/(kw1:[0-9a-f]{32})\/rotated$/.exec(req.url ?? '');
        if (req.method !== 'POST' || !m) return void res.writeHead(404).end();
        const fp = m[1] as string;
        const check = checkCallbackToken(this.tokens.get(fp) ?? null, bearerToken(req.headers.authorization), Date.now());
        this.audit.push({ fingerprint: fp, line: check.attempt.summary });
        if (!check.ok)
          return void res
            .writeHead(check.status, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ error: check.reason }));
        const raw = Buffer.concat(parts).toString('utf8');
        const body = CallbackRequest.safeParse(raw === '' ? {} : JSON.parse(raw));
        if (!body.success) return void res.writeHead(400).end();
        this.tokens.set(fp, check.state);
        this.rotated.push(fp);
        this.audit.push({ fingerprint: fp, line: describeCallback(body.data, check.tokenId) });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ fingerprint: fp, state: 'rotated' }));
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((done) => this.server?.close(done));
  }
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()));
});

describe('rotation request -> receiver rotates -> callback', () => {
  it('the receiver calls back with its one-time token; a reuse gets 403 and a forgery 401, all audited without tokens', async () => {
    const api = new CallbackApi();
    await api.start();
    stops.push(() => api.stop());
    const callbacks: Array<{ status: number }> = [];
    const receiver = new RotationReceiver({
      secret,
      onRotationRequested: async (d, r) => {
        // A real receiver rotates at the provider here, then reports.
        callbacks.push(await r.callBack(d, { revoked: true, note: 'rotated by the test receiver' }));
      },
    });
    await receiver.start();
    stops.push(() => receiver.stop());

    const s = settings({
      env: { KEYWARDEN_ROTATION_WEBHOOK_URL: receiver.url, KEYWARDEN_WEBHOOK_SECRET: secret, KEYWARDEN_PUBLIC_URL: api.url },
    });
    const f = finding();
    const issued = issueCallbackToken(null, { now: Date.now(), ttlMs: s.callbackTokenTtlMs });
    api.tokens.set(f.fingerprint, issued.state);
    const event = rotationRequested({ finding: f, publicUrl: s.publicUrl, callbackToken: issued.token });
    expect(event.callback.url).toBe(`${api.url}/v1/findings/${f.fingerprint}/rotated`);

    const report = await deliverWebhook(s.defaultTarget as RotationTarget, rotationPayload(event), { delivery: s.delivery });
    expect(report.delivered).toBe(true);
    await expect.poll(() => callbacks.length).toBe(1);
    expect(callbacks[0]?.status).toBe(200);
    expect(api.rotated).toEqual([f.fingerprint]);

    const [d] = receiver.deliveries;
    if (!d) throw new Error('no delivery');
    expect((await receiver.callBack(d)).status).toBe(403);
    expect((await receiver.callBack(d, {}, { token: issueCallbackToken(null, { now: 0, ttlMs: 1 }).token })).status).toBe(401);
    expect((await receiver.callBack(d, {}, { token: 'not-a-token' })).status).toBe(401);
    expect(api.rotated).toEqual([f.fingerprint]);

    expect(api.audit.map((a) => a.line)).toEqual([
      `callback accepted (token ${issued.tokenId})`,
      `rotated, reported by receiver (token ${issued.tokenId}); claims the old key is revoked (unconfirmed: the provider decides); note: rotated by the test receiver`,
      `callback rejected: token already used (token ${issued.tokenId})`,
      'callback rejected: no such token for this finding',
      'callback rejected: not a callback token',
    ]);
    expect(JSON.stringify(api.audit)).not.toContain(issued.token);
    expect(JSON.stringify([...api.tokens.values()])).not.toContain(issued.token);
  });
});
