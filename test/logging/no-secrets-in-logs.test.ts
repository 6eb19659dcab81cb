// keywarden's own logs, written at trace level while real paths (a log-batch job, the HTTP API, the
// intake) handle generated secrets, then scanned with keywarden's own rules: nothing may be found.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../api/server.js';
import { startIntake } from '../../intake/server.js';
import { createLogger } from '../../logging/logger.js';
import { builtinRules } from '../../rules/builtin.js';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { type CompiledPack, compilePack } from '../../scanner/engine/compile.js';
import { scanBuffer } from '../../scanner/engine/engine.js';
import { createRedactor } from '../../scanner/redact-spans.js';
import { createRedis } from '../../workers/redis.js';
import { FindingStore } from '../../workers/store.js';
import { processJob } from '../../workers/worker.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { scanSettings } from '../workers/fixtures.js';

const rng = seededRng(4004);
const GITHUB = expandTemplate('«ghp_{base62:30}{checksum}»', { checksum: 'github-crc32', rng }).secret!;
const AWS = expandTemplate('«AKIA{base32:16}»', { rng }).secret!;
const STRIPE = expandTemplate('«sk_live_{base62:99}»', { rng }).secret!;
const SECRETS = { GITHUB, AWS, STRIPE };

let pack: CompiledPack;
let dir: string;
let redis: RedisHandle;
let conn: Redis;
let n = 0;

/** A trace-level logger writing to a file of its own, and a reader for what it wrote. */
function captured(name: string): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const file = join(dir, `${name}-${++n}.log`);
  const logger = createLogger({ name, level: 'trace', destination: file });
  return { logger, text: () => readFileSync(file, 'utf8') };
}

/** The log must be non-trivial, free of every raw secret, and give the engine nothing to find. */
function expectClean(log: string, extra: Record<string, string> = {}): void {
  expect(log.length).toBeGreaterThan(0);
  for (const [what, secret] of Object.entries({ ...SECRETS, ...extra })) {
    expect(log.includes(secret), `${what} appears in the log`).toBe(false);
  }
  const matches = scanBuffer(pack, Buffer.from(log, 'utf8'));
  expect(matches.map((m) => pack.rules[m.ruleIndex]?.rule.id)).toEqual([]);
}

beforeAll(async () => {
  pack = compilePack(await builtinRules());
  dir = mkdtempSync(join(tmpdir(), 'kw-logging-'));
  redis = await startRedis({ aof: false });
  conn = createRedis(redis.url);
});
afterAll(async () => {
  conn?.disconnect();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("keywarden's own logs", () => {
  it('would be caught by the scan if a secret leaked into them (the check is not vacuous)', () => {
    const leaky = JSON.stringify({ msg: 'oops', a: GITHUB, b: `aws_access_key_id = ${AWS}`, c: `STRIPE_KEY=${STRIPE}` });
    expect(scanBuffer(pack, Buffer.from(leaky)).length).toBeGreaterThanOrEqual(3);
  });

  it('censor the fields that carry secrets even when a call site logs them by mistake', () => {
    const { logger, text } = captured('unit');
    logger.info({ authorization: `Bearer ${GITHUB}`, headers: { authorization: AWS }, data: { lines: [STRIPE] } }, 'oops');
    logger.error({ err: Object.assign(new Error('boom'), { code: 'KW_X', config: { secret: AWS } }) }, 'failed');
    const log = text();
    expect(log).toContain('[REDACTED]');
    expect(log).toContain('"code":"KW_X"');
    expectClean(log);
  });

  it('hold no secret after a worker processes a log batch full of them, and after a job that fails', async () => {
    const { logger, text } = captured('worker');
    const store = new FindingStore(conn, `kwlog-${process.pid}-${++n}`);
    const ctx = { scan: scanSettings(), store, actor: 'test', jobId: 'job-1', logger };
    const lines = [
      `auth failed with token ${GITHUB}`,
      `aws_access_key_id = ${AWS}`,
      JSON.stringify({ level: 'error', msg: 'charge failed', key: STRIPE }),
    ];
    const result = await processJob('scan-log-batch', { stream: 'api', lines, firstLine: 1 }, ctx);
    expect(result.findings).toBe(3);
    // Invalid data holding a secret: the job fails, and its data stays out of the log.
    await expect(
      processJob('scan-log-batch', { stream: 'api', lines: `token ${GITHUB}` }, { ...ctx, jobId: 'job-2' }),
    ).rejects.toMatchObject({ code: 'KW_JOB_INVALID' });

    const log = text();
    const events = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toContainEqual(expect.objectContaining({ event: 'job-start', jobId: 'job-1', kind: 'scan-log-batch' }));
    expect(events).toContainEqual(expect.objectContaining({ event: 'job-done', jobId: 'job-1', findings: 3 }));
    expect(events).toContainEqual(expect.objectContaining({ event: 'job-failed', jobId: 'job-2', code: 'KW_JOB_INVALID' }));
    expectClean(log);
  });

  it('hold neither the bearer token, a wrong secret-looking one, nor request bodies and query strings, from the HTTP API', async () => {
    const { logger, text } = captured('api');
    const token = randomBytes(24).toString('base64url');
    const server = await createApiServer({
      redisUrl: redis.url,
      prefix: `kwlog-api-${process.pid}`,
      token,
      loggerInstance: logger,
      processMetrics: false,
    });
    try {
      const base = await server.listen('127.0.0.1', 0);
      const wrong = await fetch(`${base}/v1/findings`, { headers: { authorization: `Bearer ${GITHUB}` } });
      expect(wrong.status).toBe(401);
      const scan = await fetch(`${base}/v1/scans`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'scan-log-batch', data: { stream: 'web', lines: [`key=${STRIPE}`, AWS] } }),
      });
      expect(scan.status).toBe(202);
      const bad = await fetch(`${base}/v1/scans`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'scan-log-batch', data: { stream: 'web', lines: [AWS, 7] } }),
      });
      expect(bad.status).toBe(400);
      const filtered = await fetch(`${base}/v1/findings?repo=${encodeURIComponent(`https://x:${GITHUB}@github.com/o/r`)}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(filtered.status).toBeLessThan(500);
    } finally {
      await server.close(); // fastify writes "request completed" after the response: read the log after close
    }
    const log = text();
    expect(log).toContain('"statusCode":401');
    expect(log).toContain('"path":"/v1/findings"');
    expectClean(log, { token });
  });

  it('hold no secret from the intake while batches are forwarded or spooled', async () => {
    const { logger, text } = captured('intake');
    const token = randomBytes(24).toString('base64url');
    const intake = await startIntake({
      redactor: createRedactor({ rules: await builtinRules(), fingerprintKey: Buffer.from('test-fingerprint-key-0123456789') }),
      token,
      spoolDir: join(dir, 'spool'),
      fsync: false,
      logger,
    });
    try {
      const body = [GITHUB, AWS, STRIPE].map((s) => JSON.stringify({ log: `leaked ${s}` })).join('\n');
      const ok = await fetch(`${intake.url}/`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
      expect(ok.status).toBe(200);
      const refused = await fetch(`${intake.url}/`, { method: 'POST', headers: { authorization: `Bearer ${GITHUB}` }, body });
      expect(refused.status).toBe(401);
    } finally {
      await intake.close();
    }
    const log = text();
    expect(log).toContain('"event":"batch-spooled"');
    expectClean(log, { token });
  });
});
