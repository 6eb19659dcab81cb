// plan(check, secret, parts, baseUrl): the exact request, as a table of named cases, and the inputs
// it refuses (missing or malformed parts, values that would change the request's shape).
import { describe, expect, it } from 'vitest';
import type { ResolvedBaseUrl } from '../../providers/base-urls.js';
import { appliesTo, isUnderBase, plan, selectCheck } from '../../providers/plan.js';
import { LivenessCheck, RevocationPlan } from '../../rules/schema.js';
import { thrown } from '../helpers/thrown.js';

const base = (url: string, overridden = false): ResolvedBaseUrl => ({
  provider: 'EXAMPLE',
  url,
  overridden,
  envVar: 'KEYWARDEN_PROVIDER_EXAMPLE_BASE_URL',
});
const check = (c: Record<string, unknown>) =>
  LivenessCheck.parse({ type: 'http', live: [{ status: [200], bodyIsJson: true }], revoked: [{ status: [401] }], ...c });

interface PlanCase {
  check: Record<string, unknown>;
  parts?: Record<string, string>;
  base?: ResolvedBaseUrl;
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

const SECRET = 'tok_abc123';
const CASES: Record<string, PlanCase> = {
  'a bearer header under the base path': {
    check: { request: { method: 'GET', path: '/user', headers: { Authorization: 'Bearer {{secret}}' } } },
    base: base('https://api.example.com/api/v3'),
    url: 'https://api.example.com/api/v3/user',
    headers: { authorization: `Bearer ${SECRET}`, accept: 'application/json' },
  },
  'basic auth with a part as user name': {
    check: {
      parts: { id: { description: 'account id', pattern: 'AC[0-9a-f]{4}' } },
      request: {
        method: 'GET',
        path: '/Accounts/{{parts.id}}.json',
        basicAuth: { username: '{{parts.id}}', password: '{{secret}}' },
      },
    },
    parts: { id: 'AC12ab' },
    url: 'https://api.example.com/Accounts/AC12ab.json',
    headers: { authorization: `Basic ${Buffer.from(`AC12ab:${SECRET}`).toString('base64')}` },
  },
  'a query parameter, encoded': {
    check: { request: { method: 'GET', path: '/v1/models', query: { key: '{{secret}}', q: 'a b&c' } } },
    url: `https://api.example.com/v1/models?key=${SECRET}&q=a+b%26c`,
  },
  'a JSON body with the secret in a string leaf': {
    check: { request: { method: 'POST', path: '/revoke', body: { json: { credentials: ['{{secret}}'], n: 1 } } } },
    method: 'POST',
    url: 'https://api.example.com/revoke',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ credentials: [SECRET], n: 1 }),
  },
  'a form body': {
    check: { request: { method: 'POST', path: '/', body: { form: { Action: 'GetCallerIdentity', token: '{{secret}}' } } } },
    method: 'POST',
    url: 'https://api.example.com/',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: `Action=GetCallerIdentity&token=${SECRET}`,
  },
  'a path segment keeps : and encodes /': {
    check: { parts: { x: { description: 'x' } }, request: { method: 'GET', path: '/bot{{secret}}/{{parts.x}}' } },
    parts: { x: 'a/b?c' },
    url: `https://api.example.com/bot${SECRET}/a%2Fb%3Fc`,
  },
  'a host label part fills the base URL': {
    check: { parts: { shop: { description: 'shop' } }, request: { method: 'GET', path: '/admin/oauth/access_scopes.json' } },
    parts: { shop: 'My-Shop' },
    base: base('https://{{parts.shop}}.myshopify.com'),
    url: 'https://my-shop.myshopify.com/admin/oauth/access_scopes.json',
  },
  'an absent optional part drops its header': {
    check: {
      parts: { token: { description: 'session token', optional: true } },
      request: { method: 'GET', path: '/', headers: { 'X-Session': '{{parts.token}}', 'X-Key': '{{secret}}' } },
    },
    url: 'https://api.example.com/',
    headers: { 'x-key': SECRET },
  },
};

