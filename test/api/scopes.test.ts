// Scoped API tokens on the real server over a real Redis (every response held to the OpenAPI document
// by test/setup/api-responses.ts): which scope opens which route, 401 vs 403, the guessing oracle a
// submit-only token must not have, audit entries naming the token, and rate limits per token.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, createApiServer } from '../../api/server.js';
import { rotationSettings } from '../../config/sections/rotation.js';
import { loadServiceConfig } from '../../config/service.js';
import { parseYaml } from '../../config/yaml.js';
import { scopeAllows, scopedTokenLookup } from '../../http/auth.js';
import { resolveProviderBaseUrls } from '../../providers/base-urls.js';
import { builtinRules } from '../../rules/builtin.js';
import { compilePack } from '../../scanner/engine/compile.js';
import { createRedactor } from '../../scanner/redact-spans.js';
import { type RunningWorkers, startWorkers } from '../../workers/worker.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { checkedResponses } from '../setup/api-responses.js';
import { githubToken, scanSettings } from '../workers/fixtures.js';

// biome-ignore lint/suspicious/noExplicitAny: responses are read loosely; the assertions check their shape.
type Json = any;

// Generated per run: they guard nothing outside this test.
const token = () => randomBytes(24).toString('base64url');
const ADMIN = token();
const SUBMIT = token();
const READ = token();
const OPS = token(); // listed in the config by hash, scope admin
const CI = token(); // listed, scope submit
const METERED = token(); // listed, scope read, a rate limit of its own (used by one test only)
const sha256 = (t: string) => createHash('sha256').update(t).digest('hex');
const PREFIX = `kwtest-scopes-${randomBytes(4).toString('hex')}`;
const RULES = await builtinRules();

