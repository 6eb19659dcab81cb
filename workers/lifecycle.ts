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
  /** keywarden asked the provider to revoke the key itself (policy `selfRevoke`); the liveness check confirms it. */
  'self_revoked',
]);
export type LifecycleEvent = z.infer<typeof LifecycleEvent>;

/** States whose entry deletes the finding's raw secret (the vault record): the finding is closed. */
export const CLOSED_STATES: readonly FindingState[] = ['revoked', 'false_positive', 'accepted_risk'];

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
 * revocation is confirmed only after a rotation or a self-revocation (a live key is never marked dead
 * by hand straight from `detected`); judgement calls (false positive, accepted risk) are possible
 * until the rotation actually happened, after which the key is known to be real; a finding never
 * escalates twice in a row (the escalation is already with a human). Each edge says why it exists.
 */
const TABLE: Readonly<Record<FindingState, Partial<Record<LifecycleEvent, FindingState>>>> = {
  detected: {
    // The policy (or `keywarden rotate`) sends the rotation webhook.
    request_rotation: 'rotation_requested',
    // A human looked and it is not a secret, or the risk is taken knowingly.
    mark_false_positive: 'false_positive',
    accept_risk: 'accepted_risk',
    // Nothing can be done automatically (a check that cannot run, a revoked answer not to be trusted).
    escalate: 'escalated',
    // `selfRevoke: immediately`: keywarden revoked it at the provider as soon as it was recorded.
    self_revoked: 'revocation_pending',
  },
  rotation_requested: {
    // The receiver called back: a new key is in place.
    rotated: 'rotated',
    // Still a judgement call: nothing was rotated yet.
    mark_false_positive: 'false_positive',
    accept_risk: 'accepted_risk',
    // Undeliverable webhook, or no callback within the SLA.
    escalate: 'escalated',
    // `selfRevoke: immediately` after the request went out.
    self_revoked: 'revocation_pending',
  },
  rotated: {
    // The first liveness check found the old key still working: keep checking.
    request_revocation_check: 'revocation_pending',
    // The provider rejects the old key (or, for a rule without a check, a human says so with a reason).
    confirm_revoked: 'revoked',
    // No confirmation is possible (the check cannot run) or the SLA passed.
    escalate: 'escalated',
    // The rotation did not take (the old key stays live): `keywarden rotate` asks again.
    request_rotation: 'rotation_requested',
  },
  revocation_pending: {
    confirm_revoked: 'revoked',
    // The SLA passed with the key still live (or unknown).
    escalate: 'escalated',
    // A receiver reports its rotation while keywarden is already confirming a self-revocation:
    // recorded, and the confirmation goes on.
    rotated: 'revocation_pending',
    // The key stays live: `keywarden rotate` asks the owner again.
    request_rotation: 'rotation_requested',
  },
  // Final: the provider said the key no longer works.
  revoked: {},
  false_positive: { reopen: 'detected' },
  accepted_risk: { reopen: 'detected', request_rotation: 'rotation_requested' },
  escalated: {
    // A human (or `keywarden rotate`) sends the request again.
    request_rotation: 'rotation_requested',
    // A late receiver still reports its rotation.
    rotated: 'rotated',
    // Checks go on after the escalation: a key revoked later still closes the finding.
    confirm_revoked: 'revoked',
    mark_false_positive: 'false_positive',
    accept_risk: 'accepted_risk',
    // `selfRevoke: on-sla`: keywarden revokes it when the SLA passes.
    self_revoked: 'revocation_pending',
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

/**
 * The event that `findings resolve --as <state>` stands for. `revoked` is a human's confirm_revoked
 * with a reason: how a finding whose rule has no liveness check is closed.
 */
export const RESOLUTIONS = {
  false_positive: 'mark_false_positive',
  accepted_risk: 'accept_risk',
  revoked: 'confirm_revoked',
} as const satisfies Partial<Record<FindingState, LifecycleEvent>>;
export type Resolution = keyof typeof RESOLUTIONS;