describe('plan', () => {
  it.each(Object.entries(CASES))('%s', (_name, c) => {
    const req = plan(check(c.check), SECRET, c.parts ?? {}, c.base ?? base('https://api.example.com'));
    expect(req.url).toBe(c.url);
    expect(req.method).toBe(c.method ?? 'GET');
    expect(req.headers).toMatchObject(c.headers ?? {});
    if (c.headers && !('x-session' in c.headers)) expect(req.headers).not.toHaveProperty('x-session');
    expect(req.body).toBe(c.body);
    expect(req.allowHttp).toBe(false);
  });

  const REFUSED: Record<
    string,
    { check: Record<string, unknown>; parts?: Record<string, string>; base?: ResolvedBaseUrl; message: RegExp }
  > = {
    'a missing required part': {
      check: { parts: { secret: { description: 'the paired secret access key' } }, request: { method: 'GET', path: '/' } },
      message: /missing part "secret" \(the paired secret access key\)/,
    },
    'a part that does not match its pattern': {
      check: {
        parts: { id: { description: 'an Account SID', pattern: 'AC[0-9a-f]{32}' } },
        request: { method: 'GET', path: '/{{parts.id}}' },
      },
      parts: { id: 'SK0000' },
      message: /part "id" does not look like an Account SID/,
    },
    'a host label that would add a host': {
      check: { parts: { shop: { description: 'shop' } }, request: { method: 'GET', path: '/' } },
      parts: { shop: 'evil.example.com#' },
      base: base('https://{{parts.shop}}.myshopify.com'),
      message: /one DNS label/,
    },
    'a dot segment that would climb out of the base path': {
      check: { parts: { x: { description: 'x' } }, request: { method: 'GET', path: '/a/{{parts.x}}' } },
      parts: { x: '..' },
      message: /dot segment/,
    },
    'a line break in a header value': {
      check: { parts: { x: { description: 'x' } }, request: { method: 'GET', path: '/', headers: { 'X-A': '{{parts.x}}' } } },
      parts: { x: 'a\r\nX-Injected: 1' },
      message: /control characters/,
    },
    'a colon in a basic-auth user name': {
      check: {
        parts: { u: { description: 'u' } },
        request: { method: 'GET', path: '/', basicAuth: { username: '{{parts.u}}', password: '{{secret}}' } },
      },
      parts: { u: 'a:b' },
      message: /cannot contain ":"/,
    },
  };
  it.each(Object.entries(REFUSED))('refuses %s (KW_PROVIDER_PLAN, no value in the message)', (_name, c) => {
    const err = thrown(() => plan(check(c.check), SECRET, c.parts ?? {}, c.base ?? base('https://api.example.com')));
    expect(err.code).toBe('KW_PROVIDER_PLAN');
    expect(err.message).toMatch(c.message);
    expect(err.message).not.toContain(SECRET);
    for (const v of Object.values(c.parts ?? {})) if (v.length > 2) expect(err.message).not.toContain(v);
  });

  it('marks requests to an overridden base URL as allowed over http', () => {
    const req = plan(check({ request: { method: 'GET', path: '/x' } }), SECRET, {}, base('http://127.0.0.1:1/github', true));
    expect(req).toMatchObject({
      url: 'http://127.0.0.1:1/github/x',
      baseUrl: 'http://127.0.0.1:1/github',
      allowHttp: true,
      provider: 'EXAMPLE',
    });
  });

  it('carries SigV4 parameters for aws-sigv4 checks, values filled in', () => {
    const aws = LivenessCheck.parse({
      type: 'aws-sigv4',
      service: 'sts',
      region: 'us-east-1',
      parts: { secret: { description: 's' }, sessionToken: { description: 't', optional: true } },
      credentials: { accessKeyId: '{{secret}}', secretAccessKey: '{{parts.secret}}', sessionToken: '{{parts.sessionToken}}' },
      request: { method: 'POST', path: '/', body: { form: { Action: 'GetCallerIdentity' } } },
      live: [{ status: [200], bodyIncludes: ['<GetCallerIdentityResponse'] }],
      revoked: [{ status: [403] }],
    });
    const req = plan(aws, 'AKIAEXAMPLEEXAMPLE12', { secret: 's3cr3t' }, base('https://sts.amazonaws.com'));
    expect(req.signing).toEqual({
      kind: 'aws-sigv4',
      service: 'sts',
      region: 'us-east-1',
      accessKeyId: 'AKIAEXAMPLEEXAMPLE12',
      secretAccessKey: 's3cr3t',
    });
  });

  it('builds revocation plans the same way', () => {
    const p = RevocationPlan.parse({
      type: 'http',
      request: { method: 'DELETE', path: '/tokens/self', headers: { 'PRIVATE-TOKEN': '{{secret}}' } },
      accepted: [{ status: [204] }],
    });
    expect(plan(p, SECRET, {}, base('https://gitlab.example.com/api/v4'))).toMatchObject({
      method: 'DELETE',
      url: 'https://gitlab.example.com/api/v4/tokens/self',
      headers: { 'private-token': SECRET },
    });
  });
});

