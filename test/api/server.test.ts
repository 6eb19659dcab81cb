import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '../../api/metrics.js';
import { type ApiServer, createApiServer } from '../../api/server.js';
import { CODES } from '../../errors/codes.js';
import type { Finding } from '../../model/finding.js';
import { targetOf } from '../../scanner/target.js';
import { jobIdFor } from '../../workers/jobs.js';
import { createRedis } from '../../workers/redis.js';
import { responseProblems } from '../helpers/openapi.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { checkedResponses } from '../setup/api-responses.js';

// biome-ignore lint/suspicious/noExplicitAny: responses are read loosely; the assertions check their shape.
type Json = any;

// Generated per run: the token guards nothing outside this test.
const TOKEN = randomBytes(24).toString('base64url');
const PREFIX = `kwtest-api-${randomBytes(4).toString('hex')}`;

function fp(n: number): string {
  return `kw1:${n.toString(16).padStart(32, '0')}`;
}

/** A finding as a history job records it, seen at `paths` of `repo`; the preview is of AWS's documented example key. */
function finding(n: number, ruleId: string, repo: string, ...paths: string[]): Finding {
  return {
    fingerprint: fp(n),
    ruleId,
    description: 'test rule',
    confidence: 'high',
    redacted: 'AKIA…MPLE',
    entropy: 3.7,
    state: 'detected',
    occurrences: paths.map((path) => ({
      provenance: {
        kind: 'git',
        repo,
        commit: 'c'.repeat(40),
        path,
        author: 'Ada',
        email: 'ada@example.com',
        date: '2024-01-01T00:00:00Z',
        message: 'add config',
      },
      span: { line: n + 1, column: 5, endLine: n + 1, endColumn: 25 },
    })),
  };
}

/** Recorded by a worker that was given the scp form of the URL. */
const LIB = targetOf('git@git.example.com:team/lib.git');

