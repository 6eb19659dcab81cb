// judge(check, response): a table of provider answers and what they mean. The point of the table:
// only an answer the check declares revoked is `revoked`; rate limits, 5xx, redirects, ambiguous and
// unexpected answers are `unknown`, and reasons never quote a body beyond short codes.
import { describe, expect, it } from 'vitest';
import { judge, judgeRevocation, type ProviderResponse, parseRetryAfter } from '../../providers/judge.js';
import { builtinRules } from '../../rules/builtin.js';
import { LivenessCheck, RevocationPlan } from '../../rules/schema.js';

const rules = new Map((await builtinRules()).map((r) => [r.id, r]));
const checkOf = (id: string, i = 0) => rules.get(id)!.liveness![i]!;
const res = (status: number, body: unknown = '', headers: Record<string, string> = {}): ProviderResponse => ({
  status,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

const NOW = Date.parse('2026-01-01T00:00:00Z');

interface Case {
  rule: string;
  variant?: number;
  response: ProviderResponse;
  verdict: 'live' | 'revoked' | 'unknown';
  reason?: RegExp;
  retryAfterMs?: number;
}

const CASES: Record<string, Case> = {
  'Slack 200 ok:true is live': { rule: 'slack-bot-token', response: res(200, { ok: true, team: 'x' }), verdict: 'live' },
  'Slack 200 ok:false token_revoked is revoked': {
    rule: 'slack-bot-token',
    response: res(200, { ok: false, error: 'token_revoked' }),
    verdict: 'revoked',
    reason: /HTTP 200, ok=false, error=token_revoked/,
  },
  'Slack 200 ok:false invalid_auth is revoked': {
    rule: 'slack-user-token',
    response: res(200, { ok: false, error: 'invalid_auth' }),
    verdict: 'revoked',
  },
  'Slack 200 ok:false ratelimited says nothing': {
    rule: 'slack-bot-token',
    response: res(200, { ok: false, error: 'ratelimited' }),
    verdict: 'unknown',
    reason: /error=ratelimited/,
  },
  'Slack 200 ok:false internal_error says nothing': {
    rule: 'slack-bot-token',
    response: res(200, { ok: false, error: 'internal_error' }),
    verdict: 'unknown',
  },
  'GitHub 401 Bad credentials is revoked': {
    rule: 'github-pat',
    response: res(401, { message: 'Bad credentials' }),
    verdict: 'revoked',
  },
  'GitHub 200 with a user is live': { rule: 'github-pat', response: res(200, { login: 'octocat' }), verdict: 'live' },
  'GitHub 200 login page (HTML) is unknown, not live': {
    rule: 'github-pat',
    response: res(200, '<html>Sign in</html>'),
    verdict: 'unknown',
    reason: /unexpected answer: HTTP 200, body is not JSON/,
  },
  'GitHub 403 SSO wall is unknown': {
    rule: 'github-pat',
    response: res(403, { message: 'Resource protected by organization SAML enforcement' }),
    verdict: 'unknown',
  },
  'GitHub 403 with an exhausted rate window is rate limited until reset': {
    rule: 'github-pat',
    response: res(
      403,
      { message: 'API rate limit exceeded' },
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW / 1000 + 120) },
    ),
    verdict: 'unknown',
    reason: /rate limited \(HTTP 403\)/,
    retryAfterMs: 120_000,
  },
  '429 with Retry-After seconds': {
    rule: 'openai-project-key',
    response: res(429, {}, { 'retry-after': '30' }),
    verdict: 'unknown',
    retryAfterMs: 30_000,
  },
  '429 with Retry-After as a date': {
    rule: 'openai-project-key',
    response: res(429, {}, { 'retry-after': new Date(NOW + 45_000).toUTCString() }),
    verdict: 'unknown',
    retryAfterMs: 45_000,
  },
  '429 without Retry-After waits a minute': {
    rule: 'openai-project-key',
    response: res(429),
    verdict: 'unknown',
    retryAfterMs: 60_000,
  },
  '500 is unknown, whatever the body': {
    rule: 'github-pat',
    response: res(500, { message: 'Bad credentials' }),
    verdict: 'unknown',
    reason: /provider error: HTTP 500/,
  },
  '503 carries its Retry-After': {
    rule: 'github-pat',
    response: res(503, '', { 'retry-after': '5' }),
    verdict: 'unknown',
    retryAfterMs: 5000,
  },
  'a redirect is unknown (never followed)': {
    rule: 'github-pat',
    response: res(302, '', { location: 'https://evil.example/' }),
    verdict: 'unknown',
    reason: /redirect \(HTTP 302\) not followed/,
  },
  'AWS XML InvalidClientTokenId is revoked': {
    rule: 'aws-access-key-id',
    response: res(403, '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code></Error></ErrorResponse>'),
    verdict: 'revoked',
    reason: /HTTP 403, Code=InvalidClientTokenId/,
  },
  'AWS SignatureDoesNotMatch is unknown (a mismatched pair)': {
    rule: 'aws-access-key-id',
    response: res(403, '<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>'),
    verdict: 'unknown',
    reason: /inconclusive/,
  },
  'AWS 403 AccessDenied is unknown': {
    rule: 'aws-access-key-id',
    response: res(403, '<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>'),
    verdict: 'unknown',
  },
  'Stripe restricted key 403 permission error is live': {
    rule: 'stripe-restricted-key',
    response: res(403, { error: { type: 'invalid_request_error', message: 'does not have the required permissions' } }),
    verdict: 'live',
  },
  'Cloudflare 200 status disabled is revoked': {
    rule: 'cloudflare-api-token',
    response: res(200, { success: true, result: { status: 'disabled' } }),
    verdict: 'revoked',
  },
  'Cloudflare 200 status active is live': {
    rule: 'cloudflare-api-token',
    response: res(200, { success: true, result: { status: 'active' } }),
    verdict: 'live',
  },
  'Linear 400 AUTHENTICATION_ERROR is revoked': {
    rule: 'linear-api-key',
    response: res(400, { errors: [{ extensions: { code: 'AUTHENTICATION_ERROR' } }] }),
    verdict: 'revoked',
  },
  'Linear 400 other GraphQL error is unknown': {
    rule: 'linear-api-key',
    response: res(400, { errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] }),
    verdict: 'unknown',
  },
  'PyPI 403 invalid-auth text is revoked': {
    rule: 'pypi-api-token',
    response: res(403, '403 Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth'),
    verdict: 'revoked',
    reason: /body matched/,
  },
  'PyPI 403 for another reason is unknown': {
    rule: 'pypi-api-token',
    response: res(403, "403 User 'x' isn't allowed to upload to project 'y'"),
    verdict: 'unknown',
  },
  'PyPI 400 past authentication is live': {
    rule: 'pypi-api-token',
    response: res(400, "400 'name' is a required field."),
    verdict: 'live',
  },
  'Datadog 200 valid:true is live': { rule: 'datadog-api-key', response: res(200, { valid: true }), verdict: 'live' },
  'Datadog 200 valid:false matches nothing: unknown': {
    rule: 'datadog-api-key',
    response: res(200, { valid: false }),
    verdict: 'unknown',
  },
  'an unexpected status names a short error code only': {
    rule: 'stripe-secret-key',
    response: res(418, { error: { code: 'teapot', message: 'I am a teapot with your key sk_test_abc in it' } }),
    verdict: 'unknown',
    reason: /^unexpected answer: HTTP 418, error\.code=teapot$/,
  },
};

