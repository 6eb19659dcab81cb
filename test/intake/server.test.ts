import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Intake, startIntake } from '../../intake/server.js';
import { builtinRules } from '../../rules/builtin.js';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { createRedactor, type Redactor } from '../../scanner/redact-spans.js';
import { Downstream } from '../helpers/downstream.js';

const TOKEN = 'intake-test-token-0123456789';
const rng = seededRng(11);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;

let redactor: Redactor;
let dir: string;
let downstream: Downstream;
let intake: Intake | null = null;

beforeAll(async () => {
  redactor = createRedactor({ rules: await builtinRules(), fingerprintKey: Buffer.from('test-fingerprint-key-0123456789') });
});
afterAll(async () => {
  await downstream?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await intake?.close();
  intake = null;
  await downstream.stop();
});

async function start(sub: string, extra: { bodyLimit?: number } = {}): Promise<Intake> {
  dir ??= mkdtempSync(join(tmpdir(), 'kw-intake-'));
  intake = await startIntake({
    redactor,
    token: TOKEN,
    spoolDir: join(dir, sub, 'spool'),
    findingsFile: join(dir, `${sub}-findings.jsonl`),
    downstreamUrl: downstream.url,
    retryMinMs: 20,
    retryMaxMs: 100,
    downstreamTimeoutMs: 2000,
    ...extra,
  });
  return intake;
}

function post(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

describe('intake', () => {
  beforeAll(() => {
    downstream = new Downstream();
  });

  it('rejects requests without the bearer token, or with a wrong one', async () => {
    await downstream.start();
    const it = await start('auth');
    const none = await fetch(`${it.url}/`, { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    const wrong = await post(`${it.url}/`, '{}', { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(it.spool.length).toBe(0);
  });

  it('redacts Fluent Bit json / json_lines and Vector ndjson batches and forwards them', async () => {
    downstream.received = [];
    await downstream.start();
    const it = await start('shapes');
    const [a, b, c] = [ghp(), ghp(), ghp()];
    // Fluent Bit `format json`, `json_date_key date`, `json_date_format double`.
    const fbJson = JSON.stringify([
      { date: 1763782000.123456, log: `GET /api token=${a}`, stream: 'stdout' },
      { date: 1763782000.223456, log: 'quiet line', stream: 'stdout' },
    ]);
    let res = await post(`${it.url}/`, fbJson, { 'user-agent': 'Fluent-Bit' });
    expect(res.status).toBe(200);
    // Fluent Bit `format json_lines` (3.x Content-Type), gzip-compressed (`compress gzip`).
    const fbLines = `${JSON.stringify({ date: 1763782001.5, log: `auth ${b}` })}\n${JSON.stringify({ date: 1763782001.6, log: 'x' })}\n`;
    res = await post(`${it.url}/`, gzipSync(fbLines), {
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
      'user-agent': 'Fluent-Bit',
    });
    expect(res.status).toBe(200);
    // Vector `http` sink, `encoding.codec = "json"`, `framing.method = "newline_delimited"`.
    const vector = `${JSON.stringify({ message: `env GITHUB_TOKEN=${c}`, host: 'h1', timestamp: '2026-11-22T04:00:00Z' })}\n`;
    res = await post(`${it.url}/ingest`, vector, { 'content-type': 'application/x-ndjson', 'user-agent': 'Vector/0.51.0' });
    expect(res.status).toBe(200);
    await it.drained();

    expect(downstream.received.map((r) => r.contentType)).toEqual([
      'application/json',
      'application/x-ndjson',
      'application/x-ndjson',
    ]);
    const all = downstream.received.map((r) => r.body).join('');
    for (const s of [a, b, c]) expect(all).not.toContain(s);
    const arr = JSON.parse(downstream.received[0]!.body);
    expect(arr).toHaveLength(2);
    expect(arr[0].log).toMatch(/^GET \/api token=\[REDACTED:[a-z0-9-]+:kw1:[0-9a-f]{6}\]$/);
    expect(arr[1]).toEqual({ date: 1763782000.223456, log: 'quiet line', stream: 'stdout' });
    const lines = downstream.received[1]!.body.split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0]!).log).toMatch(/^auth \[REDACTED:github-pat:kw1:[0-9a-f]{6}\]$/);
    const findings = readFileSync(join(dir, 'shapes-findings.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(findings.length).toBeGreaterThanOrEqual(3);
    expect(findings.every((f) => f.source.kind === 'log' && f.secret === undefined)).toBe(true);
    expect(JSON.stringify(findings)).not.toContain(a);
  });

  it('answers 415 to bodies it cannot read (zstd, snappy, msgpack), so no secret passes unscanned', async () => {
    await downstream.start();
    downstream.received = [];
    const it = await start('encodings');
    const line = `${JSON.stringify({ log: `token=${ghp()}` })}\n`;
    const refused: Array<Record<string, string>> = [
      { 'content-encoding': 'zstd', 'content-type': 'application/x-ndjson' },
      { 'content-encoding': 'snappy', 'content-type': 'application/x-ndjson' },
      { 'content-type': 'application/msgpack' },
    ];
    for (const headers of refused) {
      const res = await post(`${it.url}/`, line, headers);
      expect(res.status, JSON.stringify(headers)).toBe(415);
    }
    expect(downstream.received).toHaveLength(0);
    expect(it.spool.length).toBe(0);
    // Plain and gzip still pass, redacted.
    expect((await post(`${it.url}/`, line, { 'content-type': 'application/x-ndjson' })).status).toBe(200);
    expect((await post(`${it.url}/`, gzipSync(line), { 'content-encoding': 'gzip' })).status).toBe(200);
    expect(downstream.received.map((r) => r.body).join('')).toContain('[REDACTED:github-pat:kw1:');
  });

  it('answers 413 to a body over the limit', async () => {
    await downstream.start();
    const it = await start('limit', { bodyLimit: 1024 });
    const res = await post(`${it.url}/`, `${JSON.stringify({ log: 'x'.repeat(2000) })}\n`);
    expect(res.status).toBe(413);
  });

  it('spools while downstream is down and delivers in order after it returns, across an intake restart', async () => {
    downstream.received = [];
    await downstream.start();
    await downstream.stop(); // down: the port stays ours, every connection is reset
    let it = await start('spool');
    const secrets = Array.from({ length: 5 }, ghp);
    for (let i = 0; i < 5; i++) {
      const res = await post(`${it.url}/`, `${JSON.stringify({ seq: i, log: `key ${secrets[i]}` })}\n`);
      expect(res.status).toBe(200);
    }
    expect(it.spool.length).toBe(5);
    const spoolDir = it.spool.dir;
    expect(readdirSync(spoolDir).filter((n) => n.endsWith('.ndjson'))).toHaveLength(5);
    for (const f of readdirSync(spoolDir).filter((n) => n.endsWith('.ndjson'))) {
      expect(readFileSync(join(spoolDir, f), 'utf8')).not.toMatch(/ghp_/); // spooled already redacted
    }
    // Restart the intake while downstream is still down: nothing acknowledged is lost.
    await it.close();
    intake = null;
    it = await start('spool');
    expect(it.spool.length).toBe(5);
    const more = await post(`${it.url}/`, `${JSON.stringify({ seq: 5, log: 'after restart' })}\n`);
    expect(more.status).toBe(200);
    await downstream.start();
    await it.drained(10_000);
    const seqs = downstream.received.map((r) => JSON.parse(r.body).seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5]);
    expect(readdirSync(spoolDir).filter((n) => n.endsWith('.ndjson'))).toHaveLength(0);
  });
});
