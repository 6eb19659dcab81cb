import { describe, expect, it } from 'vitest';
import {
  bearerToken,
  CallbackRequest,
  CallbackTokens,
  checkCallbackToken,
  describeCallback,
  issueCallbackToken,
  MAX_LIVE_TOKENS,
} from '../../rotation/callback.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const TTL = 3_600_000;

describe('one-time callback tokens', () => {
  it('keeps only a hash: the token appears nowhere in the stored state', () => {
    const { token, tokenId, state } = issueCallbackToken(null, { now: T0, ttlMs: TTL });
    expect(token).toMatch(/^kwcb_[A-Za-z0-9_-]{43}$/);
    const stored = JSON.stringify(state);
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(token.slice(5));
    expect(CallbackTokens.parse(JSON.parse(stored))).toEqual(state);
    expect(state.tokens).toEqual([
      { id: tokenId, hash: expect.stringMatching(/^[0-9a-f]{64}$/), issuedAt: T0, expiresAt: T0 + TTL },
    ]);
  });

  it('is random: two issues never share a token', () => {
    const a = issueCallbackToken(null, { now: T0, ttlMs: TTL });
    const b = issueCallbackToken(null, { now: T0, ttlMs: TTL });
    expect(a.token).not.toBe(b.token);
  });

  it('accepts the right token once, then refuses it as used (403), without the token in the audit', () => {
    const { token, tokenId, state } = issueCallbackToken(null, { now: T0, ttlMs: TTL });
    const first = checkCallbackToken(state, token, T0 + 1000);
    expect(first).toMatchObject({ ok: true, tokenId });
    if (!first.ok) return;
    expect(first.attempt).toEqual({
      at: '2026-01-01T00:00:01.000Z',
      outcome: 'accepted',
      reason: null,
      tokenId,
      summary: `callback accepted (token ${tokenId})`,
    });
    const again = checkCallbackToken(first.state, token, T0 + 2000);
    expect(again).toMatchObject({ ok: false, reason: 'used', status: 403 });
    expect(again.attempt.summary).toBe(`callback rejected: token already used (token ${tokenId})`);
    for (const a of [first.attempt, again.attempt]) expect(JSON.stringify(a)).not.toContain(token);
  });

  const { token: good, state } = issueCallbackToken(null, { now: T0, ttlMs: TTL });
  const other = issueCallbackToken(null, { now: T0, ttlMs: TTL }).token;
  const cases: Record<
    string,
    { state: CallbackTokens | null; presented: string | undefined; now?: number; reason: string; status: number }
  > = {
    'no token': { state, presented: undefined, reason: 'missing', status: 401 },
    'an empty token': { state, presented: '', reason: 'missing', status: 401 },
    'not a callback token': { state, presented: 'hunter2', reason: 'malformed', status: 401 },
    "another finding's token": { state, presented: other, reason: 'unknown', status: 401 },
    'a token one character off': {
      state,
      presented: `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`,
      reason: 'unknown',
      status: 401,
    },
    'a finding with no tokens (answers like a wrong token)': { state: null, presented: good, reason: 'unknown', status: 401 },
    'an expired token': { state, presented: good, now: T0 + TTL, reason: 'expired', status: 403 },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(`refuses ${name}`, () => {
      const r = checkCallbackToken(c.state, c.presented, c.now ?? T0 + 1);
      expect(r).toMatchObject({ ok: false, reason: c.reason, status: c.status });
      expect(r.attempt.outcome).toBe('rejected');
      if (c.presented) expect(JSON.stringify(r.attempt)).not.toContain(c.presented);
    });
  }

  it('a retried delivery gets a new token, and either one may call back (once)', () => {
    const a = issueCallbackToken(null, { now: T0, ttlMs: TTL });
    const b = issueCallbackToken(a.state, { now: T0 + 5000, ttlMs: TTL });
    expect(b.state.tokens).toHaveLength(2);
    const viaFirst = checkCallbackToken(b.state, a.token, T0 + 6000);
    expect(viaFirst.ok).toBe(true);
    if (!viaFirst.ok) return;
    // Once one is used, the other is spent too: a finding is rotated once.
    expect(checkCallbackToken(viaFirst.state, b.token, T0 + 7000)).toMatchObject({ ok: false, reason: 'used' });
  });

  it('a new request after a used token starts a fresh set; old tokens become unknown', () => {
    const a = issueCallbackToken(null, { now: T0, ttlMs: TTL });
    const used = checkCallbackToken(a.state, a.token, T0 + 1);
    if (!used.ok) throw new Error('expected ok');
    const b = issueCallbackToken(used.state, { now: T0 + 10, ttlMs: TTL });
    expect(b.state.used).toBeNull();
    expect(checkCallbackToken(b.state, a.token, T0 + 20)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(checkCallbackToken(b.state, b.token, T0 + 20).ok).toBe(true);
  });

  it(`keeps at most ${MAX_LIVE_TOKENS} live tokens and drops expired ones`, () => {
    let s: CallbackTokens | null = null;
    const tokens: string[] = [];
    const n = MAX_LIVE_TOKENS + 2;
    for (let i = 0; i < n; i++) {
      const r = issueCallbackToken(s, { now: T0 + i, ttlMs: TTL });
      s = r.state;
      tokens.push(r.token);
    }
    expect(s?.tokens).toHaveLength(MAX_LIVE_TOKENS);
    expect(checkCallbackToken(s, tokens[0], T0 + n + 20)).toMatchObject({ reason: 'unknown' });
    expect(checkCallbackToken(s, tokens[n - 1], T0 + n + 20).ok).toBe(true);
    const later = issueCallbackToken(s, { now: T0 + TTL + n + 100, ttlMs: TTL });
    expect(later.state.tokens).toHaveLength(1);
  });
});

describe('the callback request', () => {
  const bearer: Record<string, string | null> = {
    'Bearer kwcb_abc': 'kwcb_abc',
    'bearer   kwcb_abc  ': 'kwcb_abc',
    'Basic kwcb_abc': null,
    Bearer: null,
    'Bearer a b': null,
  };
  for (const [h, want] of Object.entries(bearer))
    it(`Authorization ${JSON.stringify(h)} -> ${want}`, () => expect(bearerToken(h)).toBe(want));
  it('no Authorization header -> null', () => expect(bearerToken(undefined)).toBeNull());

  it('takes optional revoked and note, ignores other fields, refuses wrong types', () => {
    expect(CallbackRequest.parse({})).toEqual({});
    expect(CallbackRequest.parse({ revoked: true, note: 'rotated by CI run 42', extra: 1 })).toEqual({
      revoked: true,
      note: 'rotated by CI run 42',
    });
    expect(CallbackRequest.safeParse({ revoked: 'yes' }).success).toBe(false);
    expect(CallbackRequest.safeParse({ note: 'x'.repeat(2001) }).success).toBe(false);
  });

  it('audits revoked: true as a claim, not a confirmation', () => {
    expect(describeCallback({ revoked: true, note: ' run 42 ' }, 'abc123')).toBe(
      'rotated, reported by receiver (token abc123); claims the old key is revoked (unconfirmed: the provider decides); note: run 42',
    );
    expect(describeCallback({ revoked: false }, null)).toBe(
      'rotated, reported by admin token; says the old key is not revoked yet',
    );
    expect(describeCallback({}, 'abc123')).toBe('rotated, reported by receiver (token abc123)');
  });
});
