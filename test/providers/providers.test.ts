// Every provider check of the built-in pack against the fake provider (test/helpers/fake-provider.ts):
// a live key reads `live`, a revoked one `revoked`, and a 500, a hang, a garbage body, a redirect or a
// 429 reads `unknown`, never `revoked`. Keys are issued by the fake in each rule's real format (the
// rule's own pattern must find them); self-revocation plans revoke and the check then confirms it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveProviderBaseUrls } from '../../providers/base-urls.js';
import { createLivenessRunner, type LivenessRunner } from '../../providers/runner.js';
import { builtinRules } from '../../rules/builtin.js';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import type { Rule } from '../../rules/schema.js';
import { compilePack } from '../../scanner/engine/compile.js';
import { scanBuffer } from '../../scanner/engine/engine.js';
import { FAKE_VARIANTS, type FakeKey, FakeProvider } from '../helpers/fake-provider.js';

const rules = await builtinRules();
const byId = new Map(rules.map((r) => [r.id, r]));
const pack = compilePack(rules);

let fake: FakeProvider;
let runner: LivenessRunner;
let quick: LivenessRunner;

beforeAll(async () => {
  fake = await FakeProvider.start();
  const baseUrls = resolveProviderBaseUrls(fake.env());
  runner = createLivenessRunner({ baseUrls, timeoutMs: 5000, ruleById: (id) => byId.get(id) });
  // For the hang cases: a short timeout keeps the suite quick.
  quick = createLivenessRunner({ baseUrls, timeoutMs: 150, ruleById: (id) => byId.get(id) });
});
afterAll(async () => {
  await fake.stop();
});

function rule(id: string): Rule {
  const r = byId.get(id);
  if (!r) throw new Error(`no rule ${id}`);
  return r;
}

/** [label, ruleId, variant] for every rule with a liveness check, each fake variant of it apart. */
const cases: Array<[string, string, string | undefined]> = [];

describe('fake provider coverage', () => {
  it('issues keys for every rule that carries a liveness check or a revocation plan, and for nothing else', async () => {
    const f = await FakeProvider.start();
    try {
      const withChecks = rules
        .filter((r) => r.liveness || r.revocation)
        .map((r) => r.id)
        .sort();
      expect(f.kinds().sort()).toEqual(withChecks);
    } finally {
      await f.stop();
    }
  });
});

for (const r of rules) {
  if (!r.liveness) continue;
  const variants = FAKE_VARIANTS[r.id] ?? [undefined];
  for (const v of variants) cases.push([v ? `${r.id} (${v})` : r.id, r.id, v]);
}

function issue(ruleId: string, variant: string | undefined): FakeKey {
  return fake.issue(ruleId, variant ? { variant } : {});
}

/** The rule's own pattern finds the issued key in one of its examples (the key has the real format). */
function foundByRule(r: Rule, secret: string): boolean {
  const index = rules.indexOf(r);
  return r.examples.some((template, n) => {
    const ex = expandTemplate(template, { checksum: r.checksum, rng: seededRng(n + 1) });
    if (!ex.secret) return false;
    const text = ex.text.replace(ex.secret, secret);
    return scanBuffer(pack, Buffer.from(text)).some((m) => m.ruleIndex === index && m.secret === secret);
  });
}

describe.each(cases)('%s', (_label, ruleId, variant) => {
  it('issues a key in the rule format', () => {
    const key = issue(ruleId, variant);
    expect(foundByRule(rule(ruleId), key.secret), key.secret.slice(0, 12)).toBe(true);
  });

  it('reads a live key as live and a revoked one as revoked', async () => {
    const key = issue(ruleId, variant);
    const live = await runner.check({ rule: rule(ruleId), secret: key.secret, parts: key.parts });
    expect(live.verdict, live.reason).toBe('live');
    expect(live.reason).not.toContain(key.secret);
    fake.revoke(key.secret);
    const dead = await runner.check({ rule: rule(ruleId), secret: key.secret, parts: key.parts });
    expect(dead.verdict, dead.reason).toBe('revoked');
    expect(dead.status).toBeGreaterThanOrEqual(200);
    expect(JSON.stringify(dead)).not.toContain(key.secret);
  });

  it('never reads a 500, a hang, a garbage body or a redirect as revoked', async () => {
    // Its own runner: the 503's Retry-After blocks the provider in the runner that saw it.
    const runner = createLivenessRunner({
      baseUrls: resolveProviderBaseUrls(fake.env()),
      timeoutMs: 5000,
      ruleById: (id) => byId.get(id),
    });
    const key = issue(ruleId, variant);
    fake.revoke(key.secret);
    const provider = key.provider;
    const failures = [
      { kind: 'status', status: 500 },
      { kind: 'garbage' },
      { kind: 'redirect', location: 'http://127.0.0.1:9/elsewhere' },
      { kind: 'status', status: 503, headers: { 'retry-after': '7' } },
    ] as const;
    for (const failure of failures) {
      fake.fail(provider, failure, { times: 1 });
      const r = await runner.check({ rule: rule(ruleId), secret: key.secret, parts: key.parts });
      expect(r.verdict, `${failure.kind}: ${r.reason}`).toBe('unknown');
      expect(r.retryable).toBe(true);
    }
    fake.fail(provider, { kind: 'hang' }, { times: 1 });
    const hung = await quick.check({ rule: rule(ruleId), secret: key.secret, parts: key.parts });
    expect(hung.verdict).toBe('unknown');
    expect(hung.reason).toMatch(/no answer within 150 ms/);
    fake.clearFailures();
  });
});