describe('scoped API tokens', () => {
  let redis: RedisHandle;
  let server: ApiServer;
  let base: string;
  let running: RunningWorkers;
  let dir: string;

  const call = (path: string, tok: string | null, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (tok !== null) headers.set('authorization', `Bearer ${tok}`);
    return fetch(`${base}${path}`, { ...init, headers });
  };
  const post = (path: string, body: unknown, tok: string | null) =>
    call(path, tok, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  /** Waits for a job to finish, as `tok` sees it. */
  async function settled(id: string, tok: string): Promise<Json> {
    for (let i = 0; i < 300; i++) {
      const res = await call(`/v1/jobs/${id}`, tok);
      const job = (await res.json()) as Json;
      if (res.status === 200 && (job.state === 'completed' || job.state === 'failed')) return job;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`job ${id} did not finish`);
  }

  beforeAll(async () => {
    redis = await startRedis({ aof: false });
    dir = mkdtempSync(join(tmpdir(), 'kw-scopes-'));
    const s = rotationSettings({
      env: { KEYWARDEN_ROTATION_WEBHOOK_URL: 'http://127.0.0.1:9/hook', KEYWARDEN_WEBHOOK_SECRET: token() },
    });
    if (!s.ok) throw new Error(s.problems.join('\n'));
    const settings = scanSettings();
    server = await createApiServer({
      redisUrl: redis.url,
      prefix: PREFIX,
      token: ADMIN,
      tokens: {
        submit: SUBMIT,
        read: READ,
        hashed: [
          { id: 'ops-1', scope: 'admin', sha256: sha256(OPS) },
          { id: 'ci-2', scope: 'submit', sha256: sha256(CI) },
          { id: 'dash-3', scope: 'read', sha256: sha256(METERED), rateLimit: 3 },
        ],
      },
      processMetrics: false,
      loop: { settings: s.settings, rules: RULES, baseUrls: resolveProviderBaseUrls({}) },
      github: {
        webhookSecret: token(),
        pack: compilePack(RULES, {}),
        fingerprintKey: settings.fingerprintKey,
        apiUrl: 'http://127.0.0.1:9',
      },
      intake: {
        redactor: createRedactor({ rules: RULES, fingerprintKey: settings.fingerprintKey }),
        token: token(),
        spoolDir: join(dir, 'spool'),
        fsync: false,
      },
    });
    base = await server.listen('127.0.0.1', 0);
    running = await startWorkers({ redisUrl: redis.url, prefix: PREFIX, queues: ['scan-log-batch'], scan: settings });
  });
  afterAll(async () => {
    expect(checkedResponses()).toBeGreaterThan(20);
    await running?.close();
    await server?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('declares a scope on every guarded route, or is public or checks its own credential', () => {
    const undeclared = Object.entries(server.access).filter(([, how]) => how === undefined);
    expect(undeclared).toEqual([]);
    expect(server.access).toMatchObject({
      'GET /healthz': 'public',
      'GET /readyz': 'public',
      'GET /v1/openapi.json': 'public',
      'POST /v1/scans': ['submit'],
      'GET /v1/jobs/:id': ['submit', 'read'],
      'GET /v1/schedules': ['read'],
      'GET /metrics': ['read'],
      'GET /v1/findings': ['read'],
      'GET /v1/findings/:fingerprint': ['read'],
      'GET /v1/findings/:fingerprint/audit': ['read'],
      'GET /v1/findings/:fingerprint/lifecycle': ['read'],
      'POST /v1/findings/:fingerprint/transitions': ['admin'],
      'POST /v1/findings/:fingerprint/rotate': ['admin'],
      'POST /v1/findings/:fingerprint/verify': ['admin'],
      'POST /v1/findings/:fingerprint/rotated': 'ownToken',
      'POST /v1/github/webhook': 'ownToken',
    });
    for (const route of server.routes.filter((r) => r.includes('/v1/intake'))) expect(server.access[route]).toBe('ownToken');
  });

  it('opens a route that declares no scope to admin tokens only (fail closed)', () => {
    expect(scopeAllows('read', undefined)).toBe(false);
    expect(scopeAllows('submit', undefined)).toBe(false);
    expect(scopeAllows('admin', undefined)).toBe(true);
    expect(scopeAllows('read', ['submit', 'read'])).toBe(true);
    expect(scopeAllows('submit', 'read')).toBe(false);
  });

  it('answers 401 without a token or with a wrong one, 403 KW_FORBIDDEN to a valid token of the wrong scope', async () => {
    for (const tok of [null, token(), `${SUBMIT}x`]) {
      const res = await call('/v1/findings', tok);
      expect(res.status).toBe(401);
      expect(((await res.json()) as Json).error.code).toBe('KW_UNAUTHORIZED');
    }
    const cases: Array<[string, string, string, unknown?]> = [
      [SUBMIT, 'GET', '/v1/findings'],
      [SUBMIT, 'GET', '/metrics'],
      [SUBMIT, 'GET', '/v1/schedules'],
      [READ, 'POST', '/v1/scans', { kind: 'scan-dump', data: { path: '/tmp/x' } }],
      [READ, 'POST', `/v1/findings/kw1:${'0'.repeat(32)}/transitions`, { event: 'mark_false_positive', reason: 'x' }],
      [SUBMIT, 'POST', `/v1/findings/kw1:${'0'.repeat(32)}/verify`, {}],
      [CI, 'GET', `/v1/findings/kw1:${'0'.repeat(32)}/audit`],
    ];
    for (const [tok, method, path, body] of cases) {
      const res = method === 'POST' ? await post(path, body, tok) : await call(path, tok, { method, headers: {} });
      expect(res.status, `${method} ${path}`).toBe(403);
      const err = ((await res.json()) as Json).error;
      expect(err.code).toBe('KW_FORBIDDEN');
      expect(err.message).not.toContain(tok);
    }
    // Admin implies every scope; read reads, submit submits.
    expect((await call('/v1/findings', READ)).status).toBe(200);
    expect((await call('/v1/findings', OPS)).status).toBe(200);
    expect((await call('/metrics', ADMIN)).status).toBe(200);
    expect((await call('/healthz', null)).status).toBe(200);
  });

  it('tells a submit-only token nothing about findings: a guessing attempt learns nothing', async () => {
    // The secret the service already knows: a shipper's batch, scanned and recorded.
    const real = githubToken(101);
    const first = (await (
      await post('/v1/scans', { kind: 'scan-log-batch', data: { stream: 'app', lines: [`token=${real}`] } }, ADMIN)
    ).json()) as Json;
    const recorded = await settled(first.id, ADMIN);
    expect(recorded.returnvalue).toMatchObject({ findings: 1, newFindings: 1 });

    // The attacker holds a submit token and 20 candidates, one of them the real key.
    const candidates = Array.from({ length: 20 }, (_, i) => (i === 13 ? real : githubToken(200 + i)));
    const lines = candidates.map((c) => `token=${c}`);
    const submitted = await post('/v1/scans', { kind: 'scan-log-batch', data: { stream: 'probe', lines } }, SUBMIT);
    expect(submitted.status).toBe(202);
    const enq = (await submitted.json()) as Json;
    expect(Object.keys(enq).sort()).toEqual(['duplicate', 'href', 'id', 'kind']);
    const seen = await settled(enq.id, SUBMIT);
    expect(seen.state).toBe('completed');
    // State and attempts, no result: `newFindings: 19` of 20 would name the known key by bisection.
    expect(seen).not.toHaveProperty('returnvalue');
    expect(JSON.stringify(seen)).not.toMatch(/findings|ghp_/i);
    for (const path of ['/v1/findings', `/v1/findings?stream=probe`, '/metrics', `/v1/findings/${'kw1:'.padEnd(36, '0')}`]) {
      expect((await call(path, SUBMIT)).status, path).toBe(403);
    }
    // The same job read with a token that may read findings shows the oracle that is closed above.
    const asReader = await settled(enq.id, READ);
    expect(asReader.returnvalue).toMatchObject({ findings: 20, newFindings: 19 });

    // Nor does `duplicate` or a job id say that someone else sent exactly these lines.
    const again = (await (
      await post('/v1/scans', { kind: 'scan-log-batch', data: { stream: 'app', lines: [`token=${real}`] } }, SUBMIT)
    ).json()) as Json;
    expect(again.duplicate).toBe(false);
    expect(again.id).not.toBe(first.id);
    const theirs = await call(`/v1/jobs/${first.id}`, SUBMIT);
    expect(theirs.status).toBe(404);
    expect(((await theirs.json()) as Json).error.code).toBe('KW_JOB_NOT_FOUND');
    // A submitter's own re-send is still one job.
    const resend = (await (
      await post('/v1/scans', { kind: 'scan-log-batch', data: { stream: 'probe', lines } }, SUBMIT)
    ).json()) as Json;
    expect(resend).toMatchObject({ id: enq.id, duplicate: true });
    // Another submit token does not see it either.
    expect((await call(`/v1/jobs/${enq.id}`, CI)).status).toBe(404);
  });

  it('names the token in audit entries, by id, beside the caller’s own actor string', async () => {
    const real = githubToken(301);
    const job = (await (
      await post('/v1/scans', { kind: 'scan-log-batch', data: { stream: 'audit', lines: [`k=${real}`] } }, ADMIN)
    ).json()) as Json;
    await settled(job.id, ADMIN);
    const list = (await (await call('/v1/findings?stream=audit', READ)).json()) as Json;
    const fp = list.findings[0].fingerprint as string;
    const moved = await post(
      `/v1/findings/${fp}/transitions`,
      { event: 'mark_false_positive', reason: 'test key', actor: 'alice' },
      OPS,
    );
    expect(moved.status).toBe(200);
    const events = ((await (await call(`/v1/findings/${fp}/audit`, READ)).json()) as Json).events;
    const last = events.at(-1);
    expect(last).toMatchObject({ what: 'mark_false_positive', actor: 'api:alice', token: 'ops-1' });
    expect(events[0]).not.toHaveProperty('token'); // detected by a worker: no API token involved
    const all = JSON.stringify(events);
    for (const t of [ADMIN, OPS, SUBMIT, READ, CI, sha256(OPS)]) expect(all).not.toContain(t);
  });

  it('lets an admin-scoped token call back for any finding, audited under its id; a submit token is no callback token', async () => {
    const fpOf = `kw1:${'7'.repeat(32)}`;
    await server.ctx.store.record(
      [
        {
          fingerprint: fpOf,
          ruleId: 'github-pat',
          description: 'GitHub classic personal access token',
          confidence: 'high',
          redacted: 'ghp_…a1',
          entropy: 5,
          state: 'detected',
          occurrences: [
            { provenance: { kind: 'file', path: 'app.env' }, span: { line: 1, column: 1, endLine: 1, endColumn: 41 } },
          ],
        },
      ],
      { actor: 'test' },
    );
    await server.ctx.store.apply(fpOf, 'request_rotation', { actor: 'test', reason: 'test' });
    const refused = await post(`/v1/findings/${fpOf}/rotated`, {}, SUBMIT);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as Json).error.code).toBe('KW_WEBHOOK_REJECTED');
    const ok = await post(`/v1/findings/${fpOf}/rotated`, {}, OPS);
    expect(ok.status).toBe(200);
    const events = ((await (await call(`/v1/findings/${fpOf}/audit`, READ)).json()) as Json).events;
    expect(events.find((e: Json) => e.what === 'rotated')).toMatchObject({ actor: 'api', token: 'ops-1' });
    expect(events.find((e: Json) => e.what === 'callback_rejected')).toMatchObject({ token: 'callback' });
  });

  it('limits requests per token, not per address: 429 KW_RATE_LIMITED with Retry-After, others unaffected', async () => {
    // dash-3 has its own limit of 3 per window; refused requests count too.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await call(i === 2 ? '/v1/scans' : '/v1/jobs/nope', METERED, i === 2 ? { method: 'POST' } : {})).status);
    expect(statuses).toEqual([404, 404, 403]);
    const limited = await call('/v1/jobs/nope', METERED);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const err = ((await limited.json()) as Json).error;
    expect(err.code).toBe('KW_RATE_LIMITED');
    expect(err.message).toContain('dash-3');
    // The same address with another token, and the public probes, are not limited by ci-2's count.
    expect((await call('/v1/jobs/nope', SUBMIT)).status).toBe(404);
    for (let i = 0; i < 5; i++) expect((await call('/healthz', null)).status).toBe(200);
    // The document says so.
    const doc = (await (await call('/v1/openapi.json', null)).json()) as Json;
    const op = doc.paths['/v1/jobs/{id}'].get;
    expect(op.security).toEqual([{ bearer: ['submit'] }, { bearer: ['read'] }, { bearer: ['admin'] }]);
    expect(op.responses['429'].headers['Retry-After'].required).toBe(true);
    expect(op.responses['403'].content['application/json']).toBeDefined();
    expect(doc.paths['/v1/findings/{fingerprint}/transitions'].post.security).toEqual([{ bearer: ['admin'] }]);
  });

  it('limits by the section’s rate and window when a token has no limit of its own', async () => {
    const tight = await createApiServer({
      redisUrl: redis.url,
      prefix: PREFIX,
      token: ADMIN,
      tokens: { submit: SUBMIT },
      rateLimit: { max: 2, windowMs: 60_000 },
      processMetrics: false,
    });
    try {
      const url = await tight.listen('127.0.0.1', 0);
      const get = (tok: string) => fetch(`${url}/v1/jobs/nope`, { headers: { authorization: `Bearer ${tok}` } });
      expect([(await get(SUBMIT)).status, (await get(SUBMIT)).status, (await get(SUBMIT)).status]).toEqual([404, 404, 429]);
      expect((await get(ADMIN)).status).toBe(404);
    } finally {
      await tight.close();
    }
  });

  it('finds each configured token among several, and refuses two settings with one value', () => {
    const lookup = scopedTokenLookup({
      admin: ADMIN,
      submit: SUBMIT,
      read: READ,
      hashed: [{ id: 'ci-2', scope: 'submit', sha256: sha256(CI), rateLimit: 3 }],
    });
    expect(lookup(`Bearer ${ADMIN}`)).toMatchObject({ id: 'admin', scope: 'admin' });
    expect(lookup(`bearer  ${SUBMIT}`)).toMatchObject({ id: 'submit', scope: 'submit' });
    expect(lookup(`Bearer ${READ}`)).toMatchObject({ id: 'read', scope: 'read' });
    expect(lookup(`Bearer ${CI}`)).toMatchObject({ id: 'ci-2', scope: 'submit', rateLimit: 3 });
    expect(lookup(`Bearer ${sha256(CI)}`)).toBeNull(); // the listed hash is not itself a token
    expect(lookup(`Basic ${ADMIN}`)).toBeNull();
    expect(lookup(undefined)).toBeNull();
    expect(() => scopedTokenLookup({ admin: ADMIN, hashed: [{ id: 'x', scope: 'read', sha256: sha256(ADMIN) }] })).toThrow(
      /same token/,
    );
    expect(() => scopedTokenLookup({ admin: ADMIN, submit: 'short' })).toThrow(/KEYWARDEN_SUBMIT_TOKEN/);
  });

  it('reads the tokens section: environment tokens, listed ones by hash, the rate limit', () => {
    const cfg = loadServiceConfig({
      env: {
        KEYWARDEN_API_TOKEN: ADMIN,
        KEYWARDEN_SUBMIT_TOKEN: SUBMIT,
        KEYWARDEN_READ_TOKEN: READ,
        KEYWARDEN_RATE_LIMIT: '50',
        KEYWARDEN_RATE_LIMIT_WINDOW: '30s',
      },
    });
    expect(cfg.tokens).toMatchObject({ submit: SUBMIT, read: READ, rateLimit: 50, rateLimitWindow: 30_000, hashed: [] });
    const yaml = `tokens:\n  rateLimit: 100\n  hashed:\n    - {id: ci-2, scope: submit, sha256: ${sha256(CI).toUpperCase()}}\n    - {id: dash, scope: read, sha256: ${sha256(READ)}, rateLimit: 10}\n`;
    const document = {
      path: join(dir, '.keywarden.yaml'),
      file: '.keywarden.yaml',
      text: yaml,
      data: parseYaml(yaml, '.keywarden.yaml'),
    };
    const fromFile = loadServiceConfig({ env: { KEYWARDEN_API_TOKEN: ADMIN }, document });
    expect(fromFile.tokens).toMatchObject({
      rateLimit: 100,
      hashed: [
        { id: 'ci-2', scope: 'submit', sha256: sha256(CI) },
        { id: 'dash', scope: 'read', sha256: sha256(READ), rateLimit: 10 },
      ],
    });
    // A token itself in the file, a bad scope, a hash that is not one; then a taken id, a token listed twice.
    const problemsOf = (text: string): string => {
      const document = {
        path: join(dir, '.keywarden.yaml'),
        file: '.keywarden.yaml',
        text,
        data: parseYaml(text, '.keywarden.yaml'),
      };
      try {
        loadServiceConfig({ env: { KEYWARDEN_API_TOKEN: ADMIN }, document });
      } catch (err) {
        return JSON.stringify((err as { details?: unknown }).details ?? (err as Error).message);
      }
      return '';
    };
    const shape = problemsOf(`tokens:\n  submit: ${SUBMIT}\n  hashed:\n    - {id: c, scope: owner, sha256: ${CI}}\n`);
    expect(shape).toMatch(/tokens\.submit: is read from the environment only/);
    expect(shape).toMatch(/tokens\.hashed\[0\]\.scope: must be one of submit, read, admin/);
    expect(shape).toMatch(/tokens\.hashed\[0\]\.sha256: must be the 64 hex digits/);
    const clash = problemsOf(
      `tokens:\n  hashed:\n    - {id: admin, scope: read, sha256: ${sha256(CI)}}\n    - {id: b, scope: read, sha256: ${sha256(CI)}}\n`,
    );
    expect(clash).toMatch(/tokens\.hashed\[0\]\.id: \\"admin\\" is taken/);
    expect(clash).toMatch(/tokens\.hashed\[1\]\.sha256: the same token is listed twice/);
    for (const p of [shape, clash]) {
      expect(p).not.toContain(SUBMIT);
      expect(p).not.toContain(CI);
    }
    expect(() => loadServiceConfig({ env: { KEYWARDEN_API_TOKEN: ADMIN, KEYWARDEN_SUBMIT_TOKEN: ADMIN } })).toThrow(
      /KEYWARDEN_SUBMIT_TOKEN must differ from KEYWARDEN_API_TOKEN/,
    );
  });
});