describe('judge', () => {
  it.each(Object.entries(CASES))('%s', (_name, c) => {
    const j = judge(checkOf(c.rule, c.variant), c.response, { nowMs: NOW });
    expect(j.verdict, j.reason).toBe(c.verdict);
    if (c.reason) expect(j.reason).toMatch(c.reason);
    expect(j.retryAfterMs).toBe(c.retryAfterMs);
    expect(j.reason).not.toMatch(/sk_test_abc|Sign in|SAML/);
  });

  it('calls an answer matching both live and revoked ambiguous, not revoked', () => {
    const c = LivenessCheck.parse({
      type: 'http',
      request: { method: 'GET', path: '/' },
      live: [{ status: [200], bodyIsJson: true }],
      revoked: [{ status: [200], json: [{ path: 'ok', exists: true }] }],
    });
    expect(judge(c, res(200, { ok: 1 })).verdict).toBe('unknown');
  });

  it('never calls a 5xx or 429 revoked even when a check lists it', () => {
    const c = LivenessCheck.parse({
      type: 'http',
      request: { method: 'GET', path: '/' },
      live: [{ status: [200], bodyIsJson: true }],
      revoked: [{ status: [401, 429, 500, 503] }],
    });
    for (const status of [429, 500, 503]) expect(judge(c, res(status)).verdict).toBe('unknown');
    expect(judge(c, res(401)).verdict).toBe('revoked');
  });
});

describe('judgeRevocation', () => {
  const slack = rules.get('slack-bot-token')!.revocation![0]!;
  const github = rules.get('github-pat')!.revocation![0]!;
  it.each([
    ['Slack ok:true revoked:true', slack, res(200, { ok: true, revoked: true }), 'accepted'],
    ['Slack already dead', slack, res(200, { ok: false, error: 'invalid_auth' }), 'accepted'],
    ['Slack ratelimited', slack, res(200, { ok: false, error: 'ratelimited' }), 'unknown'],
    ['GitHub 202', github, res(202, {}), 'accepted'],
    ['GitHub 422', github, res(422, { message: 'Validation Failed' }), 'rejected'],
    ['GitHub 500', github, res(500), 'unknown'],
    ['GitHub 429', github, res(429, '', { 'retry-after': '60' }), 'unknown'],
  ] as const)('%s -> %s', (_n, plan, response, outcome) => {
    expect(judgeRevocation(RevocationPlan.parse(plan), response).outcome).toBe(outcome);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['30', 30_000],
    [' 12 ', 12_000],
    ['999999', 3_600_000],
    ['soon', undefined],
    [undefined, undefined],
  ] as const)('%j -> %j', (v, ms) => {
    expect(parseRetryAfter(v, NOW)).toBe(ms);
  });
  it('reads a past date as now', () => {
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
  });
});
