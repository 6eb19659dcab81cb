// The HTTP runner's guarantees, each against real servers on 127.0.0.1: a listener that must never
// see the secret (redirects, plain http to a default base URL, host and path injection through
// parts), Retry-After back-off, bounded concurrency per provider, and every transport failure as a
// retryable `unknown` whose reason holds no secret.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveProviderBaseUrls } from '../../providers/base-urls.js';
import { createLivenessRunner } from '../../providers/runner.js';
import { signRequest } from '../../providers/sign.js';
import { builtinRules } from '../../rules/builtin.js';
import { LivenessCheck, type Rule } from '../../rules/schema.js';
import { FakeProvider } from '../helpers/fake-provider.js';

const rules = new Map((await builtinRules()).map((r) => [r.id, r]));
const rule = (id: string) => rules.get(id)!;

/** A plain server that records every byte it is sent: the place the secret must never reach. */
class Listener {
  received: string[] = [];
  server: Server;
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(200).end('{}');
  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push(`${req.method} ${req.url}\n${JSON.stringify(req.headers)}\n${Buffer.concat(chunks).toString()}`);
        this.handler(req, res);
      });
    });
  }
  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this.url;
  }
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  saw(text: string): boolean {
    return this.received.some((r) => r.includes(text));
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

function customRule(provider: string, check: Record<string, unknown>): Pick<Rule, 'id' | 'provider' | 'liveness'> {
  return {
    id: 'custom',
    provider,
    liveness: [
      LivenessCheck.parse({ type: 'http', live: [{ status: [200], bodyIsJson: true }], revoked: [{ status: [401] }], ...check }),
    ],
  };
}

let fake: FakeProvider;
let listener: Listener;
beforeAll(async () => {
  fake = await FakeProvider.start();
  listener = new Listener();
  await listener.start();
});
afterAll(async () => {
  await fake.stop();
  await listener.stop();
});
afterEach(() => {
  fake.clearFailures();
  listener.received = [];
  listener.handler = (_req, res) => res.writeHead(200).end('{}');
});

describe('the secret goes to the provider base URL and nowhere else', () => {
  it('does not follow a redirect to another host', async () => {
    const runner = createLivenessRunner({ baseUrls: resolveProviderBaseUrls(fake.env()) });
    const key = fake.issue('github-pat');
    fake.fail('GITHUB', { kind: 'redirect', location: `${listener.url}/user`, status: 307 });
    const r = await runner.check({ rule: rule('github-pat'), secret: key.secret });
    expect(r).toMatchObject({ verdict: 'unknown', status: 307, retryable: true });
    expect(r.reason).toMatch(/redirect \(HTTP 307\) not followed/);
    expect(listener.received).toEqual([]);
  });

  it('refuses plain http to a base URL that was not explicitly overridden', async () => {
    const baseUrls = resolveProviderBaseUrls({}, { EXAMPLE: { baseUrl: listener.url } });
    const runner = createLivenessRunner({ baseUrls });
    const r = await runner.check({
      rule: customRule('Example', { request: { method: 'GET', path: '/me', headers: { Authorization: 'Bearer {{secret}}' } } }),
      secret: 'tok_secret_value',
    });
    expect(r).toMatchObject({ verdict: 'unknown', retryable: false });
    expect(r.reason).toMatch(/refusing to send a key over plain http/);
    expect(listener.received).toEqual([]);
  });

  it('sends over http once the base URL is overridden to it', async () => {
    const runner = createLivenessRunner({
      baseUrls: resolveProviderBaseUrls({ KEYWARDEN_PROVIDER_EXAMPLE_BASE_URL: listener.url }),
    });
    const r = await runner.check({
      rule: customRule('Example', { request: { method: 'GET', path: '/me' } }),
      secret: 'tok_secret_value',
    });
    expect(r.verdict).toBe('live');
    expect(listener.received).toHaveLength(1);
  });

  it('refuses a part that would point the host elsewhere', async () => {
    const runner = createLivenessRunner({
      baseUrls: resolveProviderBaseUrls({}, { SHOPIFY: { baseUrl: 'https://{{parts.shop}}.myshopify.com' } }),
    });
    const key = fake.issue('shopify-access-token');
    const host = new URL(listener.url).host;
    for (const shop of [`x.evil.com`, `${host}/`, `@${host}`, `a#`, `a?b`, ``]) {
      const r = await runner.check({ rule: rule('shopify-access-token'), secret: key.secret, parts: { shop } });
      expect(r.verdict, shop).toBe('unknown');
      expect(r.retryable).toBe(false);
    }
    expect(listener.received).toEqual([]);
  });

  it('refuses a path part that would climb out of the base path', async () => {
    const runner = createLivenessRunner({
      baseUrls: resolveProviderBaseUrls({ KEYWARDEN_PROVIDER_EXAMPLE_BASE_URL: `${listener.url}/api` }),
    });
    const custom = customRule('Example', {
      parts: { x: { description: 'x' } },
      request: { method: 'GET', path: '/v1/{{parts.x}}' },
    });
    for (const x of ['..', '.']) {
      const r = await runner.check({ rule: custom, secret: 'tok_secret_value', parts: { x } });
      expect(r).toMatchObject({ verdict: 'unknown', retryable: false });
    }
    expect(listener.received).toEqual([]);
  });

  it('keeps the secret out of the reason even when the provider echoes it', async () => {
    const secret = 'ghp_EchoedBackByAProxy1234567890abcdef';
    listener.handler = (_req, res) =>
      res.writeHead(418, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: secret } }));
    const runner = createLivenessRunner({
      baseUrls: resolveProviderBaseUrls({ KEYWARDEN_PROVIDER_EXAMPLE_BASE_URL: listener.url }),
    });
    const r = await runner.check({ rule: customRule('Example', { request: { method: 'GET', path: '/' } }), secret });
    expect(r.verdict).toBe('unknown');
    expect(r.reason).toBe('unexpected answer: HTTP 418, error.code=[redacted]');
    expect(JSON.stringify(r)).not.toContain(secret);
  });
});

