// POST /v1/scans answers at once when a job names what no worker may touch (the worker checks again:
// test/workers/access.test.ts), and GET /v1/jobs/:id never shows a URL's credentials. Real Redis,
// real listeners on 127.0.0.1 that must see nothing.
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAccessPolicy } from '../../access/policy.js';
import { type ApiServer, createApiServer } from '../../api/server.js';
import { createRedis } from '../../workers/redis.js';
import { type CapturingServer, capturingServer, type SilentServer, silentServer } from '../helpers/git-peers.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';

// biome-ignore lint/suspicious/noExplicitAny: responses are read loosely; the assertions check their shape.
type Json = any;

const TOKEN = randomBytes(24).toString('base64url');
const PREFIX = `kwtest-api-access-${randomBytes(4).toString('hex')}`;

describe('POST /v1/scans: what a job may name', () => {
  let redis: RedisHandle;
  let server: ApiServer;
  let base: string;
  let listener: CapturingServer;
  let silent: SilentServer;

  const post = (body: unknown) =>
    fetch(`${base}/v1/scans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const errorOf = async (res: Response) => ((await res.json()) as Json).error;

  beforeAll(async () => {
    redis = await startRedis({ aof: false });
    listener = await capturingServer();
    silent = await silentServer();
    server = await createApiServer({
      redisUrl: redis.url,
      prefix: PREFIX,
      token: TOKEN,
      processMetrics: false,
      // As KEYWARDEN_DUMP_ROOTS=/var/crash and the defaults for the rest would give.
      access: { ...defaultAccessPolicy(), dumpRoots: ['/var/crash'] },
    });
    base = await server.listen('127.0.0.1', 0);
  });
  afterAll(async () => {
    await server?.close();
    await listener?.close();
    await silent?.close();
    await redis?.stop();
  });

  const hosts: Record<string, () => string> = {
    "the README's listener over plain http": () => `${listener.url}/x/repo.git`,
    'Redis itself (SSRF)': () => `http://127.0.0.1:${redis.port}/`,
    'git:// to a silent port': () => `git://127.0.0.1:${silent.port}/x.git`,
    'https to loopback': () => `https://127.0.0.1:${silent.port}/x.git`,
    'https to a name that resolves to loopback': () => `https://localhost:${silent.port}/x.git`,
    'the cloud metadata address': () => 'https://169.254.169.254/latest/meta-data/',
    'a private address over ssh': () => 'ssh://git@192.168.1.10/team/x.git',
    'file:// (off by default)': () => 'file:///etc',
    'a remote helper': () => 'ext::sh -c id',
  };
  for (const [name, repo] of Object.entries(hosts)) {
    it(`answers 403 KW_HOST_NOT_ALLOWED for ${name}, without connecting`, async () => {
      const [seen, accepted] = [listener.requests.length, silent.connections];
      const res = await post({ kind: 'scan-history', data: { repo: repo() } });
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe('KW_HOST_NOT_ALLOWED');
      expect([listener.requests.length, silent.connections]).toEqual([seen, accepted]);
    });
  }

  it('answers 400 naming body.data.repo for a URL that carries credentials, and stores nothing', async () => {
    const secret = `kwurl${randomBytes(12).toString('hex')}`;
    for (const repo of [`https://ci:${secret}@github.com/o/r.git`, `https://${secret}@gitlab.com/o/r.git`]) {
      const res = await post({ kind: 'scan-diff', data: { repo, base: 'main', head: 'pr' } });
      expect(res.status).toBe(400);
      const error = await errorOf(res);
      expect(error.code).toBe('KW_REQUEST_INVALID');
      expect(error.details.map((d: { path: string }) => d.path)).toEqual(['body.data.repo']);
      expect(JSON.stringify(error)).not.toContain(secret);
    }
    const conn = createRedis(redis.url);
    try {
      const keys = await conn.keys(`${PREFIX}:*`);
      for (const k of keys) {
        const type = await conn.type(k);
        const dumped = type === 'hash' ? JSON.stringify(await conn.hgetall(k)) : type === 'string' ? await conn.get(k) : '';
        expect(dumped ?? '').not.toContain(secret);
      }
    } finally {
      conn.disconnect();
    }
  });

  const paths: Record<string, string> = {
    '/etc/shadow': '/etc/shadow',
    '/proc/self/environ': '/proc/self/environ',
    'a walk out of the root': '/var/crash/../../etc/shadow',
    'a relative path': 'var/crash/core.1',
  };
  for (const [name, path] of Object.entries(paths)) {
    it(`answers 403 KW_PATH_NOT_ALLOWED for a dump at ${name}`, async () => {
      const res = await post({ kind: 'scan-dump', data: { path } });
      expect(res.status).toBe(403);
      expect(await errorOf(res)).toEqual({
        code: 'KW_PATH_NOT_ALLOWED',
        message: `dump path ${JSON.stringify(path)} is not allowed or not there`,
        details: ['KEYWARDEN_DUMP_ROOTS lists the directories a worker may read dumps under'],
      });
    });
  }

  it('accepts a public https repository and a dump under the roots', async () => {
    // A name whose DNS this machine may not answer: the API lets the worker decide; an address literal is judged now.
    expect((await post({ kind: 'scan-history', data: { repo: 'https://github.com/octocat/Hello-World.git' } })).status).toBe(202);
    expect((await post({ kind: 'scan-history', data: { repo: 'https://140.82.112.3/octocat/Hello-World.git' } })).status).toBe(
      202,
    );
    expect((await post({ kind: 'scan-dump', data: { path: '/var/crash/core.1' } })).status).toBe(202);
  });

  it('refuses every dump by path with the default policy (no KEYWARDEN_DUMP_ROOTS)', async () => {
    const strict = await createApiServer({ redisUrl: redis.url, prefix: PREFIX, token: TOKEN, processMetrics: false });
    try {
      const url = await strict.listen('127.0.0.1', 0);
      const res = await fetch(`${url}/v1/scans`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'scan-dump', data: { path: '/var/crash/core.1' } }),
      });
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe('KW_PATH_NOT_ALLOWED');
    } finally {
      await strict.close();
    }
  });

  it('shows a stored job (enqueued before submission refused credentials) with its URL redacted', async () => {
    const secret = `kwold${randomBytes(12).toString('hex')}`;
    const conn = createRedis(redis.url);
    const q = new Queue('scan-history', { connection: conn, prefix: PREFIX });
    try {
      const job = await q.add('scan-history', { repo: `https://x-access-token:${secret}@github.com/o/r.git` });
      const res = await fetch(`${base}/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const view = (await res.json()) as Json;
      expect(view.data.repo).toBe('https://***@github.com/o/r.git');
      expect(JSON.stringify(view)).not.toContain(secret);
    } finally {
      await q.close();
      conn.disconnect();
    }
  });
});
