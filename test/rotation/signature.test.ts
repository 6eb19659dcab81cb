import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifySignature } from '../../rotation/signature.js';

const secret = 'whsec-test-0123456789abcdef';
const body = '{"type":"rotation.requested","id":"evt_1"}';

describe('rotation webhook signature', () => {
  it('signs t=<seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>', () => {
    const want = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(signatureHeader(secret, body, 1_700_000_000)).toBe(`t=1700000000,v1=${want}`);
  });

  const cases: Record<string, { header: string | undefined; now?: number; secrets?: string[]; want: unknown }> = {
    'accepts its own signature': { header: signatureHeader(secret, body, 1000), now: 1000, want: { ok: true, timestamp: 1000 } },
    'accepts any of several secrets (roll-over)': {
      header: signatureHeader(secret, body, 1000),
      now: 1000,
      secrets: ['another-secret-000000', secret],
      want: { ok: true, timestamp: 1000 },
    },
    'refuses a missing header': { header: undefined, want: { ok: false, reason: 'missing' } },
    'refuses a header without v1': { header: 't=1000', now: 1000, want: { ok: false, reason: 'malformed' } },
    'refuses a replay outside the tolerance': {
      header: signatureHeader(secret, body, 1000),
      now: 1000 + 301,
      want: { ok: false, reason: 'expired' },
    },
    'refuses another secret': {
      header: signatureHeader('not-the-secret-000000', body, 1000),
      now: 1000,
      want: { ok: false, reason: 'mismatch' },
    },
    'refuses a changed timestamp': {
      header: signatureHeader(secret, body, 1000).replace('t=1000', 't=1001'),
      now: 1000,
      want: { ok: false, reason: 'mismatch' },
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      expect(verifySignature(c.secrets ?? secret, body, c.header, c.now === undefined ? {} : { now: c.now })).toEqual(c.want);
    });
  }

  it('refuses a body changed by one byte', () => {
    const h = signatureHeader(secret, body, 1000);
    expect(verifySignature(secret, `${body} `, h, { now: 1000 })).toEqual({ ok: false, reason: 'mismatch' });
  });
});