describe('appliesTo and selectCheck', () => {
  const checks = [
    check({ appliesTo: { secretPrefixes: ['cfut_'] }, request: { method: 'GET', path: '/user' } }),
    check({
      appliesTo: { partPrefixes: { id: ['SK'] } },
      parts: { id: { description: 'id' } },
      request: { method: 'GET', path: '/sk' },
    }),
    check({ request: { method: 'GET', path: '/any' } }),
  ];
  it('picks the first check whose selector admits the secret and parts', () => {
    expect(selectCheck(checks, 'cfut_x')?.request.path).toBe('/user');
    expect(selectCheck(checks, 'x', { id: 'SK12' })?.request.path).toBe('/sk');
    expect(selectCheck(checks, 'x', { id: 'AC12' })?.request.path).toBe('/any');
    expect(selectCheck(undefined, 'x')).toBeUndefined();
    expect(appliesTo({ secretPrefixes: ['a'] }, 'b', {})).toBe(false);
  });
});

describe('isUnderBase', () => {
  it.each([
    ['https://api.example.com/v1/x', 'https://api.example.com', true],
    ['https://api.example.com/api/v3/user', 'https://api.example.com/api/v3', true],
    ['https://api.example.com/api/v3', 'https://api.example.com/api/v3', true],
    ['https://api.example.com/api/v30/user', 'https://api.example.com/api/v3', false],
    ['https://api.example.com.evil.net/user', 'https://api.example.com', false],
    ['http://api.example.com/user', 'https://api.example.com', false],
    ['https://api.example.com:8443/user', 'https://api.example.com', false],
    ['https://u:p@api.example.com/user', 'https://api.example.com', false],
    ['https://api.example.com/api/v3/%2E%2E/admin', 'https://api.example.com/api/v3', false],
  ])('%s under %s: %s', (url, b, want) => {
    expect(isUnderBase(url, b)).toBe(want);
  });
});

describe('schema', () => {
  it('rejects placeholders other than {{secret}} and declared parts', () => {
    const r = LivenessCheck.safeParse({
      type: 'http',
      request: { method: 'GET', path: '/{{parts.id}}', headers: { A: '{{token}}' } },
      live: [{ status: [401] }],
      revoked: [{ status: [401] }],
    });
    expect(r.success).toBe(false);
    const messages = r.error!.issues.map((i) => i.message).join('\n');
    expect(messages).toContain('no part "id" is declared');
    expect(messages).toContain('only {{secret}} and {{parts.<name>}} exist');
  });

  it('makes a 2xx live answer say what its body holds', () => {
    const r = LivenessCheck.safeParse({
      type: 'http',
      request: { method: 'GET', path: '/' },
      live: [{ status: [200] }],
      revoked: [{ status: [401] }],
    });
    expect(r.error?.issues[0]?.message).toMatch(/must name what its body holds/);
  });
});
