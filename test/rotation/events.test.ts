import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { issueCallbackToken } from '../../rotation/callback.js';
import {
  callbackUrl,
  escalationIdempotencyKey,
  eventIdFor,
  RotationEscalated,
  RotationRequested,
  rotationEscalated,
  rotationIdempotencyKey,
  rotationRequested,
} from '../../rotation/events.js';
import { MAX_LOCATIONS } from '../../rotation/finding-view.js';
import { escapeSlack, notification } from '../../rotation/notification.js';
import { finding, randomFingerprint } from './fixtures.js';

const publicUrl = 'https://keywarden.example.com';
const createdAt = new Date('2026-03-04T05:06:07.000Z');

describe('rotation.requested body', () => {
  it('has exactly the fields the contract spells, in that shape', () => {
    const f = finding();
    const hex = f.fingerprint.slice(4);
    const body = rotationRequested({ finding: f, publicUrl, callbackToken: 'kwcb_token', id: 'evt_1', createdAt });
    expect(body).toEqual({
      type: 'rotation.requested',
      id: 'evt_1',
      idempotencyKey: `rot_${hex}`,
      createdAt: '2026-03-04T05:06:07.000Z',
      finding: {
        fingerprint: f.fingerprint,
        ruleId: 'github-pat',
        provider: 'GitHub',
        redacted: 'ghp_…a1b2',
        firstSeen: '2026-01-02T03:04:05.000Z',
        locations: [
          {
            kind: 'git',
            repo: 'github.com/acme/app',
            commit: 'c0ffee0123456789c0ffee0123456789c0ffee01',
            path: 'src/config.ts',
            line: 12,
          },
        ],
      },
      callback: { url: `https://keywarden.example.com/v1/findings/${f.fingerprint}/rotated`, token: 'kwcb_token' },
    });
    expect(RotationRequested.safeParse(body).success).toBe(true);
  });

  it('gives every location kind, repo, commit, path and line (null when they do not apply), plus its own fields', () => {
    const f = finding({
      locations: [
        { kind: 'file', repo: '/srv/app', path: '.env', line: 2 },
        { kind: 'dump', repo: '/var/crash/core.1', offset: 4096 },
        { kind: 'log', stream: 'web/nginx', line: 77 },
        {
          kind: 'github-alert',
          repo: 'github.com/acme/app',
          path: 'a.ts',
          line: 1,
          url: 'https://github.com/acme/app/security/secret-scanning/3',
        },
      ],
    });
    expect(rotationRequested({ finding: f, publicUrl, callbackToken: 't' }).finding.locations).toEqual([
      { kind: 'file', repo: '/srv/app', commit: null, path: '.env', line: 2 },
      { kind: 'dump', repo: '/var/crash/core.1', commit: null, path: null, line: null, offset: 4096 },
      { kind: 'log', repo: null, commit: null, path: null, line: 77, stream: 'web/nginx' },
      {
        kind: 'github-alert',
        repo: 'github.com/acme/app',
        commit: null,
        path: 'a.ts',
        line: 1,
        url: 'https://github.com/acme/app/security/secret-scanning/3',
      },
    ]);
  });

  it('the idempotency key is one per finding: the same for every event id, token and time', () => {
    const f = finding();
    const a = rotationRequested({ finding: f, publicUrl, callbackToken: 'a' });
    const b = rotationRequested({
      finding: { ...f, locations: [] },
      publicUrl: 'http://127.0.0.1:1',
      callbackToken: 'b',
      createdAt: new Date(0),
    });
    expect(a.id).not.toBe(b.id);
    expect(a.idempotencyKey).toBe(b.idempotencyKey);
    expect(a.idempotencyKey).toBe(rotationIdempotencyKey(f.fingerprint));
    expect(rotationIdempotencyKey(randomFingerprint())).not.toBe(a.idempotencyKey);
  });

  it('event ids can be derived, so a rebuilt event after a crash keeps its id', () => {
    const key = rotationIdempotencyKey(randomFingerprint());
    expect(eventIdFor(key, 1)).toMatch(/^evt_[0-9a-f]{24}$/);
    expect(eventIdFor(key, 1)).toBe(eventIdFor(key, 1));
    expect(eventIdFor(key, 2)).not.toBe(eventIdFor(key, 1));
    expect(eventIdFor(rotationIdempotencyKey(randomFingerprint()), 1)).not.toBe(eventIdFor(key, 1));
  });

  it('never carries the raw secret, even when the caller passes a whole scanner finding', () => {
    const secret = `ghp_${randomBytes(18).toString('hex')}`;
    const leaky = {
      ...finding(),
      secret,
      description: 'GitHub token',
      locations: [{ kind: 'file', path: 'x', line: 1, secret }],
    };
    const { token } = issueCallbackToken(null, { now: 0, ttlMs: 1000 });
    const bodies = [
      rotationRequested({ finding: leaky, publicUrl, callbackToken: token }),
      rotationEscalated({ finding: leaky, publicUrl, callbackToken: token, stage: 'delivery', reason: 'r' }),
      notification(leaky, { kind: 'detected' }),
      notification(leaky, { kind: 'escalated', stage: 'revocation', reason: 'still live' }),
    ];
    for (const b of bodies) expect(JSON.stringify(b)).not.toContain(secret);
  });

  it('lists at most 20 locations', () => {
    const locations = Array.from({ length: 50 }, (_, i) => ({ kind: 'log', stream: 's', line: i + 1 }));
    const body = rotationRequested({ finding: finding({ locations, occurrences: 10_000 }), publicUrl, callbackToken: 't' });
    expect(body.finding.locations).toHaveLength(MAX_LOCATIONS);
  });

  it('builds the callback URL from the configured base only, and refuses what is not a fingerprint', () => {
    const fp = randomFingerprint();
    expect(callbackUrl('https://k.example.com/base/', fp)).toBe(`https://k.example.com/base/v1/findings/${fp}/rotated`);
    for (const bad of ['kw1:../../admin', 'kw1:ABCDEF', `${fp}/x`, '']) {
      expect(() => callbackUrl(publicUrl, bad)).toThrow(/not a keywarden fingerprint/);
      expect(() => rotationRequested({ finding: finding({ fingerprint: bad }), publicUrl, callbackToken: 't' })).toThrow(
        RangeError,
      );
    }
  });
});

