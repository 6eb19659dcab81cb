// The finding lifecycle as a pure state machine: `transition(state, event)` returns the next state or
// throws KW_ILLEGAL_TRANSITION. The store persists what it returns, with an audit event per change.
import { z } from 'zod';
import { KeywardenError } from '../errors/error.js';
import { FindingState } from '../model/finding.js';

// The states are the finding model's (model/finding.ts); this module owns the moves between them.
export { FindingState };

export const LifecycleEvent = z.enum([
  /** Ask the owner (or the rotation webhook) to rotate the key. */
  'request_rotation',
  /** A new key is in place; the old one may still work. */
  'rotated',
  /** Start checking that the old key no longer works. */
  'request_revocation_check',
  /** The provider rejects the old key: the finding is closed. */
  'confirm_revoked',
  /** A human judged the match not to be a secret. */
  'mark_false_positive',
  /** A human accepts the risk of leaving the key as it is. */
  'accept_risk',
  /** Rotation or revocation failed or took too long: a human must act. */
  'escalate',
  /** A closed-by-judgement finding is looked at again. */
  'reopen',
]);
export type LifecycleEvent = z.infer<typeof LifecycleEvent>;

/** States in which the key may still work: what the age figures count. */
export const OPEN_STATES: readonly FindingState[] = [
  'detected',
  'rotation_requested',
  'rotated',
  'revocation_pending',
  'escalated',
];

export function isOpen(state: FindingState): boolean {
  return OPEN_STATES.includes(state);
}

/**
 * Every legal (state, event) → next state. Anything absent is illegal. Why the edges are these:
 * revocation is confirmed only after a rotation (a live key is never marked dead by hand);
 * judgement calls (false positive, accepted risk) are possible until the rotation actually happened,
 * after which the key is known to be real.
 */
const TABLE: Readonly<Record<FindingState, Partial<Record<LifecycleEvent, FindingState>>>> = {
  detected: {
    request_rotation: 'rotation_requested',
    mark_false_positive: 'false_positive',
    accept_risk: 'accepted_risk',
    escalate: 'escalated',
  },
  rotation_requested: {
    rotated: 'rotated',
    mark_false_positive: 'false_positive',
    accept_risk: 'accepted_risk',
    escalate: 'escalated',
  },
  rotated: { request_revocation_check: 'revocation_pending', confirm_revoked: 'revoked', escalate: 'escalated' },
  revocation_pending: { confirm_revoked: 'revoked', escalate: 'escalated' },
  revoked: {},
  false_positive: { reopen: 'detected' },
  accepted_risk: { reopen: 'detected', request_rotation: 'rotation_requested' },
  escalated: {
    request_rotation: 'rotation_requested',
    rotated: 'rotated',
    confirm_revoked: 'revoked',
    mark_false_positive: 'false_positive',
    accept_risk: 'accepted_risk',
  },
};

/** The next state, or throws `KW_ILLEGAL_TRANSITION`. Pure: no clock, no I/O. */
export function transition(state: FindingState, event: LifecycleEvent): FindingState {
  const next = TABLE[state][event];
  if (next === undefined) {
    const allowed = allowedEvents(state);
    throw new KeywardenError('KW_ILLEGAL_TRANSITION', `cannot ${event} a finding in state ${state}`, [
      allowed.length > 0 ? `allowed from ${state}: ${allowed.join(', ')}` : `${state} is final`,
    ]);
  }
  return next;
}

export function allowedEvents(state: FindingState): LifecycleEvent[] {
  return Object.keys(TABLE[state]) as LifecycleEvent[];
}

/** The event that `findings resolve --as <state>` stands for. */
export const RESOLUTIONS = { false_positive: 'mark_false_positive', accepted_risk: 'accept_risk' } as const satisfies Partial<
  Record<FindingState, LifecycleEvent>
>;
export type Resolution = keyof typeof RESOLUTIONS;
