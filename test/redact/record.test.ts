// `keywarden redact --record`: the compiled filter with a real redis-server. Every line still passes
// through redacted; the findings land in the finding store (source log, the stream as target, an audit
// event naming the filter); with Redis away the filter still redacts everything and says what it could
// not record (exit 2).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { FindingStore } from '../../workers/store.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';

const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
const rng = seededRng(31);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
const PREFIX = `kwtest-redact-${process.pid}`;

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis({ aof: false });
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});

async function runRedact(args: string[], input: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, 'redact', ...args], {
    env: { ...process.env, KEYWARDEN_FINGERPRINT_KEY: 'test-fingerprint-key-0123456789', KEYWARDEN_PREFIX: PREFIX, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  child.stdin.end(input);
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('keywarden redact --record', () => {
  it('records findings in the store while every line passes through redacted', async () => {
    const a = ghp();
    const b = ghp();
    const input = [
      JSON.stringify({ msg: `deploy with ${a}` }),
      JSON.stringify({ msg: 'ok' }),
      JSON.stringify({ msg: `retry with ${a}` }),
      `plain ${b}`,
    ].join('\n');
    const r = await runRedact(['--json', '--record', '--stream', 'web/app'], `${input}\n`, { REDIS_URL: redis.url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(5);
    expect(r.stdout).not.toContain(a);
    expect(r.stdout).not.toContain(b);

    const client = new Redis(redis.url);
    try {
      const store = new FindingStore(client, PREFIX);
      const found = await store.list({ target: 'web/app' });
      expect(found).toHaveLength(2);
      expect(found.every((f) => f.ruleId === 'github-pat' && f.state === 'detected')).toBe(true);
      const fpA = found.find((f) => f.occurrenceCount === 2);
      expect(fpA).toBeDefined();
      const occ = await store.occurrences(fpA!.fingerprint);
      expect(occ.map((o) => o.span.line).sort()).toEqual([1, 3]);
      expect(occ.every((o) => o.provenance.kind === 'log' && o.provenance.stream === 'web/app')).toBe(true);
      const audit = await store.audit(fpA!.fingerprint);
      expect(audit[0]!.actor).toMatch(/^redact:/);
      expect(JSON.stringify([found, occ, audit])).not.toContain(a);
    } finally {
      client.disconnect();
    }
  }, 30_000);

  it('a second run of the filter adds its own occurrences (line numbers restart)', async () => {
    const c = ghp();
    const first = await runRedact(['--record', '--stream', 'rerun'], `x ${c}\n`, { REDIS_URL: redis.url });
    const second = await runRedact(['--record', '--stream', 'rerun'], `x ${c}\n`, { REDIS_URL: redis.url });
    expect([first.code, second.code]).toEqual([0, 0]);
    const client = new Redis(redis.url);
    try {
      const [f] = await new FindingStore(client, PREFIX).list({ target: 'rerun' });
      expect(f?.occurrenceCount).toBe(2);
    } finally {
      client.disconnect();
    }
  }, 30_000);

  it('with Redis away: still redacts every line, then says what it could not record and exits 2', async () => {
    const d = ghp();
    // Port 1 (tcpmux, privileged): nothing listens there, and no test server is ever given it.
    const r = await runRedact(['--record', '--stream', 'down'], `one ${d}\ntwo\n`, { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.stdout).toMatch(/^one \[REDACTED:github-pat:kw1:[0-9a-f]{6}\]\ntwo\n$/);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/1 finding occurrence\(s\) could not be recorded/);
    expect(r.stderr).not.toContain(d);
  }, 30_000);
});
