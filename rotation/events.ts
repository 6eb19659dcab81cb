// The webhook bodies keywarden sends to rotation targets: `rotation.requested` and
// `rotation.escalated`, as zod schemas (receivers and tests validate against them) and pure builders.
// A body is built field by field from the finding view: no raw secret can get in (docs/rotation.md).
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isFingerprint, MAX_LOCATIONS, type RotationFindingView, type RotationLocation } from './finding-view.js';

export const ROTATION_REQUESTED = 'rotation.requested';
export const ROTATION_ESCALATED = 'rotation.escalated';

export const LocationBody = z
  .object({
    kind: z.string(),
    repo: z.string().nullable(),
    commit: z.string().nullable(),
    path: z.string().nullable(),
    line: z.number().int().nullable(),
    offset: z.number().int().optional(),
    stream: z.string().optional(),
    url: z.string().optional(),
  })
  .strict();
export type LocationBody = z.infer<typeof LocationBody>;

export const FindingBody = z
  .object({
    fingerprint: z.string(),
    ruleId: z.string(),
    provider: z.string(),
    redacted: z.string(),
    firstSeen: z.string(),
    /** At most 20 (the API lists every occurrence). */
    locations: z.array(LocationBody),
  })
  .strict();
export type FindingBody = z.infer<typeof FindingBody>;

export const CallbackBody = z.object({ url: z.string(), token: z.string() }).strict();

export const RotationRequested = z
  .object({
    type: z.literal(ROTATION_REQUESTED),
    /** This event; a later `keywarden rotate` is a new event with the same idempotencyKey. */
    id: z.string(),
    /** One per finding: the same on every retry and every later delivery of this request. */
    idempotencyKey: z.string(),
    createdAt: z.string(),
    finding: FindingBody,
    callback: CallbackBody,
  })
  .strict();
export type RotationRequested = z.infer<typeof RotationRequested>;

/** Where the loop stopped: the webhook could not be delivered, nobody called back, or the key still works. */
export const ESCALATION_STAGES = ['delivery', 'callback', 'revocation'] as const;
export type EscalationStage = (typeof ESCALATION_STAGES)[number];

export const RotationEscalated = z
  .object({
    type: z.literal(ROTATION_ESCALATED),
    id: z.string(),
    /** `<the finding's rotation key>.escalated.<stage>`: not the request's key, so it is not deduplicated away. */
    idempotencyKey: z.string(),
    createdAt: z.string(),
    finding: FindingBody,
    escalation: z
      .object({
        stage: z.enum(ESCALATION_STAGES),
        /** Why, in words; no secret. */
        reason: z.string(),
        /** The SLA deadline that passed (ISO), when the stage has one. */
        deadline: z.string().nullable(),
      })
      .strict(),
    /** Still valid: a receiver that rotates late can still report it. */
    callback: CallbackBody,
  })
  .strict();
export type RotationEscalated = z.infer<typeof RotationEscalated>;

export const WebhookEvent = z.discriminatedUnion('type', [RotationRequested, RotationEscalated]);
export type WebhookEvent = RotationRequested | RotationEscalated;

/** `rot_` + the fingerprint's 32 hex: derived, so every worker, retry and later delivery agrees without storage. */
export function rotationIdempotencyKey(fingerprint: string): string {
  checkFingerprint(fingerprint);
  return `rot_${fingerprint.slice(4)}`;
}

/** The escalation's key; `sequence` counts repeated escalations of one stage (after a new request). */
export function escalationIdempotencyKey(fingerprint: string, stage: EscalationStage, sequence = 1): string {
  return `${rotationIdempotencyKey(fingerprint)}.escalated.${stage}${sequence > 1 ? `.${sequence}` : ''}`;
}

/** `evt_` + 24 random hex digits. */
export function newEventId(): string {
  return `evt_${randomBytes(12).toString('hex')}`;
}

/**
 * `evt_` + 24 hex digits derived from the event's idempotency key and the caller's delivery sequence
 * number (1 for the first request, 2 for a `keywarden rotate` after it, ...): a processor that rebuilds
 * the event after a crash sends the same id without storing the body (which holds a callback token).
 */
export function eventIdFor(idempotencyKey: string, sequence: number): string {
  return `evt_${createHash('sha256').update(`${idempotencyKey}\0${sequence}`).digest('hex').slice(0, 24)}`;
}

/** Where a receiver reports the rotation: from the configured public URL, never from a request. */
export function callbackUrl(publicUrl: string, fingerprint: string): string {
  checkFingerprint(fingerprint);
  return `${publicUrl.replace(/\/+$/, '')}/v1/findings/${fingerprint}/rotated`;
}

export interface EventInput {
  finding: RotationFindingView;
  /** `settings.publicUrl`. */
  publicUrl: string;
  /** A fresh one-time token from `issueCallbackToken` (rotation/callback.ts). */
  callbackToken: string;
  /** @defaultValue a new event id */
  id?: string;
  /** @defaultValue now */
  createdAt?: Date;
}

export function rotationRequested(input: EventInput): RotationRequested {
  return {
    type: ROTATION_REQUESTED,
    id: input.id ?? newEventId(),
    idempotencyKey: rotationIdempotencyKey(input.finding.fingerprint),
    createdAt: (input.createdAt ?? new Date()).toISOString(),
    finding: findingBody(input.finding),
    callback: { url: callbackUrl(input.publicUrl, input.finding.fingerprint), token: input.callbackToken },
  };
}

export interface EscalationInput extends EventInput {
  stage: EscalationStage;
  reason: string;
  /** Epoch ms of the SLA deadline, if the stage has one. */
  deadline?: number;
  /** @defaultValue 1 */
  sequence?: number;
}

export function rotationEscalated(input: EscalationInput): RotationEscalated {
  return {
    type: ROTATION_ESCALATED,
    id: input.id ?? newEventId(),
    idempotencyKey: escalationIdempotencyKey(input.finding.fingerprint, input.stage, input.sequence),
    createdAt: (input.createdAt ?? new Date()).toISOString(),
    finding: findingBody(input.finding),
    escalation: {
      stage: input.stage,
      reason: input.reason,
      deadline: input.deadline === undefined ? null : new Date(input.deadline).toISOString(),
    },
    callback: { url: callbackUrl(input.publicUrl, input.finding.fingerprint), token: input.callbackToken },
  };
}

/** The finding as a body carries it. Field by field: whatever else the caller's object holds stays out. */
export function findingBody(f: RotationFindingView): FindingBody {
  checkFingerprint(f.fingerprint);
  return {
    fingerprint: f.fingerprint,
    ruleId: f.ruleId,
    provider: f.provider,
    redacted: f.redacted,
    firstSeen: f.firstSeen,
    locations: f.locations.slice(0, MAX_LOCATIONS).map(locationBody),
  };
}

function locationBody(l: RotationLocation): LocationBody {
  const out: LocationBody = {
    kind: l.kind,
    repo: l.repo ?? null,
    commit: l.commit ?? null,
    path: l.path ?? null,
    line: l.line ?? null,
  };
  if (l.offset !== undefined) out.offset = l.offset;
  if (l.stream !== undefined) out.stream = l.stream;
  if (l.url !== undefined) out.url = l.url;
  return out;
}

function checkFingerprint(fp: string): void {
  // Guards the callback path and the idempotency key against whatever a caller passes.
  if (!isFingerprint(fp)) throw new RangeError('not a keywarden fingerprint (kw1: followed by 32 hex digits)');
}
