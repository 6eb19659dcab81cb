// The log-shipper intake mounted in the API server (`keywarden serve --intake`): a real redis-server,
// a real downstream log store on 127.0.0.1, Fluent Bit's requests reproduced as in
// test/intake/server.test.ts. Findings must land in the finding store as a scan-log-batch job's do.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INTAKE_METRIC_NAMES } from '../../api/metrics.js';
import { type ApiIntakeOptions, type ApiServer, createApiServer } from '../../api/server.js';
import { intakeSettings, type ServeFlags } from '../../cli/commands/serve.js';
import { keywardenPaths } from '../../config/paths.js';
import { defaultIntakeSpool } from '../../config/sections/intake.js';
import { rotationSettings } from '../../config/sections/rotation.js';
import { resolveProviderBaseUrls } from '../../providers/base-urls.js';
import { builtinRules } from '../../rules/builtin.js';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { createRedactor, type Redactor } from '../../scanner/redact-spans.js';
import type { ScanSettings } from '../../workers/handlers.js';
import { processJob } from '../../workers/worker.js';
import { Downstream } from '../helpers/downstream.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';

// biome-ignore lint/suspicious/noExplicitAny: responses are read loosely; the assertions check their shape.
type Json = any;

// Generated per run: these tokens guard nothing outside this test.
const API_TOKEN = randomBytes(24).toString('base64url');
const INTAKE_TOKEN = randomBytes(24).toString('base64url');
const PREFIX = `kwtest-intake-${randomBytes(4).toString('hex')}`;
const KEY = Buffer.from('test-fingerprint-key-0123456789');
const rng = seededRng(23);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;

