// The agent demo end to end (examples/agent/demo.ts): the real `keywarden scan` finds the leaked key,
// the receiver rotates it under steady load, and no request fails.
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../examples/agent/demo.js';

describe('examples/agent demo', () => {
  it('rotates a leaked key under load: detected, switched with no restart, no failed request, old key revoked', async () => {
    const r = await runDemo({ print: false, clients: 6, refreshInterval: 200, revokeDelay: 600, after: 300 });
    expect(r.detected?.ruleId).toBe('openai-project-key');
    expect(r.failed).toBe(0);
    expect(r.byKey.old).toBeGreaterThan(0);
    expect(r.byKey.new).toBeGreaterThan(0);
    expect(r.byKey.old + r.byKey.new).toBe(r.requests);
    expect(r.callback).toEqual({ revoked: true, note: 'rotated; old key revoked at the provider; new key id key_2' });
    expect(r.oldKeyLive).toBe(false);
    expect(r.newKeyLive).toBe(true);
    expect(r.audit.map((e) => e.event)).toEqual(['rotation.accepted', 'rotation.written', 'rotation.completed']);
  });
});

describe('examples/agent demo in loop mode', () => {
  it('waits for an external signed webhook (as keywarden will send it) and calls back the given API', async () => {
    const { randomBytes } = await import('node:crypto');
    const { execFileSync } = await import('node:child_process');
    const { signatureHeader } = await import('../../runtime/index.js');
    const { readJson, sendJson, startServer } = await import('./helpers.js');
    const webhookSecret = randomBytes(24).toString('base64url');
    const token = randomBytes(16).toString('hex');
    const callbacks: unknown[] = [];
    const api = await startServer(async (req, res) => {
      if (req.headers.authorization !== `Bearer ${token}`) return sendJson(res, 401, {});
      callbacks.push({ url: req.url, body: await readJson(req) });
      sendJson(res, 200, { state: 'rotated' });
    });
    try {
      let commits = '';
      const r = await runDemo({
        print: false,
        clients: 4,
        refreshInterval: 200,
        revokeDelay: 400,
        after: 200,
        loop: {
          webhookSecret,
          publicUrl: api.url,
          timeoutMs: 30_000,
          onReady: async ({ env, repo }) => {
            commits = execFileSync('git', ['log', '--oneline', '-p'], { cwd: repo, encoding: 'utf8' });
            // What keywarden's worker will send for the finding its history scan makes.
            const body = JSON.stringify({
              type: 'rotation.requested',
              id: 'evt_1',
              idempotencyKey: 'rot_1',
              createdAt: new Date().toISOString(),
              finding: {
                fingerprint: 'kw1:abc',
                ruleId: 'openai-project-key',
                provider: 'OpenAI',
                redacted: 'sk-p…',
                firstSeen: '',
                locations: [],
              },
              callback: { url: `${api.url}/v1/findings/kw1%3Aabc/rotated`, token },
            });
            const res = await fetch(env.KEYWARDEN_ROTATION_WEBHOOK_URL, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                'keywarden-signature': signatureHeader(webhookSecret, body, Math.floor(Date.now() / 1000)),
              },
              body,
            });
            expect(res.status).toBe(202);
          },
        },
      });
      expect(commits).toMatch(/\+OPENAI_API_KEY=sk-proj-/);
      expect(r.failed).toBe(0);
      expect(r.oldKeyLive).toBe(false);
      expect(callbacks).toEqual([
        { url: '/v1/findings/kw1%3Aabc/rotated', body: { revoked: true, note: expect.stringContaining('old key revoked') } },
      ]);
    } finally {
      await api.close();
    }
  });
});
