// The rotation loop's routes in an in-process API server on a real Redis: every response is held to
// the OpenAPI document (test/setup/api-responses.ts). The callback (one-time token, admin token,
// forgeries), rotate, verify, lifecycle, and the GitHub webhook's signature check. The loop end to end
// with worker processes is test/loop/'s.
import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, createApiServer } from '../../api/server.js';
import { rotationSettings } from '../../config/sections/rotation.js';
import type { Finding } from '../../model/finding.js';
import { resolveProviderBaseUrls } from '../../providers/base-urls.js';
import { builtinRules } from '../../rules/builtin.js';
import { compilePack } from '../../scanner/engine/compile.js';
import { RotationStore } from '../../workers/rotation-store.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { checkedResponses } from '../setup/api-responses.js';
import { githubToken } from '../workers/fixtures.js';

// biome-ignore lint/suspicious/noExplicitAny: responses are read loosely; the assertions check their shape.
type Json = any;

const TOKEN = randomBytes(24).toString('base64url');
const SIGNING = randomBytes(24).toString('base64url');
const HOOK_SECRET = randomBytes(24).toString('base64url');
const PREFIX = `kwtest-rot-${randomBytes(4).toString('hex')}`;
const RULES = await builtinRules();

function finding(n: number): Finding {
  return {
    fingerprint: `kw1:${n.toString(16).padStart(32, '0')}`,
    ruleId: 'github-pat',
    description: 'GitHub classic personal access token',
    confidence: 'high',
    redacted: 'ghp_…a1',
    entropy: 5,
    state: 'detected',
    occurrences: [{ provenance: { kind: 'file', path: 'app.env' }, span: { line: 1, column: 1, endLine: 1, endColumn: 41 } }],
  };
}

