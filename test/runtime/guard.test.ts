// The output guard with keys generated at test time from the pack's templates (rules/examples.ts),
// on real Node http, fastify and express servers.
import { createServer } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { createOutputGuard, type GuardFinding, guardText } from '../../runtime/index.js';
import { fingerprint } from '../../scanner/fingerprint.js';
import { startServer } from './helpers.js';

const rng = seededRng(1313);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
const openai = () => expandTemplate('«sk-proj-{base64url:74}T3BlbkFJ{base64url:73}A»', { rng }).secret!;
const KEY = 'guard-test-fingerprint-key';
const marker = (secret: string) =>
  `[REDACTED:github-pat:kw1:${fingerprint(Buffer.from(KEY), 'github-pat', secret).slice(4, 10)}]`;

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

describe('guardText and guard.check', () => {
  it('replaces every secret with its marker and reports findings without the secret', async () => {
    const a = ghp();
    const b = openai();
    const text = `Here is the config:\nGITHUB_TOKEN=${a}\nand the model key ${b} – done.`;
    const out = await guardText(text);
    expect(out.text).not.toContain(a);
    expect(out.text).not.toContain(b);
    expect(out.text).toMatch(
      /GITHUB_TOKEN=\[REDACTED:github-pat:kw1:[0-9a-f]{6}\]\nand the model key \[REDACTED:openai-project-key:kw1:[0-9a-f]{6}\] – done\.$/,
    );
    expect(out.findings.map((f) => [f.ruleId, f.line])).toEqual([
      ['github-pat', 2],
      ['openai-project-key', 3],
    ]);
    expect(JSON.stringify(out.findings)).not.toContain(a);
    expect(JSON.stringify(out.findings)).not.toContain(b);
    expect(await guardText('nothing secret here')).toEqual({ text: 'nothing secret here', findings: [] });
  });

  it('uses the given fingerprint key, so markers match the service', async () => {
    const a = ghp();
    const guard = createOutputGuard({ fingerprintKey: KEY });
    const r = await guard.check(`token ${a}`);
    expect(r).toMatchObject({ text: `token ${marker(a)}`, blocked: false });
    expect(r.findings[0]!.fingerprint).toBe(fingerprint(Buffer.from(KEY), 'github-pat', a));
  });

  it('blocks in block mode', async () => {
    const seen: GuardFinding[] = [];
    const guard = createOutputGuard({ mode: 'block', onFinding: (f) => seen.push(f) });
    const r = await guard.check(`the key is ${ghp()}`);
    expect(r).toMatchObject({ blocked: true, text: '[withheld: the output contained a credential]' });
    expect(seen.map((f) => f.ruleId)).toEqual(['github-pat']);
    expect(await guard.check('harmless')).toEqual({ text: 'harmless', findings: [], blocked: false });
  });
});

async function get(url: string): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text(), headers: r.headers };
}