/** Fluent Bit `format json_lines` (application/x-ndjson since 3.0). */
function jsonLines(records: Record<string, unknown>[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

describe('the intake mounted in the API server', () => {
  let redis: RedisHandle;
  let downstream: Downstream;
  let server: ApiServer;
  let base: string;
  let dir: string;
  let redactor: Redactor;
  const extra: ApiServer[] = [];

  const intakeOptions = (spool: string, downstreamUrl: string): ApiIntakeOptions => ({
    redactor,
    token: INTAKE_TOKEN,
    spoolDir: join(dir, spool),
    downstreamUrl,
    bodyLimit: 64 * 1024,
    retryMinMs: 20,
    retryMaxMs: 100,
    downstreamTimeoutMs: 2000,
    fsync: false,
    actor: 'intake:test',
  });

  const shipper = (url: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${INTAKE_TOKEN}`,
        'content-type': 'application/x-ndjson',
        'user-agent': 'Fluent-Bit',
        ...headers,
      },
      body,
    });
  const api = async (path: string, init: RequestInit = {}): Promise<Json> => {
    const res = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${API_TOKEN}`, ...init.headers } });
    expect(res.status, path).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    redis = await startRedis({ aof: false });
    dir = mkdtempSync(join(tmpdir(), 'kw-api-intake-'));
    redactor = createRedactor({ rules: await builtinRules(), fingerprintKey: KEY });
    downstream = new Downstream();
    const downstreamUrl = await downstream.start();
    server = await createApiServer({
      redisUrl: redis.url,
      prefix: PREFIX,
      token: API_TOKEN,
      processMetrics: false,
      intake: intakeOptions('spool', downstreamUrl),
    });
    base = await server.listen('127.0.0.1', 0);
  });

  afterEach(() => {
    downstream.received = [];
  });

  afterAll(async () => {
    for (const s of extra) await s.close();
    await server?.close();
    await downstream?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('records a Fluent Bit batch’s finding in the store (source log, audited) and forwards the batch redacted', async () => {
    const secret = ghp();
    const body = jsonLines([
      { date: 1763782001.5, log: `GET /login token=${secret}`, stream: 'stdout' },
      { date: 1763782001.6, log: 'quiet line', stream: 'stdout' },
    ]);
    const res = await shipper(`${base}/v1/intake/web/nginx`, body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, findings: 1 });

    // Recorded before the 200: the store already has it.
    const list = await api(`/v1/findings?stream=${encodeURIComponent('web/nginx')}`);
    expect(list.count).toBe(1);
    const f = list.findings[0];
    expect(f).toMatchObject({ ruleId: 'github-pat', state: 'detected', occurrenceCount: 1 });
    const shown = await api(`/v1/findings/${f.fingerprint}`);
    expect(shown.occurrences).toHaveLength(1);
    expect(shown.occurrences[0]).toMatchObject({
      key: expect.stringMatching(/^log\|web\/nginx\|#[0-9a-f]{24}\|1\|\d+$/),
      span: { line: 1 },
      provenance: {
        kind: 'log',
        stream: 'web/nginx',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        batch: expect.stringMatching(/^[0-9a-f]{24}$/),
      },
    });
    const audit = await api(`/v1/findings/${f.fingerprint}/audit`);
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({ what: 'detected', from: '', to: 'detected', actor: 'intake:test' });
    expect(audit.events[0].reason).toBe('first seen in web/nginx');

    await server.intake!.drained();
    expect(downstream.received).toHaveLength(1);
    const [first, second] = downstream.received[0]!.body.split('\n').map((l) => (l ? JSON.parse(l) : null));
    expect(first.log).toMatch(/^GET \/login token=\[REDACTED:github-pat:kw1:[0-9a-f]{6}\]$/);
    expect(second).toEqual({ date: 1763782001.6, log: 'quiet line', stream: 'stdout' });
    expect(downstream.received[0]!.contentType).toBe('application/x-ndjson');
    expect(JSON.stringify([list, shown, audit, downstream.received])).not.toContain(secret);
  });

  it('adds nothing when a shipper re-sends a batch, and meets a scan-log-batch job on the same finding', async () => {
    const secret = ghp();
    const body = jsonLines([{ log: `deploy GITHUB_TOKEN=${secret}` }]);
    for (let i = 0; i < 2; i++) expect((await shipper(`${base}/v1/intake/ci`, body)).status).toBe(200);
    const [f] = (await api('/v1/findings?stream=ci')).findings;
    expect(f.occurrenceCount).toBe(1);

    // The worker path: same rules, same key, same stream: the same finding, one more occurrence.
    const scan: ScanSettings = {
      rules: await builtinRules(),
      globalAllow: {},
      fingerprintKey: KEY,
      maxFileSize: 1 << 20,
      cacheDir: dir,
      env: {},
    };
    const result = await processJob(
      'scan-log-batch',
      { stream: 'ci', lines: [`deploy GITHUB_TOKEN=${secret}`], firstLine: 40 },
      { scan, store: server.ctx.store, actor: 'worker:test:1' },
    );
    expect(result).toMatchObject({ findings: 1, newFindings: 0, newOccurrences: 1 });
    const after = await api('/v1/findings?stream=ci');
    expect(after.count).toBe(1);
    expect(after.findings[0]).toMatchObject({ fingerprint: f.fingerprint, occurrenceCount: 2 });
  });

  it('takes a gzip Fluent Bit `format json` batch at the bare prefix as stream `intake`', async () => {
    const secret = ghp();
    const body = JSON.stringify([{ date: 1763782000.1, log: `auth ${secret}` }]);
    const res = await shipper(`${base}/v1/intake`, gzipSync(body), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(res.status).toBe(200);
    // `?stream=` is matched as given: `?repo=intake` would be normalized as a path (./intake exists here).
    expect((await api('/v1/findings?stream=intake')).findings).toHaveLength(1);
    await server.intake!.drained();
    expect(downstream.received.map((r) => r.contentType)).toEqual(['application/json']);
    expect(JSON.parse(downstream.received[0]!.body)[0].log).toMatch(/^auth \[REDACTED:github-pat:/);
  });

  describe('authentication', () => {
    const cases: Record<string, string | null> = {
      'no token': null,
      'a wrong token': `${INTAKE_TOKEN}x`,
      'the API token': API_TOKEN,
    };
    for (const [name, token] of Object.entries(cases)) {
      it(`answers 401 to ${name} and keeps nothing`, async () => {
        const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
        if (token !== null) headers.authorization = `Bearer ${token}`;
        const res = await fetch(`${base}/v1/intake/web`, {
          method: 'POST',
          headers,
          body: jsonLines([{ log: `k ${ghp()}` }]),
        });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(((await res.json()) as Json).error).toMatchObject({
          code: 'KW_UNAUTHORIZED',
          message: expect.stringContaining('KEYWARDEN_INTAKE_TOKEN'),
        });
        expect(downstream.received).toHaveLength(0);
        expect(server.intake!.spool.length).toBe(0);
      });
    }

    it('opens no API route with the intake token', async () => {
      const res = await fetch(`${base}/v1/findings`, { headers: { authorization: `Bearer ${INTAKE_TOKEN}` } });
      expect(res.status).toBe(401);
      expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${INTAKE_TOKEN}` } })).status).toBe(401);
    });

    it('refuses to start with the API token as the intake token, or a short one', async () => {
      const opts = intakeOptions('spool-refused', 'http://127.0.0.1:9/');
      for (const token of [API_TOKEN, 'short']) {
        await expect(
          createApiServer({ redisUrl: redis.url, prefix: PREFIX, token: API_TOKEN, intake: { ...opts, token } }),
        ).rejects.toMatchObject({ code: 'KW_CONFIG_INVALID', message: expect.stringContaining('KEYWARDEN_INTAKE_TOKEN') });
      }
    });
  });

  it('answers 413 over the intake body limit and 400 to an empty body or a bad stream name', async () => {
    const big = await shipper(`${base}/v1/intake/web`, jsonLines([{ log: 'x'.repeat(70 * 1024) }]));
    expect(big.status).toBe(413);
    expect(((await big.json()) as Json).error.code).toBe('KW_BODY_TOO_LARGE');
    const bomb = await shipper(`${base}/v1/intake/web`, gzipSync(jsonLines([{ log: 'y'.repeat(200 * 1024) }])), {
      'content-encoding': 'gzip',
    });
    expect(bomb.status).toBe(413);
    expect((await shipper(`${base}/v1/intake/web`, '')).status).toBe(400);
    const bad = await shipper(`${base}/v1/intake/web/..%20x`, jsonLines([{ log: 'a' }]));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error.code).toBe('KW_REQUEST_INVALID');
    expect(downstream.received).toHaveLength(0);
  });

  it('answers 503 and forwards nothing when the findings cannot be recorded; a clean batch still passes', async () => {
    const down = new Downstream();
    const downUrl = await down.start();
    try {
      const cut = await createApiServer({
        redisUrl: 'redis://127.0.0.1:1',
        prefix: PREFIX,
        token: API_TOKEN,
        readyTimeoutMs: 200,
        processMetrics: false,
        intake: { ...intakeOptions('spool-cut', downUrl), recordTimeoutMs: 300 },
      });
      extra.push(cut);
      const url = await cut.listen('127.0.0.1', 0);
      const res = await shipper(`${url}/v1/intake/web`, jsonLines([{ log: `k ${ghp()}` }]));
      expect(res.status).toBe(503);
      expect(((await res.json()) as Json).error.code).toBe('KW_REDIS');
      expect(cut.intake!.spool.length).toBe(0);
      expect(down.received).toHaveLength(0);
      const clean = await shipper(`${url}/v1/intake/web`, jsonLines([{ log: 'nothing to see' }]));
      expect(clean.status).toBe(200);
      await cut.intake!.drained();
      expect(down.received).toHaveLength(1);
    } finally {
      await down.close();
    }
  });

  it('counts batches, bytes and findings in the metrics', async () => {
    const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).text();
    for (const name of Object.values(INTAKE_METRIC_NAMES)) expect(text).toContain(`# TYPE ${name} counter`);
    // Accepted so far: 1 (first test) + 2 (re-sent) + 1 (bare prefix), all sent straight downstream.
    expect(text).toContain('keywarden_intake_batches_total{outcome="forwarded"} 4');
    expect(text).toContain('keywarden_intake_batches_total{outcome="record_failed"} 0');
    expect(text).toContain('keywarden_intake_findings_total 4');
    expect(text).toMatch(/keywarden_intake_bytes_total [1-9]\d*/);
  });

  it('describes every route, the intake’s included, in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${base}/v1/openapi.json`)).json()) as Json;
    expect(server.routes).toEqual(expect.arrayContaining(['GET /v1/intake/health', 'POST /v1/intake', 'POST /v1/intake/*']));
    const operations = Object.entries(doc.paths as Record<string, object>).flatMap(([p, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
    );
    const documented = server.routes.map((r) => r.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{stream}'));
    expect(operations.sort()).toEqual(documented.sort());
    const batch = doc.paths['/v1/intake/{stream}'].post;
    expect(batch.security).toEqual([{ intakeBearer: [] }]);
    expect(batch.parameters).toEqual([
      expect.objectContaining({
        name: 'stream',
        in: 'path',
        required: true,
        schema: { $ref: '#/components/schemas/StreamName' },
      }),
    ]);
    expect(Object.keys(batch.requestBody.content).sort()).toEqual(['application/json', 'application/x-ndjson']);
    expect(batch.responses['503'].headers['Retry-After']).toMatchObject({ required: false });
    expect(doc.components.schemas.StreamName).toMatchObject({ maxLength: 200, pattern: expect.any(String) });
    expect(doc.components.securitySchemes).toHaveProperty('intakeBearer');
  });

  it('with the rotation loop: a batch’s new finding keeps its raw secret sealed in the vault and gets the policy’s job', async () => {
    const vaultKey = randomBytes(32).toString('hex');
    const settings = rotationSettings({ env: { KEYWARDEN_SECRET_KEY: vaultKey } });
    if (!settings.ok) throw new Error(settings.problems.join('\n'));
    const prefix = `${PREFIX}-loop`;
    const looped = await createApiServer({
      redisUrl: redis.url,
      prefix,
      token: API_TOKEN,
      processMetrics: false,
      intake: { ...intakeOptions('spool-loop', downstream.url), redactor: { ...redactor, showSecrets: true } },
      loop: { settings: settings.settings, rules: await builtinRules(), baseUrls: resolveProviderBaseUrls({}) },
    });
    extra.push(looped);
    const url = await looped.listen('127.0.0.1', 0);
    const secret = ghp();
    const res = await shipper(`${url}/v1/intake/app`, jsonLines([{ date: 1763782001.5, log: `token=${secret}` }]));
    expect(res.status).toBe(200);
    const [f] = await looped.ctx.store.list();
    const sealed = await looped.ctx.redis.get(looped.ctx.store.keyOf(f!.fingerprint, 'secret'));
    expect(sealed).toMatch(/^kwv1\./);
    expect((await looped.ctx.queues.counts(['rotate'])).rotate).toMatchObject({ waiting: 1 });
    const keys = await looped.ctx.redis.keys(`${prefix}:*`);
    for (const k of keys) {
      const type = await looped.ctx.redis.type(k);
      const text =
        type === 'string'
          ? await looped.ctx.redis.get(k)
          : type === 'hash'
            ? JSON.stringify(await looped.ctx.redis.hgetall(k))
            : type === 'stream'
              ? JSON.stringify(await looped.ctx.redis.xrange(k, '-', '+'))
              : '';
      expect(text ?? '').not.toContain(secret);
    }
  });

  it('serves its health with the intake token only', async () => {
    const ok = await fetch(`${base}/v1/intake/health`, { headers: { authorization: `Bearer ${INTAKE_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, spooled: 0 });
    expect((await fetch(`${base}/v1/intake/health`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).status).toBe(401);
  });
});

describe('serve --intake settings', () => {
  const flags = (more: Partial<ServeFlags> = {}): ServeFlags => ({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'info',
    intakeBodyLimit: '10MiB',
    ...more,
  });
  const token = 'intake-settings-token-0123456789';

  it('is off unless --intake or KEYWARDEN_INTAKE=1, and KEYWARDEN_INTAKE=0 is off', () => {
    expect(intakeSettings(flags(), { KEYWARDEN_INTAKE_TOKEN: token })).toBeNull();
    expect(intakeSettings(flags(), { KEYWARDEN_INTAKE: '0', KEYWARDEN_INTAKE_TOKEN: token })).toBeNull();
    expect(intakeSettings(flags(), { KEYWARDEN_INTAKE: '1', KEYWARDEN_INTAKE_TOKEN: token })).not.toBeNull();
    expect(intakeSettings(flags({ intake: true }), { KEYWARDEN_INTAKE_TOKEN: token })).not.toBeNull();
  });

  it('spools under $XDG_STATE_HOME by default, and reads the body limit as a size', () => {
    const s = intakeSettings(flags({ intake: true }), { KEYWARDEN_INTAKE_TOKEN: token, XDG_STATE_HOME: '/var/lib/kw-state' });
    expect(s).toEqual({ token, spoolDir: '/var/lib/kw-state/keywarden/intake-spool', bodyLimit: 10 * 1024 * 1024 });
    expect(defaultIntakeSpool(keywardenPaths({ HOME: '/home/x' }))).toMatch(/\/\.local\/state\/keywarden\/intake-spool$/);
  });

  it('needs KEYWARDEN_INTAKE_TOKEN and an http(s) downstream', () => {
    expect(() => intakeSettings(flags({ intake: true }), {})).toThrow(/KEYWARDEN_INTAKE_TOKEN is not set/);
    expect(() =>
      intakeSettings(flags({ intake: true, intakeDownstream: 'ftp://logs' }), { KEYWARDEN_INTAKE_TOKEN: token }),
    ).toThrow(/--intake-downstream/);
    expect(
      intakeSettings(flags({ intake: true, intakeDownstream: 'https://logs.example/in' }), { KEYWARDEN_INTAKE_TOKEN: token }),
    ).toMatchObject({ downstreamUrl: 'https://logs.example/in' });
  });
});
