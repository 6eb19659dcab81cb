import { randomBytes } from 'node:crypto';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  createRotatableSecret,
  emergencyRotationHandler,
  type RotatableSecret,
  type RunningServer,
  startEmergencyServer,
} from '../../runtime/index.js';
import { thrown } from '../helpers/thrown.js';
import { startServer, type TestServer } from './helpers.js';

const ADMIN = `admin-${randomBytes(16).toString('hex')}`;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

function secretOf(name: string, value: string): RotatableSecret {
  const s = createRotatableSecret({ name, source: async () => value, refreshInterval: 60_000 });
  closers.push(() => s.close());
  return s;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/rotate-secret`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('emergencyRotationHandler on its loopback server', () => {
  it('rotates with the admin token in either header, audits with short hashes only, and lists status without values', async () => {
    const oldValue = `old-${randomBytes(12).toString('hex')}`;
    const newValue = `new-${randomBytes(12).toString('hex')}`;
    const llm = secretOf('llm', oldValue);
    const db = secretOf('db', 'db-password-value');
    await Promise.all([llm.ready, db.ready]);
    const audit: AuditEvent[] = [];
    const srv: RunningServer = await startEmergencyServer({
      adminToken: ADMIN,
      secrets: { llm, db },
      onAudit: (e) => audit.push(e),
    });
    closers.push(() => srv.close());
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const res = await post(srv.url, { name: 'llm', value: newValue }, { 'x-admin-token': ADMIN });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      name: 'llm',
      version: 2,
      from: expect.stringMatching(/^[0-9a-f]{12}$/),
      to: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    expect(llm.value).toBe(newValue);
    expect(llm.previous).toBe(oldValue);

    const bearer = await post(srv.url, { name: 'db', value: 'db-password-rotated' }, { authorization: `Bearer ${ADMIN}` });
    expect(bearer.status).toBe(200);

    const status = await fetch(`${srv.url}/secret-status`, { headers: { 'x-admin-token': ADMIN } });
    expect(status.status).toBe(200);
    const listed = (await status.json()) as { secrets: Array<Record<string, unknown>> };
    expect(listed.secrets.map((s) => [s.name, s.version])).toEqual([
      ['llm', 2],
      ['db', 2],
    ]);
    expect(listed.secrets[0]!.rotatedAt).toEqual(expect.any(String));

    const rotated = audit.filter((e) => e.event === 'secret.rotated');
    expect(rotated.map((e) => [e.name, e.from, e.to])).toEqual([
      ['llm', body.from, body.to],
      ['db', expect.any(String), expect.any(String)],
    ]);
    const everything = JSON.stringify([audit, listed, body]);
    for (const secret of [oldValue, newValue, 'db-password-value', 'db-password-rotated', ADMIN])
      expect(everything).not.toContain(secret);
  });

  it('rejects missing and wrong tokens (audited, token not recorded) and rate limits per address', async () => {
    const s = secretOf('llm', 'value-one');
    await s.ready;
    const audit: AuditEvent[] = [];
    const srv = await startEmergencyServer({
      adminToken: ADMIN,
      secrets: { llm: s },
      rateLimit: { max: 5, window: '1m' },
      onAudit: (e) => audit.push(e),
    });
    closers.push(() => srv.close());
    const wrong = `${ADMIN.slice(0, -1)}x`;

    expect((await post(srv.url, { name: 'llm', value: 'evil' })).status).toBe(401);
    const r1 = await post(srv.url, { name: 'llm', value: 'evil' }, { 'x-admin-token': wrong });
    expect(r1.status).toBe(401);
    expect(r1.headers.get('www-authenticate')).toBe('Bearer');
    expect(await r1.json()).toEqual({ error: { code: 'KW_UNAUTHORIZED', message: 'admin token required' } });
    expect((await post(srv.url, { name: 'llm', value: 'evil' }, { authorization: `Bearer ${wrong}` })).status).toBe(401);
    expect((await fetch(`${srv.url}/secret-status`, { headers: { 'x-admin-token': 'short' } })).status).toBe(401);
    expect(s.value).toBe('value-one');

    // The fifth request is still let through (and rejected for its token); the sixth is rate limited,
    // even with the right token.
    expect((await post(srv.url, { name: 'llm', value: 'evil' }, { 'x-admin-token': wrong })).status).toBe(401);
    const limited = await post(srv.url, { name: 'llm', value: 'good-but-late' }, { 'x-admin-token': ADMIN });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(s.value).toBe('value-one');

    expect(audit.map((e) => e.reason)).toEqual([
      'no_token',
      'wrong_token',
      'wrong_token',
      'wrong_token',
      'wrong_token',
      'rate_limited',
    ]);
    expect(JSON.stringify(audit)).not.toContain(wrong);
    expect(JSON.stringify(audit)).not.toContain(ADMIN);
  });

  it('answers bad requests clearly: unknown secret, invalid JSON, wrong type, wrong method', async () => {
    const s = secretOf('llm', 'value-one');
    await s.ready;
    const srv = await startEmergencyServer({
      adminToken: ADMIN,
      secrets: new Map([['llm', s]]),
      rateLimit: { max: 100 },
      onAudit: () => {},
    });
    closers.push(() => srv.close());
    const h = { 'x-admin-token': ADMIN };
    expect((await post(srv.url, { name: 'nope', value: 'x' }, h)).status).toBe(404);
    expect((await post(srv.url, { name: 'llm' }, h)).status).toBe(400);
    expect((await post(srv.url, { name: 'llm', value: '' }, h)).status).toBe(400);
    const bad = await fetch(`${srv.url}/rotate-secret`, {
      method: 'POST',
      headers: { ...h, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('KW_JSON_INVALID');
    const text = await fetch(`${srv.url}/rotate-secret`, {
      method: 'POST',
      headers: { ...h, 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(text.status).toBe(415);
    expect((await fetch(`${srv.url}/rotate-secret`, { headers: h })).status).toBe(405);
    expect((await fetch(`${srv.url}/elsewhere`, { headers: h })).status).toBe(404);
    const huge = await post(srv.url, { name: 'llm', value: 'x'.repeat(70_000) }, h);
    expect(huge.status).toBe(413);
    expect(s.value).toBe('value-one');
  });

  it('refuses to listen beyond loopback, and refuses a short admin token', async () => {
    const s = secretOf('llm', 'v');
    await expect(startEmergencyServer({ adminToken: ADMIN, secrets: { llm: s }, host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'KW_CONFIG_INVALID',
    });
    expect(thrown(() => emergencyRotationHandler({ adminToken: 'too-short', secrets: {} }))).toMatchObject({
      code: 'KW_CONFIG_INVALID',
    });
  });
});

describe('emergencyRotationHandler adapters', () => {
  it('works as a fastify plugin (under a prefix, beside the app routes and its JSON parser)', async () => {
    const s = secretOf('llm', 'fastify-old-value');
    await s.ready;
    const app = Fastify();
    app.post('/app/echo', async (req) => req.body);
    await app.register(emergencyRotationHandler({ adminToken: ADMIN, secrets: { llm: s }, onAudit: () => {} }).fastify, {
      prefix: '/admin',
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => app.close());
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    expect(
      (await post(`${url}/admin`, { name: 'llm', value: 'fastify-new-value' }, { 'x-admin-token': 'wrong-token-wrong-token' }))
        .status,
    ).toBe(401);
    const ok = await post(`${url}/admin`, { name: 'llm', value: 'fastify-new-value' }, { 'x-admin-token': ADMIN });
    expect(ok.status).toBe(200);
    expect(s.value).toBe('fastify-new-value');
    const st = await fetch(`${url}/admin/secret-status`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(((await st.json()) as { secrets: unknown[] }).secrets).toHaveLength(1);
    // The app's own JSON parsing is untouched by the plugin's buffer parser.
    const echo = await fetch(`${url}/app/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(await echo.json()).toEqual({ a: 1 });
  });

  it('works as express middleware, before or after express.json()', async () => {
    const s = secretOf('llm', 'express-old-value');
    await s.ready;
    const handler = emergencyRotationHandler({ adminToken: ADMIN, secrets: { llm: s }, onAudit: () => {} });
    const app = express();
    app.use('/raw', handler.express);
    app.use(express.json());
    app.use('/parsed', handler.express);
    app.get('/app', (_req, res) => void res.send('app route'));
    const srv: TestServer = await startServer(app);
    closers.push(() => srv.close());
    expect((await post(`${srv.url}/raw`, { name: 'llm', value: 'express-new-1' }, { 'x-admin-token': ADMIN })).status).toBe(200);
    expect(s.value).toBe('express-new-1');
    expect((await post(`${srv.url}/parsed`, { name: 'llm', value: 'express-new-2' }, { 'x-admin-token': ADMIN })).status).toBe(
      200,
    );
    expect(s.value).toBe('express-new-2');
    expect(await (await fetch(`${srv.url}/app`)).text()).toBe('app route');
  });
});