describe('output guard middleware', () => {
  it('Node http: redacts a text body written in pieces and fixes Content-Length; JSON stays valid', async () => {
    const a = ghp();
    const guard = createOutputGuard({ fingerprintKey: KEY });
    const srv = createServer(
      guard.node((req, res) => {
        if (req.url === '/json') {
          const body = JSON.stringify({ answer: `use ${a}`, n: 1 });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), etag: '"abc"' });
          res.end(body);
          return;
        }
        if (req.url === '/binary') {
          res.setHeader('content-type', 'image/png');
          res.end(Buffer.from(`\x89PNG ${a}`, 'latin1'));
          return;
        }
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.write('first part, ');
        res.write(`then the token ${a.slice(0, 10)}`);
        res.end(`${a.slice(10)} and the end`);
      }),
    );
    const t = await listen(srv);
    const text = await get(`${t.url}/text`);
    expect(text.status).toBe(200);
    expect(text.body).toBe(`first part, then the token ${marker(a)} and the end`);
    expect(text.headers.get('content-length')).toBe(String(Buffer.byteLength(text.body)));

    const json = await get(`${t.url}/json`);
    expect(JSON.parse(json.body)).toEqual({ answer: `use ${marker(a)}`, n: 1 });
    expect(json.headers.get('content-length')).toBe(String(Buffer.byteLength(json.body)));
    expect(json.headers.get('etag')).toBeNull();

    // Binary types go out as they are.
    expect((await get(`${t.url}/binary`)).body).toContain(a);
  });

  it('Node http: block mode withholds the response with a 500 and KW_OUTPUT_BLOCKED; clean responses pass', async () => {
    const a = ghp();
    const guard = createOutputGuard({ mode: 'block' });
    const srv = createServer(
      guard.node((req, res) => {
        res.setHeader('content-type', 'text/plain');
        res.end(req.url === '/leak' ? `oops ${a}` : 'all fine');
      }),
    );
    const t = await listen(srv);
    const leak = await get(`${t.url}/leak`);
    expect(leak.status).toBe(500);
    expect(JSON.parse(leak.body)).toEqual({
      error: { code: 'KW_OUTPUT_BLOCKED', message: 'the response was withheld: it contained a credential' },
    });
    expect(leak.body).not.toContain(a);
    const fine = await get(`${t.url}/fine`);
    expect([fine.status, fine.body]).toEqual([200, 'all fine']);
  });

  it('fails closed on bodies it cannot read (compressed, too large) unless told to pass them', async () => {
    const a = ghp();
    const handler = (req: { url?: string }, res: import('node:http').ServerResponse) => {
      res.setHeader('content-type', 'text/plain');
      if (req.url === '/gzip') res.setHeader('content-encoding', 'gzip');
      res.end(req.url === '/big' ? `${'x'.repeat(2000)} ${a}` : 'pretend-gzip');
    };
    const closed = await listen(createServer(createOutputGuard({ maxBodyBytes: 1000 }).node(handler)));
    expect((await get(`${closed.url}/gzip`)).status).toBe(500);
    const big = await get(`${closed.url}/big`);
    expect(big.status).toBe(500);
    expect(big.body).not.toContain(a);
    const open = await listen(createServer(createOutputGuard({ maxBodyBytes: 1000, unscannable: 'pass' }).node(handler)));
    expect((await get(`${open.url}/big`)).body).toContain(a);
  });

  it('express: redacts res.send and res.json bodies', async () => {
    const a = ghp();
    const guard = createOutputGuard({ fingerprintKey: KEY });
    const app = express();
    app.use(guard.express);
    app.get('/send', (_req, res) => void res.send(`<p>${a}</p>`));
    app.get('/json', (_req, res) => void res.json({ reply: a }));
    const t = await startServer(app);
    closers.push(() => t.close());
    const send = await get(`${t.url}/send`);
    expect(send.body).toBe(`<p>${marker(a)}</p>`);
    expect(send.headers.get('content-length')).toBe(String(Buffer.byteLength(send.body)));
    const json = await get(`${t.url}/json`);
    expect(JSON.parse(json.body)).toEqual({ reply: marker(a) });

    const blockApp = express();
    blockApp.use(createOutputGuard({ mode: 'block' }).express);
    blockApp.get('/', (_req, res) => void res.json({ reply: a }));
    const b = await startServer(blockApp);
    closers.push(() => b.close());
    const blocked = await get(b.url);
    expect(blocked.status).toBe(500);
    expect(blocked.body).not.toContain(a);
  });

  it('fastify: redacts and blocks every route of the app through onSend, streams included', async () => {
    const a = ghp();
    const app = Fastify();
    await app.register(createOutputGuard({ fingerprintKey: KEY }).fastify);
    app.get('/text', async () => `answer: ${a}`);
    app.get('/json', async () => ({ answer: a }));
    app.get('/stream', async (_req, reply) => {
      const { Readable } = await import('node:stream');
      reply.type('text/plain');
      return Readable.from([Buffer.from('chunked '), Buffer.from(a)]);
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => app.close());
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const text = await get(`${url}/text`);
    expect(text.body).toBe(`answer: ${marker(a)}`);
    expect(text.headers.get('content-length')).toBe(String(Buffer.byteLength(text.body)));
    expect(JSON.parse((await get(`${url}/json`)).body)).toEqual({ answer: marker(a) });
    expect((await get(`${url}/stream`)).body).toBe(`chunked ${marker(a)}`);

    const blockApp = Fastify();
    await blockApp.register(createOutputGuard({ mode: 'block' }).fastify);
    blockApp.get('/', async () => ({ answer: a }));
    await blockApp.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => blockApp.close());
    const blocked = await get(`http://127.0.0.1:${(blockApp.server.address() as { port: number }).port}/`);
    expect(blocked.status).toBe(500);
    expect(JSON.parse(blocked.body).error.code).toBe('KW_OUTPUT_BLOCKED');
  });
});

async function listen(srv: import('node:http').Server): Promise<{ url: string }> {
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  closers.push(
    () =>
      new Promise<void>((r) => {
        srv.close(() => r());
        srv.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(srv.address() as { port: number }).port}` };
}