describe('the rotation routes', () => {
  let redis: RedisHandle;
  let server: ApiServer;
  let base: string;
  let tokens: RotationStore;

  const post = (path: string, body: unknown, token: string | null = TOKEN, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });

  beforeAll(async () => {
    redis = await startRedis({ aof: false });
    const s = rotationSettings({
      env: { KEYWARDEN_ROTATION_WEBHOOK_URL: 'http://127.0.0.1:9/hook', KEYWARDEN_WEBHOOK_SECRET: SIGNING },
    });
    if (!s.ok) throw new Error(s.problems.join('\n'));
    server = await createApiServer({
      redisUrl: redis.url,
      prefix: PREFIX,
      token: TOKEN,
      processMetrics: false,
      loop: { settings: s.settings, rules: RULES, baseUrls: resolveProviderBaseUrls({}) },
      github: {
        webhookSecret: HOOK_SECRET,
        pack: compilePack(RULES, {}),
        fingerprintKey: Buffer.from('rotation-routes-test-key-0123456789'),
        apiUrl: 'http://127.0.0.1:9',
      },
    });
    base = await server.listen('127.0.0.1', 0);
    await server.ctx.store.record([finding(1), finding(2), finding(3)], { actor: 'test' });
    for (const n of [1, 2])
      await server.ctx.store.apply(finding(n).fingerprint, 'request_rotation', { actor: 'test', reason: 'test' });
    tokens = new RotationStore(server.ctx.store);
  });
  afterAll(async () => {
    expect(checkedResponses()).toBeGreaterThan(10);
    await server?.close();
    await redis?.stop();
  });

  it('are in the OpenAPI document with their own credentials', async () => {
    const doc = (await (await fetch(`${base}/v1/openapi.json`)).json()) as Json;
    expect(doc.paths['/v1/findings/{fingerprint}/rotated'].post.security).toEqual([{ callbackToken: [] }, { bearer: [] }]);
    expect(doc.paths['/v1/github/webhook'].post.security).toEqual([{ githubSignature: [] }]);
    expect(doc.paths['/v1/findings/{fingerprint}/rotate'].post.security).toBeUndefined();
    expect(Object.keys(doc.paths['/v1/findings/{fingerprint}/rotated'].post.responses).sort()).toEqual(
      ['200', '400', '401', '403', '404', '409', '413', '415', '500', '503'].sort(),
    );
    expect(doc.components.securitySchemes.callbackToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.githubSignature).toMatchObject({ type: 'apiKey', name: 'X-Hub-Signature-256' });
  });

  it('the callback takes the finding’s one-time token once (200, then 403) and refuses a wrong one (401)', async () => {
    const fp = finding(1).fingerprint;
    const { token } = await tokens.issueToken(fp, Date.now(), 60_000);
    const wrong = await post(`/v1/findings/${fp}/rotated`, {}, `kwcb_${'B'.repeat(43)}`);
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as Json).error.code).toBe('KW_WEBHOOK_REJECTED');
    const ok = await post(`/v1/findings/${fp}/rotated`, { revoked: true, note: 'rotated by CI', extra: 'ignored' }, token);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      fingerprint: fp,
      from: 'rotation_requested',
      state: 'rotated',
      confirmation: { round: 1 },
    });
    const again = await post(`/v1/findings/${fp}/rotated`, {}, token);
    expect(again.status).toBe(403);
    expect(((await again.json()) as Json).error.code).toBe('KW_FORBIDDEN');
    const noBody = await post(`/v1/findings/${fp}/rotated`, undefined, null);
    expect(noBody.status).toBe(401);
    const audit = await server.ctx.store.audit(fp);
    expect(audit.map((e) => e.what)).toEqual([
      'detected',
      'request_rotation',
      'callback_rejected',
      'rotated',
      'callback_rejected',
      'callback_rejected',
    ]);
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  it('the admin token may report a rotation without a callback token; a key pasted into the note is redacted', async () => {
    const fp = finding(2).fingerprint;
    const pasted = githubToken(77);
    const r = await post(`/v1/findings/${fp}/rotated`, { note: `done, old value was ${pasted}` });
    expect(r.status).toBe(200);
    const rotated = (await server.ctx.store.audit(fp)).find((e) => e.what === 'rotated')!;
    expect(rotated.actor).toBe('api');
    expect(rotated.reason).toMatch(/^rotated, reported by admin token; note: done, old value was /);
    expect(rotated.reason).not.toContain(pasted);
    // An illegal move answers 409 and spends nothing.
    expect((await post(`/v1/findings/${finding(3).fingerprint}/rotated`, {})).status).toBe(409);
    expect((await post(`/v1/findings/kw1:${'f'.repeat(32)}/rotated`, {})).status).toBe(404);
  });

  it('rotate queues a new request to the configured targets; verify and lifecycle answer for the finding', async () => {
    const fp = finding(3).fingerprint;
    const r = await post(`/v1/findings/${fp}/rotate`, { reason: 'leaked in chat' });
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ fingerprint: fp, request: 1, targets: ['default'] });
    expect((await post(`/v1/findings/${fp}/rotate`, {}, null)).status).toBe(401);
    const v = await post(`/v1/findings/${fp}/verify`, {});
    expect(v.status).toBe(200);
    expect(await v.json()).toMatchObject({
      verdict: 'unknown',
      reason: expect.stringMatching(/^KEYWARDEN_SECRET_KEY is not set/),
    });
    const l = await fetch(`${base}/v1/findings/${fp}/lifecycle`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(l.status).toBe(200);
    const body = (await l.json()) as Json;
    expect(body.lifecycle.map((s: Json) => s.state)).toEqual(['detected', 'rotation_requested']);
    expect(body.rotation.rawSecret).toMatch(/^not kept: KEYWARDEN_SECRET_KEY is not set/);
  });

  it('the GitHub webhook refuses a delivery whose signature does not verify, audited; answers ping', async () => {
    const body = JSON.stringify({ zen: 'Keep it logically awesome.' });
    const sign = (secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const forged = await post('/v1/github/webhook', body, null, {
      'x-github-event': 'ping',
      'x-hub-signature-256': sign('wrong'),
    });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as Json).error.code).toBe('KW_WEBHOOK_REJECTED');
    const ping = await post('/v1/github/webhook', body, null, {
      'x-github-event': 'ping',
      'x-hub-signature-256': sign(HOOK_SECRET),
    });
    expect(ping.status).toBe(200);
    const other = await post('/v1/github/webhook', body, null, {
      'x-github-event': 'push',
      'x-hub-signature-256': sign(HOOK_SECRET),
    });
    expect(other.status).toBe(202);
    expect(await other.json()).toEqual({ status: 'ignored', event: 'push' });
    expect((await server.ctx.store.serviceAudit()).map((e) => e.what)).toEqual(['github_webhook_rejected']);
  });
});