describe('HTTP API on a real Redis', () => {
  let redis: RedisHandle;
  let server: ApiServer;
  let base: string;
  let worker: Worker | undefined;

  const call = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? TOKEN : init.token;
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    return fetch(`${base}${path}`, { ...init, headers });
  };
  const post = (path: string, body: unknown, init: RequestInit & { token?: string | null } = {}) =>
    call(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    });

  beforeAll(async () => {
    redis = await startRedis({ aof: false });
    server = await createApiServer({ redisUrl: redis.url, prefix: PREFIX, token: TOKEN, processMetrics: false });
    base = await server.listen('127.0.0.1', 0);
    await server.ctx.store.record(
      [finding(1, 'aws-access-key-id', '/srv/app', 'config/prod.env', 'config/dev.env'), finding(2, 'github-pat', LIB, 'ci.yml')],
      { actor: 'worker:test:1' },
    );
  });

  afterAll(async () => {
    await worker?.close();
    await server?.close();
    await redis?.stop();
  });

  describe('authentication', () => {
    const cases: Record<string, string | null> = {
      'no token': null,
      'a wrong token': `${TOKEN}x`,
      'a token of another length': 'short',
    };
    for (const [name, token] of Object.entries(cases)) {
      it(`answers 401 with a JSON error to ${name}`, async () => {
        const res = await call('/v1/findings', { token });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect((await res.json()) as Json).toEqual({
          error: { code: 'KW_UNAUTHORIZED', message: expect.stringContaining('bearer token') },
        });
      });
    }

    it('answers 401 to the right token under another scheme', async () => {
      const res = await fetch(`${base}/v1/findings`, { headers: { authorization: `Basic ${TOKEN}` } });
      expect(res.status).toBe(401);
    });

    it('guards the metrics and job routes too', async () => {
      expect((await call('/metrics', { token: null })).status).toBe(401);
      expect((await post('/v1/scans', { kind: 'scan-dump', data: { path: '/x' } }, { token: null })).status).toBe(401);
    });

    it('serves the probes and the API description without a token', async () => {
      expect((await (await call('/healthz', { token: null })).json()) as Json).toEqual({ status: 'ok' });
      expect((await (await call('/readyz', { token: null })).json()) as Json).toMatchObject({ status: 'ready' });
      expect((await call('/v1/openapi.json', { token: null })).status).toBe(200);
    });

    it('refuses to start without a token, or with a short one', async () => {
      await expect(createApiServer({ redisUrl: redis.url, prefix: PREFIX, token: undefined })).rejects.toMatchObject({
        code: 'KW_CONFIG_INVALID',
      });
      await expect(createApiServer({ redisUrl: redis.url, prefix: PREFIX, token: 'abc' })).rejects.toMatchObject({
        code: 'KW_CONFIG_INVALID',
      });
    });
  });

  describe('errors', () => {
    it('answers 404 in JSON for an unknown route', async () => {
      const res = await call('/v1/nothing-here?x=1');
      expect(res.status).toBe(404);
      expect((await res.json()) as Json).toEqual({
        error: { code: 'KW_ROUTE_NOT_FOUND', message: 'no route GET /v1/nothing-here' },
      });
    });

    it('answers 400 KW_JSON_INVALID to a body that is not JSON', async () => {
      const res = await post('/v1/scans', '{"kind": "scan-dump",');
      expect(res.status).toBe(400);
      expect(((await res.json()) as Json).error).toMatchObject({
        code: 'KW_JSON_INVALID',
        message: expect.stringContaining('not valid JSON'),
      });
    });

    it('answers 400 to an empty JSON body and 415 to a body that is not JSON at all', async () => {
      expect((await post('/v1/scans', '')).status).toBe(400);
      const res = await call('/v1/scans', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<scan/>' });
      expect(res.status).toBe(415);
      expect(((await res.json()) as Json).error.code).toBe('KW_MEDIA_TYPE');
    });

    it('maps every service error code to a status in the one error table', () => {
      for (const code of [
        'KW_JOB_INVALID',
        'KW_NOT_IMPLEMENTED',
        'KW_ILLEGAL_TRANSITION',
        'KW_FINDING_NOT_FOUND',
        'KW_REDIS',
        'KW_USAGE',
        'KW_INTERNAL',
      ]) {
        expect(CODES[code as keyof typeof CODES].status, code).toBeTypeOf('number');
      }
    });
  });

  describe('POST /v1/scans and GET /v1/jobs/:id', () => {
    const validation: Record<string, { body: unknown; paths: string[] }> = {
      'an unknown kind': { body: { kind: 'scan-everything', data: {} }, paths: ['body.kind'] },
      'a missing repository': { body: { kind: 'scan-history', data: { branch: 'main' } }, paths: ['body.data.repo'] },
      'a wrong type deep in the data': {
        body: { kind: 'scan-log-batch', data: { stream: 's', lines: ['ok', 7] } },
        paths: ['body.data.lines[1]'],
      },
      'an unknown field': { body: { kind: 'scan-dump', data: { path: '/d', paht: '/d' } }, paths: ['body.data'] },
      'a body that is not an object': { body: [1, 2], paths: ['body'] },
      'a malformed fingerprint': { body: { kind: 'rotate', data: { fingerprint: 'kw1:xyz' } }, paths: ['body.data.fingerprint'] },
    };
    for (const [name, c] of Object.entries(validation)) {
      it(`answers 400 naming each bad field for ${name}`, async () => {
        const res = await post('/v1/scans', c.body);
        expect(res.status).toBe(400);
        const { error } = (await res.json()) as Json;
        expect(error.code).toBe('KW_REQUEST_INVALID');
        expect(error.details.map((d: { path: string }) => d.path)).toEqual(c.paths);
        expect(error.message).toContain(c.paths[0]);
      });
    }

    it('names the job kinds when the kind is unknown, as any other enum does', async () => {
      const { error } = (await (await post('/v1/scans', { kind: 'scan-everything', data: {} })).json()) as Json;
      expect(error.message).toBe(
        'invalid request: body.kind: Invalid option: expected one of "scan-history"|"scan-diff"|"scan-dump"|"scan-log-batch"|"rotate"|"confirm-revocation"',
      );
    });

    it('enqueues a job that is then visible, and the same scan twice is one job', async () => {
      const data = { repo: '/srv/app', incremental: true };
      const res = await post('/v1/scans', { kind: 'scan-history', data });
      expect(res.status).toBe(202);
      const body = (await res.json()) as Json;
      expect(body).toEqual({
        id: jobIdFor('scan-history', data),
        kind: 'scan-history',
        duplicate: false,
        href: `/v1/jobs/${body.id}`,
      });
      expect(res.headers.get('location')).toBe(body.href);

      const job = (await (await call(body.href)).json()) as Json;
      expect(job).toMatchObject({ id: body.id, kind: 'scan-history', state: 'waiting', attemptsMade: 0, data });

      const again = (await (
        await post('/v1/scans', { kind: 'scan-history', data: { incremental: true, repo: '/srv/app' } })
      ).json()) as Json;
      expect(again).toMatchObject({ id: body.id, duplicate: true });
    });

    it('shows a finished job with its result, and its duration in the metrics', async () => {
      const data = { path: '/var/crash/core.1' };
      const { id } = (await (await post('/v1/scans', { kind: 'scan-dump', data })).json()) as Json;
      // A whole ScanOutcome: the job view serves each kind's result by its schema (JOB_RESULT_SCHEMAS).
      const outcome = {
        kind: 'scan-dump',
        findings: 0,
        newFindings: 0,
        occurrences: 0,
        newOccurrences: 0,
        bytes: 0,
        durationMs: 42,
      };
      worker = new Worker('scan-dump', async () => outcome, {
        connection: createRedis(redis.url),
        prefix: PREFIX,
      });
      let job: { state?: string } = {};
      for (let i = 0; i < 100 && job.state !== 'completed'; i++) {
        job = (await (await call(`/v1/jobs/${id}`)).json()) as Json;
        if (job.state !== 'completed') await new Promise((r) => setTimeout(r, 50));
      }
      expect(job).toMatchObject({ state: 'completed', returnvalue: outcome });
      let text = '';
      for (
        let i = 0;
        i < 50 && !text.includes('keywarden_job_duration_seconds_count{queue="scan-dump",outcome="completed"} 1');
        i++
      ) {
        text = await (await call('/metrics')).text();
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(text).toContain('keywarden_job_duration_seconds_bucket{le="0.05",queue="scan-dump",outcome="completed"} 1');
    });

    it('does not echo log lines back from a job view', async () => {
      const lines = ['GET /health 200', 'user=alice login ok'];
      const { id } = (await (
        await post('/v1/scans', { kind: 'scan-log-batch', data: { stream: 'web-1', lines } })
      ).json()) as Json;
      const job = (await (await call(`/v1/jobs/${id}`)).json()) as Json;
      expect(job.data).toEqual({ stream: 'web-1', lines: 2 });
    });

    it('answers 404 for an unknown job', async () => {
      const res = await call('/v1/jobs/scan-dump-00000000000000000000000000000000');
      expect(res.status).toBe(404);
      expect(((await res.json()) as Json).error.code).toBe('KW_JOB_NOT_FOUND');
    });
  });

  describe('findings', () => {
    it('lists findings with filters by state, repository and rule', async () => {
      const all = (await (await call('/v1/findings')).json()) as Json;
      expect(all.count).toBe(2);
      expect(all.findings.map((f: { fingerprint: string }) => f.fingerprint).sort()).toEqual([fp(1), fp(2)]);
      const byRule = (await (await call('/v1/findings?rule=github-pat')).json()) as Json;
      expect(byRule.findings.map((f: { fingerprint: string }) => f.fingerprint)).toEqual([fp(2)]);
      const byRepo = (await (await call(`/v1/findings?repo=${encodeURIComponent('/srv/app')}&state=detected`)).json()) as Json;
      expect(byRepo.findings).toEqual([
        expect.objectContaining({ fingerprint: fp(1), occurrenceCount: 2, state: 'detected', redacted: 'AKIA…MPLE' }),
      ]);
      // The same repository spelled another way (ssh://, case, default port, trailing .git/) is the same filter.
      const other = encodeURIComponent('ssh://git@GIT.example.com:22/team/lib.git/');
      const byUrl = (await (await call(`/v1/findings?repo=${other}`)).json()) as Json;
      expect(byUrl.findings.map((f: { fingerprint: string }) => f.fingerprint)).toEqual([fp(2)]);
      const none = (await (await call('/v1/findings?state=revoked&rule=github-pat')).json()) as Json;
      expect(none).toEqual({ count: 0, findings: [] });
    });

    it('answers 400 to an unknown state or filter', async () => {
      const bad = await call('/v1/findings?state=gone&rules=x');
      expect(bad.status).toBe(400);
      const paths = ((await bad.json()) as Json).error.details.map((d: { path: string }) => d.path).sort();
      expect(paths).toEqual(['query', 'query.state']);
    });

    it('shows one finding with its occurrences, without any secret', async () => {
      const res = await call(`/v1/findings/${fp(1)}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Json;
      expect(body.finding).toMatchObject({ fingerprint: fp(1), ruleId: 'aws-access-key-id', occurrenceCount: 2 });
      expect(body.occurrences.map((o: { provenance: { path: string } }) => o.provenance.path).sort()).toEqual([
        'config/dev.env',
        'config/prod.env',
      ]);
      expect(body.occurrences[0]).toEqual({
        key: `git|/srv/app|${'c'.repeat(40)}|config/dev.env|2|5`,
        provenance: expect.objectContaining({ kind: 'git', repo: '/srv/app', path: 'config/dev.env' }),
        span: { line: 2, column: 5, endLine: 2, endColumn: 25 },
        recordedAt: expect.any(String),
      });
      expect(JSON.stringify(body)).not.toContain('"secret"');
    });

    it('answers 404 for an unknown fingerprint and 400 for a malformed one', async () => {
      const missing = await call(`/v1/findings/${fp(99)}`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as Json).error.code).toBe('KW_FINDING_NOT_FOUND');
      const malformed = await call('/v1/findings/kw1:nothex/audit');
      expect(malformed.status).toBe(400);
      expect(((await malformed.json()) as Json).error.details[0].path).toBe('params.fingerprint');
    });

    it('applies transitions, rejects illegal ones with 409, and audits each', async () => {
      const url = `/v1/findings/${fp(1)}/transitions`;
      const ok = await post(url, { event: 'request_rotation', reason: 'key is live in prod', actor: 'alice' });
      expect(ok.status).toBe(200);
      expect((await ok.json()) as Json).toMatchObject({ fingerprint: fp(1), from: 'detected', to: 'rotation_requested' });

      const illegal = await post(url, { event: 'reopen', reason: 'try' });
      expect(illegal.status).toBe(409);
      expect(((await illegal.json()) as Json).error).toMatchObject({
        code: 'KW_ILLEGAL_TRANSITION',
        details: [expect.stringContaining('allowed from rotation_requested')],
      });

      const noReason = await post(url, { event: 'rotated', reason: '  ' });
      expect(noReason.status).toBe(400);
      expect(((await noReason.json()) as Json).error.details[0].path).toBe('body.reason');
      const badEvent = await post(url, { event: 'delete', reason: 'x' });
      expect(((await badEvent.json()) as Json).error.details[0].path).toBe('body.event');

      await post(url, { event: 'rotated', reason: 'new key deployed' });
      await post(url, { event: 'confirm_revoked', reason: 'provider rejects the old key' });

      const audit = (await (await call(`/v1/findings/${fp(1)}/audit`)).json()) as Json;
      expect(audit.events.map((e: { what: string; to: string; actor: string }) => [e.what, e.to, e.actor])).toEqual([
        ['detected', 'detected', 'worker:test:1'],
        ['request_rotation', 'rotation_requested', 'api:alice'],
        ['rotated', 'rotated', 'api'],
        ['confirm_revoked', 'revoked', 'api'],
      ]);
      expect(audit.events[1].reason).toBe('key is live in prod');
    });
  });

  it('exposes queue depth, job durations, findings by state and time to revocation as Prometheus text', async () => {
    const res = await call('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    for (const name of Object.values(METRIC_NAMES)) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('keywarden_queue_depth{queue="scan-history",state="waiting"} 1');
    expect(text).toContain('keywarden_findings{state="detected"} 1');
    expect(text).toContain('keywarden_findings{state="revoked"} 1');
    expect(text).toContain('keywarden_time_to_revocation_seconds_count 1');
  });

  describe('the OpenAPI document', () => {
    let doc: Json;
    beforeAll(async () => {
      doc = (await (await call('/v1/openapi.json', { token: null })).json()) as Json;
    });

    it('describes exactly the routes served, each with its own operation id, and every $ref resolves', () => {
      expect(doc.openapi).toBe('3.1.0');
      const operations = Object.entries(doc.paths as Record<string, object>).flatMap(([p, item]) =>
        Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
      );
      expect(operations.sort()).toEqual(server.routes.map((r) => r.replace(/:(\w+)/g, '{$1}')).sort());
      const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((item) =>
        Object.values(item).map((op) => op.operationId),
      );
      expect(new Set(ids).size).toBe(ids.length);
      expect(
        Object.keys(doc.paths).some((p) => p.startsWith('/v1/intake')),
        'intake not mounted, not described',
      ).toBe(false);
      expect(doc.paths['/v1/scans'].post.requestBody.content['application/json'].schema.oneOf).toHaveLength(6);
      const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]);
      expect(refs.length).toBeGreaterThan(0);
      for (const r of new Set(refs)) expect(doc.components.schemas, `$ref ${r}`).toHaveProperty(r as string);
    });

    it('declares the fingerprint pattern, the job states and the security of each route once, from the code', () => {
      expect(doc.components.schemas.Fingerprint.pattern).toBe('^kw1:[0-9a-f]{32}$');
      expect(doc.components.schemas.JobState.enum).toContain('waiting-children');
      // Findings and occurrences are the store's schemas over the model's, nested by reference.
      expect(doc.components.schemas.Finding.required).toContain('occurrenceCount');
      expect(doc.components.schemas.Finding.properties.fingerprint).toEqual({ $ref: '#/components/schemas/Fingerprint' });
      expect(doc.components.schemas.Occurrence.properties.provenance).toEqual({ $ref: '#/components/schemas/Provenance' });
      expect(doc.paths['/healthz'].get.security).toEqual([]);
      expect(doc.paths['/v1/findings'].get.security).toBeUndefined(); // the document's default: the API token
      expect(doc.security).toEqual([{ bearer: [] }]);
    });

    it('finds a response that departs from it', () => {
      const ok = { method: 'GET', path: '/v1/findings', status: 200, headers: { 'content-type': 'application/json' } };
      expect(responseProblems(doc, { ...ok, body: JSON.stringify({ count: 0, findings: [] }) })).toEqual([]);
      const cases: Record<string, [Parameters<typeof responseProblems>[1], RegExp]> = {
        'a field of the wrong type': [{ ...ok, body: JSON.stringify({ count: '0', findings: [] }) }, /\/count must be integer/],
        'a field the document does not have': [
          { ...ok, body: JSON.stringify({ count: 0, findings: [], secret: 'x' }) },
          /must NOT have additional properties.*secret/,
        ],
        'a scanner finding where a stored one belongs': [
          { ...ok, body: JSON.stringify({ count: 1, findings: [finding(3, 'github-pat', 'x')] }) },
          /findings\/0 must have required property 'firstSeen'[\s\S]*must NOT have additional properties.*occurrences/,
        ],
        'a job result that is not its kind’s': [
          {
            ...ok,
            path: '/v1/jobs/scan-dump-1',
            body: JSON.stringify({
              id: 'scan-dump-1',
              kind: 'scan-dump',
              state: 'completed',
              attemptsMade: 1,
              data: { path: '/var/crash/core.1' },
              returnvalue: {
                kind: 'rotate',
                fingerprint: `kw1:${'0'.repeat(32)}`,
                from: 'detected',
                to: 'rotated',
                durationMs: 1,
              },
            }),
          },
          /\/returnvalue/,
        ],
        'an undocumented status': [{ ...ok, status: 418, body: '' }, /status 418 is not documented/],
        'another media type': [{ ...ok, headers: { 'content-type': 'text/html' }, body: '<p>' }, /content-type text\/html/],
        'a 202 without its Location': [
          {
            method: 'POST',
            path: '/v1/scans',
            status: 202,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id: 'x', kind: 'scan-dump', duplicate: false, href: '/v1/jobs/x' }),
          },
          /required header Location is missing/,
        ],
        'an error code the route does not answer with': [
          { ...ok, status: 404, body: JSON.stringify({ error: { code: 'KW_JOB_NOT_FOUND', message: 'x' } }) },
          /status 404 is not documented/,
        ],
        'an error code of another status': [
          { ...ok, status: 400, body: JSON.stringify({ error: { code: 'KW_FINDING_NOT_FOUND', message: 'x' } }) },
          /\/error\/code must be equal to one of the allowed values/,
        ],
      };
      for (const [name, [response, problem]] of Object.entries(cases)) {
        expect(responseProblems(doc, response).join('\n'), name).toMatch(problem);
      }
    });

    it('has held every response of this file to it (test/setup/api-responses.ts)', () => {
      expect(checkedResponses()).toBeGreaterThan(40);
    });
  });

  it('answers 503 on /readyz while Redis is unreachable, and 200 on /healthz', async () => {
    const down = await createApiServer({
      redisUrl: 'redis://127.0.0.1:1',
      prefix: PREFIX,
      token: TOKEN,
      readyTimeoutMs: 200,
      processMetrics: false,
    });
    try {
      const url = await down.listen('127.0.0.1', 0);
      const res = await fetch(`${url}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as Json).error.code).toBe('KW_NOT_READY');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await down.close();
    }
  });
});
