// OAuth2 client credentials against a real token endpoint on 127.0.0.1; the clock is injected so
// half-life and expiry are exact without waiting.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeywardenError } from '../../errors/error.js';
import { createTokenManager } from '../../runtime/index.js';
import { readText, sendJson, startServer, type TestServer, until } from './helpers.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface TokenServer {
  url: string;
  requests: Array<{ form: URLSearchParams; authorization: string | undefined }>;
  /** Answers queued for the next requests (default: a fresh token). */
  script: Array<number | 'hang'>;
  issued: string[];
  release: Array<() => void>;
  expiresIn: number;
}

async function tokenServer(): Promise<TokenServer> {
  const ts: TokenServer = { url: '', requests: [], script: [], issued: [], release: [], expiresIn: 3600 };
  const server = await startServer(async (req, res) => {
    const form = new URLSearchParams(await readText(req));
    ts.requests.push({ form, authorization: req.headers.authorization });
    const step = ts.script.shift();
    if (typeof step === 'number') return sendJson(res, step, { error: step === 401 ? 'invalid_client' : 'server_error' });
    const answer = () => {
      const token = `at-${randomBytes(8).toString('hex')}`;
      ts.issued.push(token);
      sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: ts.expiresIn });
    };
    if (step === 'hang') ts.release.push(answer);
    else answer();
  });
  servers.push(server);
  ts.url = `${server.url}/oauth/token`;
  return ts;
}

describe('createTokenManager', () => {
  it('100 concurrent getToken() callers: one token request, one token', async () => {
    const ts = await tokenServer();
    ts.script.push('hang');
    const tm = createTokenManager({
      tokenUrl: ts.url,
      clientId: 'agent',
      clientSecret: 'client-secret-value',
      scope: ['read', 'write'],
    });
    const callers = Array.from({ length: 100 }, () => tm.getToken());
    await until(() => ts.release.length === 1, 'the token request');
    ts.release.shift()!();
    const tokens = await Promise.all(callers);
    expect(ts.requests).toHaveLength(1);
    expect(new Set(tokens)).toEqual(new Set([ts.issued[0]]));
    const r = ts.requests[0]!;
    expect(r.form.get('grant_type')).toBe('client_credentials');
    expect(r.form.get('scope')).toBe('read write');
    expect(r.form.get('client_secret')).toBeNull(); // client_secret_basic: in the header, not the body
    expect(r.authorization).toBe(`Basic ${Buffer.from('agent:client-secret-value').toString('base64')}`);
  });

  it('refreshes at half-life while handing out the old token, and keeps the old token while refreshes fail', async () => {
    const ts = await tokenServer();
    ts.expiresIn = 100; // seconds
    let now = 1_000_000;
    const errors: KeywardenError[] = [];
    const tm = createTokenManager({
      tokenUrl: ts.url,
      clientId: 'agent',
      clientSecret: 's3cret-for-tests',
      now: () => now,
      retries: 1,
      backoff: 1,
      onError: (e) => errors.push(e),
    });
    const first = await tm.getToken();
    now += 49_000;
    expect(await tm.getToken()).toBe(first);
    expect(ts.requests).toHaveLength(1);

    // Past half-life: the caller gets the valid old token at once; one refresh runs behind it.
    now += 2_000;
    ts.script.push('hang');
    const callers = await Promise.all(Array.from({ length: 10 }, () => tm.getToken()));
    expect(new Set(callers)).toEqual(new Set([first]));
    await until(() => ts.release.length === 1, 'the background refresh');
    ts.release.shift()!();
    await until(() => ts.issued.length === 2, 'the second token');
    await until(async () => (await tm.getToken()) === ts.issued[1], 'the new token in use');
    expect(ts.requests).toHaveLength(2);

    // Past the new token's half-life, the server fails every time: the old (still valid) token stays in use.
    now += 51_000;
    ts.script.push(503, 503, 503, 503);
    expect(await tm.getToken()).toBe(ts.issued[1]);
    await until(() => errors.length === 2, 'two failed attempts (first try and one retry)');
    expect(await tm.getToken()).toBe(ts.issued[1]); // cooling down: no new request yet
    expect(errors.map((e) => e.code)).toEqual(['KW_TOKEN_REQUEST', 'KW_TOKEN_REQUEST']);
    expect(errors[0]!.message).toBe(`token request to ${ts.url}: answered 503 (server_error)`);

    // Expired: no valid token left, so the caller waits for a refresh and gets its failure.
    now += 60_000;
    ts.script.length = 0;
    ts.script.push(401);
    await expect(tm.getToken()).rejects.toMatchObject({
      code: 'KW_TOKEN_REQUEST',
      message: `token request to ${ts.url}: answered 401 (invalid_client)`,
    });
    // 401 is final: no retry was sent.
    expect(ts.requests.length).toBe(5);
    expect(await tm.getToken()).toBe(ts.issued[2]);
    for (const e of errors) expect(e.message).not.toContain('s3cret');
  });

  it('retries 5xx and connection failures with backoff, then succeeds', async () => {
    const ts = await tokenServer();
    ts.script.push(500, 502);
    const tm = createTokenManager({
      tokenUrl: ts.url,
      clientId: 'a',
      clientSecret: 'b',
      retries: 3,
      backoff: 5,
      authMethod: 'client_secret_post',
    });
    expect(await tm.getToken()).toBe(ts.issued[0]);
    expect(ts.requests).toHaveLength(3);
    expect(ts.requests[2]!.form.get('client_id')).toBe('a');
    expect(ts.requests[2]!.authorization).toBeUndefined();

    const gone = await startServer(() => {});
    await gone.close();
    const down = createTokenManager({ tokenUrl: `${gone.url}/token`, clientId: 'a', clientSecret: 'b', retries: 2, backoff: 1 });
    await expect(down.getToken()).rejects.toMatchObject({
      code: 'KW_TOKEN_REQUEST',
      message: expect.stringContaining('failed (ECONNREFUSED)'),
    });
    expect(down.status()).toMatchObject({ requests: 3, failures: 3, hasToken: false });
  });

  it('invalidate() makes the next call fetch a new token', async () => {
    const ts = await tokenServer();
    const tm = createTokenManager({ tokenUrl: ts.url, clientId: 'a', clientSecret: 'b' });
    const first = await tm.getToken();
    tm.invalidate();
    const second = await tm.getToken();
    expect(second).not.toBe(first);
    expect(ts.requests).toHaveLength(2);
  });
});
