// Context redaction where logs leave the application: the HTTP intake for log shippers and the pino
// transport redact cookie values, x-api-key headers, short Bearer tokens and `access_token=` in URLs
// (the classes issue #14 found leaking), and a secret seen once is redacted where it recurs.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startIntake } from '../../intake/server.js';
import { builtinRules } from '../../rules/builtin.js';
import { createRedactor } from '../../scanner/redact-spans.js';
import { Downstream } from '../helpers/downstream.js';
import { LogGen } from './log-corpus.js';

const TOKEN = 'intake-test-token-0123456789';
const KEY = 'shippers-fingerprint-key-01234';
const dir = mkdtempSync(join(tmpdir(), 'kw-shippers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('log-shipper intake', () => {
  it('forwards no context-only secret downstream, and redacts a repeat in a later batch of the stream', async () => {
    const downstream = new Downstream();
    await downstream.start();
    const intake = await startIntake({
      redactor: createRedactor({ rules: await builtinRules(), fingerprintKey: Buffer.from(KEY) }),
      token: TOKEN,
      spoolDir: join(dir, 'spool'),
      downstreamUrl: downstream.url,
      retryMinMs: 20,
      retryMaxMs: 100,
    });
    try {
      const g = new LogGen(41);
      const [cookie, apiKey, bearer, access] = [g.token(16, 24), g.token(10, 20), g.token(6, 10), g.token(12, 20)];
      const lines = [
        { log: `GET /cart Cookie: sid=${cookie}; theme=dark`, stream: 'stdout' },
        { req: { headers: { 'x-api-key': apiKey, authorization: `Bearer ${bearer}` } }, msg: 'request' },
        { log: `GET https://api.example.com/v1/me?access_token=${access}&page=2`, stream: 'stdout' },
      ];
      const post = (body: string) =>
        fetch(`${intake.url}/`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' },
          body,
        });
      expect((await post(`${lines.map((l) => JSON.stringify(l)).join('\n')}\n`)).status).toBe(200);
      expect((await post(`${JSON.stringify({ log: `retry with ${cookie} failed` })}\n`)).status).toBe(200);
      await intake.drained();
      const body = downstream.received.map((r) => r.body).join('');
      for (const s of [cookie, apiKey, bearer, access]) expect(body).not.toContain(s);
      const records = downstream.records();
      expect(records).toHaveLength(4);
      expect(JSON.stringify(records[0])).toContain('sid=[REDACTED:ctx-cookie:');
      expect(JSON.stringify(records[2])).toContain('page=2');
      expect(JSON.stringify(records[3])).toMatch(/retry with \[REDACTED:ctx-cookie:kw1:[0-9a-f]{6}\] failed/);
    } finally {
      await intake.close();
      await downstream.close();
    }
  });
});

describe('keywarden/pino', () => {
  it('redacts header values, secret-named fields and URL credentials before they reach the file', async () => {
    const file = join(dir, 'app.log');
    const transport = pino.transport({ target: 'keywarden/pino', options: { destination: file, fingerprintKey: KEY } });
    const logger = pino(transport);
    const g = new LogGen(42);
    const [pw, cookie, key] = [g.password(), g.token(16, 24), g.token(10, 20)];
    logger.info({ user: { name: 'ada', password: pw, token: null } }, 'signed in');
    logger.info({ req: { headers: { cookie: `sid=${cookie}`, 'x-api-key': key } } }, 'request');
    logger.info(`fetching https://api.example.com/x?api_key=${key}`);
    transport.end();
    await once(transport, 'close');
    const text = readFileSync(file, 'utf8');
    for (const s of [pw, cookie, key]) expect(text).not.toContain(s);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0].user).toMatchObject({ name: 'ada', token: null });
    expect(lines[0].user.password).toMatch(/^\[REDACTED:[a-z0-9-]+:kw1:[0-9a-f]{6}\]$/);
    expect(lines[1].req.headers.cookie).toMatch(/^sid=\[REDACTED:ctx-cookie:/);
  });
});
