// `npm run demo:loop` as a user runs it from a fresh clone: redis-server, `keywarden serve` and
// `keywarden worker` (this checkout's bin/keywarden.js, built by the test setup), the agent example in
// loop mode. The finding goes detected -> rotation_requested -> rotated -> revoked in `findings show`.
import { describe, expect, it } from 'vitest';
import { runLoopDemo } from '../../examples/loop/demo.js';

describe('examples/loop demo', () => {
  it('watches a leaked key go detected -> rotation_requested -> rotated -> revoked, the agent never failing a request', async () => {
    const r = await runLoopDemo({ print: false, clients: 3 });
    expect(r.states).toEqual(['detected', 'rotation_requested', 'rotated', 'revoked']);
    expect(r.finalState).toBe('revoked');
    expect(r.agentFailed).toBe(0);
    expect(r.agentRequests).toBeGreaterThan(0);
    expect(r.oldKeyLive).toBe(false);
    const shown = r.shown.split('\n');
    expect(shown[0]).toMatch(/^kw1:[0-9a-f]{32} {2}openai-project-key {2}sk-p…\S* {2}revoked {2}\(1 occurrence\)$/);
    expect(shown.slice(1, 5).map((l) => /^\s+\S+Z\s+(\w+)/.exec(l)?.[1])).toEqual(r.states);
    expect(r.shown).toContain('raw secret: deleted: the finding is closed');
  });
});