describe('rate limits', () => {
  it('returns Retry-After as a delay, then sends nothing to that provider until it has passed', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const runner = createLivenessRunner({ baseUrls: resolveProviderBaseUrls(fake.env()), now: () => clock });
    const key = fake.issue('npm-access-token');
    fake.fail('NPM', { kind: 'rate-limit', retryAfterSeconds: 30 }, { times: 1 });
    const first = await runner.check({ rule: rule('npm-access-token'), secret: key.secret });
    expect(first).toMatchObject({ verdict: 'unknown', status: 429, retryAfterMs: 30_000, retryable: true });

    const sent = fake.requests.filter((r) => r.provider === 'NPM').length;
    clock += 10_000;
    const blocked = await runner.check({ rule: rule('npm-access-token'), secret: key.secret });
    expect(blocked).toMatchObject({ verdict: 'unknown', retryAfterMs: 20_000, retryable: true });
    expect(blocked.reason).toMatch(/not sent/);
    expect(fake.requests.filter((r) => r.provider === 'NPM').length).toBe(sent);
    expect(runner.blockedFor('npm')).toBe(20_000);

    // Other providers are not held back.
    const other = fake.issue('postman-api-key');
    expect((await runner.check({ rule: rule('postman-api-key'), secret: other.secret })).verdict).toBe('live');

    clock += 20_001;
    const after = await runner.check({ rule: rule('npm-access-token'), secret: key.secret });
    expect(after.verdict).toBe('live');
  });

  it('reads GitHub 403 with x-ratelimit-remaining: 0 as a rate limit, not an answer', async () => {
    const runner = createLivenessRunner({ baseUrls: resolveProviderBaseUrls(fake.env()) });
    const key = fake.issue('github-pat');
    fake.fail('GITHUB', { kind: 'rate-limit', status: 403, retryAfterSeconds: 5 }, { times: 1 });
    const r = await runner.check({ rule: rule('github-pat'), secret: key.secret });
    expect(r).toMatchObject({ verdict: 'unknown', status: 403, retryAfterMs: 5000 });
  });
});

describe('concurrency', () => {
  it('holds at most N requests in flight per provider, independently per provider', async () => {
    let inFlight = 0;
    let max = 0;
    listener.handler = (_req, res) => {
      inFlight++;
      max = Math.max(max, inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }, 40);
    };
    const runner = createLivenessRunner({
      baseUrls: resolveProviderBaseUrls({
        KEYWARDEN_PROVIDER_ALPHA_BASE_URL: `${listener.url}/alpha`,
        KEYWARDEN_PROVIDER_BETA_BASE_URL: `${listener.url}/beta`,
      }),
      concurrencyPerProvider: 2,
      concurrency: { BETA: 1 },
    });
    const alpha = customRule('Alpha', { request: { method: 'GET', path: '/' } });
    const beta = customRule('Beta', { request: { method: 'GET', path: '/' } });
    const results = await Promise.all([
      ...Array.from({ length: 8 }, () => runner.check({ rule: alpha, secret: 'tok_1234' })),
      ...Array.from({ length: 4 }, () => runner.check({ rule: beta, secret: 'tok_1234' })),
    ]);
    expect(results.every((r) => r.verdict === 'live')).toBe(true);
    expect(max).toBe(3);
  });
});

