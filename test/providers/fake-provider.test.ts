// The fake provider's own contract, as other suites and processes use it: the HTTP control API
// (issue, revoke, fail, env), the answers real providers document for the awkward cases, and keys
// that carry correct checksums.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksums } from '../../rules/checksums.js';
import { type FakeKey, FakeProvider } from '../helpers/fake-provider.js';

let fake: FakeProvider;
beforeAll(async () => {
  fake = await FakeProvider.start();
});
afterAll(async () => {
  await fake.stop();
});

const control = (method: string, path: string, body?: unknown) =>
  fetch(`${fake.url}/_fake/${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

describe('control API', () => {
  it('issues, reports and revokes keys over HTTP', async () => {
    const res = await control('POST', 'keys', { kind: 'slack-bot-token' });
    expect(res.status).toBe(201);
    const key = (await res.json()) as FakeKey;
    expect(key).toMatchObject({ ruleId: 'slack-bot-token', provider: 'SLACK', parts: {} });
    expect(key.secret).toMatch(/^xoxb-/);
    expect(await (await control('GET', `keys/live?secret=${encodeURIComponent(key.secret)}`)).json()).toEqual({ live: true });
    expect((await control('POST', 'revoke', { secret: key.secret })).status).toBe(204);
    expect(fake.isLive(key.secret)).toBe(false);
    expect((await control('POST', 'revoke', { secret: 'nope' })).status).toBe(404);
  });

  it('issues variants and refuses unknown kinds', async () => {
    const k = (await (await control('POST', 'keys', { kind: 'cloudflare-api-token', variant: 'account' })).json()) as FakeKey;
    expect(k.secret).toMatch(/^cfat_/);
    expect(k.parts.accountId).toMatch(/^[0-9a-f]{32}$/);
    expect((await control('POST', 'keys', { kind: 'no-such-rule' })).status).toBe(400);
  });

  it('serves the base-URL settings that point keywarden at it', async () => {
    const env = (await (await control('GET', 'env')).json()) as Record<string, string>;
    expect(env.KEYWARDEN_PROVIDER_GITHUB_BASE_URL).toBe(`${fake.url}/github`);
    expect(env.KEYWARDEN_PROVIDER_HUGGING_FACE_BASE_URL).toBe(`${fake.url}/hugging_face`);
    expect(env.KEYWARDEN_PROVIDER_SHOPIFY_BASE_URL).toBe(`${fake.url}/shopify/{{parts.shop}}`);
    expect(env).toEqual(fake.env());
  });

  it('fails on command, for a number of requests, then answers again', async () => {
    const key = fake.issue('npm-access-token');
    expect((await control('POST', 'fail', { provider: 'NPM', failure: { kind: 'status', status: 502 }, times: 2 })).status).toBe(
      204,
    );
    const whoami = () => fetch(`${fake.url}/npm/-/whoami`, { headers: { authorization: `Bearer ${key.secret}` } });
    expect((await whoami()).status).toBe(502);
    expect((await whoami()).status).toBe(502);
    expect((await whoami()).status).toBe(200);
    await control('POST', 'fail', { provider: '*', failure: { kind: 'rate-limit', retryAfterSeconds: 9 } });
    const limited = await whoami();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('9');
    expect((await control('DELETE', 'fail')).status).toBe(204);
    expect((await whoami()).status).toBe(200);
  });
});

describe('answers as the providers document them', () => {
  it('Slack answers HTTP 200 with ok:false for a revoked or unknown token', async () => {
    const key = fake.issue('slack-user-token');
    const test = async (token: string) => {
      const r = await fetch(`${fake.url}/slack/auth.test`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      return { status: r.status, body: await r.json() };
    };
    expect(await test(key.secret)).toMatchObject({ status: 200, body: { ok: true } });
    fake.revoke(key.secret);
    expect(await test(key.secret)).toEqual({ status: 200, body: { ok: false, error: 'token_revoked' } });
    expect(await test('xoxp-0-0-0-unknown')).toEqual({ status: 200, body: { ok: false, error: 'invalid_auth' } });
  });

  it('AWS STS answers unsigned requests and unknown key ids with its XML errors', async () => {
    const unsigned = await fetch(`${fake.url}/aws/`, { method: 'POST', body: 'Action=GetCallerIdentity&Version=2011-06-15' });
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toContain('<Code>MissingAuthenticationToken</Code>');
    const forged = await fetch(`${fake.url}/aws/`, {
      method: 'POST',
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=AKIAAAAAAAAAAAAAAAAA/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(await forged.text()).toContain('<Code>InvalidClientTokenId</Code>');
  });

  it('GitHub refuses authenticated calls to the credential revocation API', async () => {
    const key = fake.issue('github-pat');
    const r = await fetch(`${fake.url}/github/credentials/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ credentials: [key.secret] }),
    });
    expect(r.status).toBe(403);
    expect(fake.isLive(key.secret)).toBe(true);
  });

  it('records requests without header values, queries or bodies', async () => {
    const key = fake.issue('postman-api-key');
    await fetch(`${fake.url}/postman/me?x=${key.secret}`, { headers: { 'x-api-key': key.secret } });
    expect(JSON.stringify(fake.requests)).not.toContain(key.secret);
  });
});

describe('keys', () => {
  it.each([
    ['github-crc32', 'github-pat'],
    ['github-crc32', 'github-refresh-token'],
    ['npm-crc32', 'npm-access-token'],
    ['cloudflare-crc32', 'cloudflare-api-token'],
    ['pypi-macaroon', 'pypi-api-token'],
  ] as const)('a valid %s checksum on %s keys', (checksum, kind) => {
    for (let i = 0; i < 20; i++) expect(checksums[checksum].verify(fake.issue(kind).secret)).toBe(true);
  });

  it('issues a fresh key each time', () => {
    const a = fake.issue('openai-project-key');
    const b = fake.issue('openai-project-key');
    expect(a.secret).not.toBe(b.secret);
  });
});
