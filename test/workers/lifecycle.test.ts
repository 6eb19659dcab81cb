import { describe, expect, it } from 'vitest';
import { isKeywardenError } from '../../errors/error.js';
import { allowedEvents, FindingState, LifecycleEvent, transition } from '../../workers/lifecycle.js';

type S = FindingState;
type E = LifecycleEvent;

/** Every legal edge; every (state, event) pair not listed here must be rejected. */
const LEGAL: Record<string, [S, E, S]> = {
  'a detected key is sent for rotation': ['detected', 'request_rotation', 'rotation_requested'],
  'a detected match judged not a secret': ['detected', 'mark_false_positive', 'false_positive'],
  'a detected key whose risk is accepted': ['detected', 'accept_risk', 'accepted_risk'],
  'a detected key nobody acts on is escalated': ['detected', 'escalate', 'escalated'],
  'a requested rotation that happened': ['rotation_requested', 'rotated', 'rotated'],
  'a rotation request turns out to be a false positive': ['rotation_requested', 'mark_false_positive', 'false_positive'],
  'a rotation request whose risk is accepted instead': ['rotation_requested', 'accept_risk', 'accepted_risk'],
  'a rotation that fails is escalated': ['rotation_requested', 'escalate', 'escalated'],
  'a rotated key gets a revocation check': ['rotated', 'request_revocation_check', 'revocation_pending'],
  'a rotated key confirmed dead at once': ['rotated', 'confirm_revoked', 'revoked'],
  'a rotated key that stays live is escalated': ['rotated', 'escalate', 'escalated'],
  'a pending revocation confirmed': ['revocation_pending', 'confirm_revoked', 'revoked'],
  'a pending revocation that never comes is escalated': ['revocation_pending', 'escalate', 'escalated'],
  'a false positive reopened': ['false_positive', 'reopen', 'detected'],
  'an accepted risk reopened': ['accepted_risk', 'reopen', 'detected'],
  'an accepted risk later rotated after all': ['accepted_risk', 'request_rotation', 'rotation_requested'],
  'an escalated key sent for rotation': ['escalated', 'request_rotation', 'rotation_requested'],
  'an escalated key rotated by hand': ['escalated', 'rotated', 'rotated'],
  'an escalated key confirmed revoked': ['escalated', 'confirm_revoked', 'revoked'],
  'an escalated match judged a false positive': ['escalated', 'mark_false_positive', 'false_positive'],
  'an escalated key whose risk is accepted': ['escalated', 'accept_risk', 'accepted_risk'],
  'a detected key revoked by keywarden at once (selfRevoke: immediately)': ['detected', 'self_revoked', 'revocation_pending'],
  'a requested rotation overtaken by a self-revocation': ['rotation_requested', 'self_revoked', 'revocation_pending'],
  'an escalated key revoked by keywarden at the SLA (selfRevoke: on-sla)': ['escalated', 'self_revoked', 'revocation_pending'],
  'a rotated key that stays live is sent for rotation again': ['rotated', 'request_rotation', 'rotation_requested'],
  'a pending revocation whose key stays live is sent for rotation again': [
    'revocation_pending',
    'request_rotation',
    'rotation_requested',
  ],
  'a rotation reported while a self-revocation is being confirmed': ['revocation_pending', 'rotated', 'revocation_pending'],
};

describe('transition', () => {
  for (const [name, [from, event, to]] of Object.entries(LEGAL)) {
    it(`${name}: ${from} --${event}--> ${to}`, () => {
      expect(transition(from, event)).toBe(to);
    });
  }

  const legal = new Set(Object.values(LEGAL).map(([s, e]) => `${s}/${e}`));
  const illegal = FindingState.options.flatMap((s) =>
    LifecycleEvent.options.filter((e) => !legal.has(`${s}/${e}`)).map((e) => [s, e] as const),
  );

  it.each(illegal)('rejects %s --%s--> with KW_ILLEGAL_TRANSITION', (s, e) => {
    let caught: unknown;
    try {
      transition(s, e);
    } catch (err) {
      caught = err;
    }
    expect(isKeywardenError(caught, 'KW_ILLEGAL_TRANSITION')).toBe(true);
    expect((caught as Error).message).toContain(s);
  });

  it('treats revoked as final and a live key is never marked revoked without a rotation', () => {
    expect(allowedEvents('revoked')).toEqual([]);
    expect(() => transition('detected', 'confirm_revoked')).toThrow(/cannot confirm_revoked/);
  });

  it('the table covers exactly the listed edges', () => {
    const count = FindingState.options.reduce((n, s) => n + allowedEvents(s).length, 0);
    expect(count).toBe(Object.keys(LEGAL).length);
  });
});