describe('self-revocation', () => {
  const revocable = rules.filter((r) => r.revocation).map((r) => r.id);

  it('covers GitHub, Slack and GitLab', () => {
    expect(new Set(revocable.map((id) => rule(id).provider))).toEqual(new Set(['GitHub', 'Slack', 'GitLab']));
  });

  it.each(revocable)('%s: the provider accepts the revocation and the liveness check confirms it', async (ruleId) => {
    const key = issue(ruleId, undefined);
    const r = await runner.revoke({ rule: rule(ruleId), secret: key.secret, parts: key.parts });
    expect(r.outcome, r.reason).toBe('accepted');
    expect(fake.isLive(key.secret)).toBe(false);
    if (rule(ruleId).liveness) {
      const c = await runner.check({ rule: rule(ruleId), secret: key.secret, parts: key.parts });
      expect(c.verdict, c.reason).toBe('revoked');
    }
  });

  it('sends GitHub credential revocation unauthenticated, as the API requires', async () => {
    const key = issue('github-pat', undefined);
    const r = await runner.revoke({ rule: rule('github-pat'), secret: key.secret });
    expect(r.status).toBe(202);
  });

  it('reads a rule without a plan as unknown, not retryable', async () => {
    const key = issue('stripe-secret-key', undefined);
    const r = await runner.revoke({ rule: rule('stripe-secret-key'), secret: key.secret });
    expect(r).toMatchObject({ outcome: 'unknown', retryable: false });
  });
});

describe('pairs', () => {
  it('reads an AWS key id with the wrong secret as unknown (SignatureDoesNotMatch), not revoked', async () => {
    const key = issue('aws-access-key-id', undefined);
    const other = issue('aws-access-key-id', undefined);
    const r = await runner.check({ rule: rule('aws-access-key-id'), secret: key.secret, parts: { secret: other.parts.secret } });
    expect(r.verdict).toBe('unknown');
    expect(r.reason).toContain('Code=SignatureDoesNotMatch');
  });

  it('reads an ended AWS session as revoked (ExpiredToken)', async () => {
    const key = issue('aws-sts-access-key-id', undefined);
    fake.revoke(key.secret, { expire: true });
    const r = await runner.check({ rule: rule('aws-sts-access-key-id'), secret: key.secret, parts: key.parts });
    expect(r.verdict, r.reason).toBe('revoked');
    expect(r.reason).toContain('Code=ExpiredToken');
  });

  it('marks pair checks whose 401 cannot tell a wrong partner from a dead key as after-live', async () => {
    const key = issue('twilio-auth-token', undefined);
    const r = await runner.check({ rule: rule('twilio-auth-token'), secret: key.secret, parts: key.parts });
    expect(r.revokedTrust).toBe('after-live');
  });

  it('does not call a Datadog application key revoked while its API key is the dead half', async () => {
    const key = issue('datadog-application-key', undefined);
    fake.revoke(key.parts.apiKey!);
    const r = await runner.check({ rule: rule('datadog-application-key'), secret: key.secret, parts: key.parts });
    expect(r.verdict, r.reason).toBe('unknown');
    expect(r.reason).toMatch(/part "apiKey" is not confirmed live/);
    expect(r.reason).not.toContain(key.parts.apiKey);
  });

  it('says which part is missing, and that asking again will not help', async () => {
    const key = issue('aws-access-key-id', undefined);
    const r = await runner.check({ rule: rule('aws-access-key-id'), secret: key.secret });
    expect(r).toMatchObject({ verdict: 'unknown', retryable: false });
    expect(r.reason).toContain('missing part "secret"');
  });
});