describe('rotation.escalated body', () => {
  it('has the request fields, the escalation, and its own idempotency key per stage', () => {
    const f = finding();
    const hex = f.fingerprint.slice(4);
    const body = rotationEscalated({
      finding: f,
      publicUrl,
      callbackToken: 'kwcb_t',
      id: 'evt_2',
      createdAt,
      stage: 'callback',
      reason: 'no callback within the 24h SLA',
      deadline: Date.parse('2026-03-05T05:06:07.000Z'),
    });
    expect(body).toEqual({
      type: 'rotation.escalated',
      id: 'evt_2',
      idempotencyKey: `rot_${hex}.escalated.callback`,
      createdAt: '2026-03-04T05:06:07.000Z',
      finding: expect.objectContaining({ fingerprint: f.fingerprint }),
      escalation: { stage: 'callback', reason: 'no callback within the 24h SLA', deadline: '2026-03-05T05:06:07.000Z' },
      callback: { url: `${publicUrl}/v1/findings/${f.fingerprint}/rotated`, token: 'kwcb_t' },
    });
    expect(RotationEscalated.safeParse(body).success).toBe(true);
    expect(escalationIdempotencyKey(f.fingerprint, 'delivery')).toBe(`rot_${hex}.escalated.delivery`);
    expect(escalationIdempotencyKey(f.fingerprint, 'revocation', 2)).toBe(`rot_${hex}.escalated.revocation.2`);
    expect(
      rotationEscalated({ finding: f, publicUrl, callbackToken: 't', stage: 'delivery', reason: 'r' }).escalation.deadline,
    ).toBeNull();
  });
});

describe('notification text (Slack-compatible)', () => {
  it('is text only: what, where, what happens next; no token, no callback', () => {
    const f = finding({ occurrences: 3 });
    const n = notification(f, { kind: 'rotation-requested', targets: ['platform', 'default'] });
    expect(Object.keys(n)).toEqual(['text']);
    expect(n.text).toBe(
      [
        'keywarden found a leaked GitHub credential (rule github-pat, preview ghp_…a1b2) and requested its rotation from platform, default.',
        'Seen in github.com/acme/app src/config.ts:12 commit c0ffee012345 and 2 more places.',
        `First seen 2026-01-02T03:04:05.000Z. Fingerprint ${f.fingerprint}.`,
        `Follow it with: keywarden findings show ${f.fingerprint}`,
      ].join('\n'),
    );
    expect(n.text).not.toContain('/rotated');
  });

  it('says when a human must rotate, and when the loop escalated', () => {
    const f = finding({ locations: [{ kind: 'log', stream: 'web/api', line: 4 }] });
    expect(notification(f, { kind: 'detected' }).text).toContain('No automatic rotation: rotate the key, then close the finding');
    expect(
      notification(f, { kind: 'escalated', stage: 'revocation', reason: 'the provider still accepts the key' }).text.split(
        '\n',
      )[0],
    ).toBe(
      'ESCALATED (revocation): keywarden could not close a leaked GitHub credential (rule github-pat, preview ghp_…a1b2): the provider still accepts the key',
    );
  });

  it('escapes scanned text so a file name cannot make links or mentions', () => {
    const f = finding({
      locations: [{ kind: 'file', repo: '/r', path: '<!channel> <https://evil.example|click> & co', line: 1 }],
    });
    const text = notification(f, { kind: 'detected' }).text;
    expect(text).toContain('&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; co');
    expect(text).not.toMatch(/<[!h]/);
    expect(escapeSlack('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
  });
});