/**
 * A loopback port nothing listens on: one the kernel handed out and took back. Linux does not hand
 * the same ephemeral port out again at once, so the connection is refused.
 */
async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((done) => s.close(done));
  return port;
}

describe('transport failures are unknown and retryable', () => {
  it('a closed port', async () => {
    const port = await closedPort();
    const runner = createLivenessRunner({
      baseUrls: resolveProviderBaseUrls({ KEYWARDEN_PROVIDER_EXAMPLE_BASE_URL: `http://127.0.0.1:${port}` }),
    });
    const r = await runner.check({
      rule: customRule('Example', { request: { method: 'GET', path: '/' } }),
      secret: 'tok_secret_value',
    });
    expect(r).toMatchObject({ verdict: 'unknown', retryable: true });
    expect(r.reason).toMatch(/^network error/);
    expect(r.reason).not.toContain(String(port));
  });

  it('an answer larger than the cap', async () => {
    listener.handler = (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"x":"${'a'.repeat(300_000)}"}`);
    const runner = createLivenessRunner({
      baseUrls: resolveProviderBaseUrls({ KEYWARDEN_PROVIDER_EXAMPLE_BASE_URL: listener.url }),
      maxBodyBytes: 100_000,
    });
    const r = await runner.check({
      rule: customRule('Example', { request: { method: 'GET', path: '/' } }),
      secret: 'tok_secret_value',
    });
    expect(r).toMatchObject({ verdict: 'unknown', retryable: true, reason: 'answer larger than 100000 bytes' });
  });

  it('a caller that cancels', async () => {
    listener.handler = () => {};
    const runner = createLivenessRunner({
      baseUrls: resolveProviderBaseUrls({ KEYWARDEN_PROVIDER_EXAMPLE_BASE_URL: listener.url }),
    });
    const ac = new AbortController();
    const p = runner.check({
      rule: customRule('Example', { request: { method: 'GET', path: '/' } }),
      secret: 'tok_secret_value',
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 50);
    expect(await p).toMatchObject({ verdict: 'unknown', reason: 'cancelled by the caller' });
  });
});

describe('inputs that can never be checked are unknown and not retryable', () => {
  const runner = () => createLivenessRunner({ baseUrls: resolveProviderBaseUrls({}) });
  it('a rule without a check', async () => {
    expect(await runner().check({ rule: rule('private-key-rsa'), secret: 'x' })).toMatchObject({
      verdict: 'unknown',
      retryable: false,
    });
  });
  it('a format no check of the rule applies to (a test.pypi.org token)', async () => {
    const r = await runner().check({ rule: rule('pypi-api-token'), secret: 'pypi-AgENdGVzdC5weXBpLm9yZw-example' });
    expect(r).toMatchObject({
      verdict: 'unknown',
      retryable: false,
      reason: 'no liveness check of this rule applies to this secret',
    });
  });
  it('a provider without a base URL says which setting to set', async () => {
    const r = await runner().check({ rule: rule('vault-service-token'), secret: 'hvs.x' });
    expect(r.reason).toBe('no base URL for provider HASHICORP_VAULT: set KEYWARDEN_PROVIDER_HASHICORP_VAULT_BASE_URL');
  });
});

describe('SigV4 signing (@smithy/signature-v4)', () => {
  it('is deterministic for a signing date and adds the session token', async () => {
    const req = {
      provider: 'AWS',
      method: 'POST',
      url: 'https://sts.amazonaws.com/',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
      baseUrl: 'https://sts.amazonaws.com',
      allowHttp: false,
      signing: {
        kind: 'aws-sigv4' as const,
        service: 'sts',
        region: 'us-east-1',
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        sessionToken: 'session',
      },
    };
    const date = new Date('2026-01-01T00:00:00Z');
    const a = await signRequest(req, date);
    const b = await signRequest(req, date);
    expect(a.headers.authorization).toBe(b.headers.authorization);
    expect(a.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20260101\/us-east-1\/sts\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(a.headers['x-amz-date']).toBe('20260101T000000Z');
    expect(a.headers['x-amz-security-token']).toBe('session');
    expect(a.headers).not.toHaveProperty('host');
  });
});
