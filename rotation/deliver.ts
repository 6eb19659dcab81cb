// The HTTP edge of rotation: POST one signed webhook to one configured target, classify the answer,
// and retry with exponential backoff. Only a RotationTarget from the settings can be a destination (never
// a URL from a finding or a request); redirects are not followed; the body is fixed before the first
// try, so every retry carries the same bytes and Idempotency-Key, re-signed with a fresh timestamp.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { DeliverySettings, RotationTarget } from '../config/sections/rotation.js';
import type { WebhookEvent } from './events.js';
import type { NotificationBody } from './notification.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const USER_AGENT = 'keywarden-webhook/1';

/** A body ready to send: serialised once, so retries send the same bytes. */
export interface WebhookPayload {
  /** `rotation.requested`, `rotation.escalated` or `notification`. */
  readonly type: string;
  readonly idempotencyKey: string;
  readonly rawBody: Buffer;
}

export function rotationPayload(event: WebhookEvent): WebhookPayload {
  return { type: event.type, idempotencyKey: event.idempotencyKey, rawBody: Buffer.from(JSON.stringify(event), 'utf8') };
}

/** A notification carries the key of the event it is about (or the finding's rotation key). */
export function notificationPayload(idempotencyKey: string, body: NotificationBody): WebhookPayload {
  return { type: 'notification', idempotencyKey, rawBody: Buffer.from(JSON.stringify({ text: body.text }), 'utf8') };
}

export type AttemptResult =
  | { outcome: 'delivered'; status: number }
  | {
      outcome: 'retry';
      cause: 'timeout' | 'connection' | 'status';
      status: number | null;
      /** From Retry-After (seconds or HTTP date), before capping. */
      retryAfterMs: number | null;
      /** An error code such as ECONNREFUSED; never a URL (a Slack URL is a credential). */
      error: string | null;
    }
  | { outcome: 'rejected'; cause: 'status' | 'redirect'; status: number };

export type AttemptRecord = AttemptResult & {
  /** 1-based. */
  attempt: number;
  /** ISO time the try started. */
  at: string;
  durationMs: number;
};

/** Retry-After as milliseconds from `nowMs`: delay-seconds or an HTTP date; null if absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return null;
  const s = v.trim();
  if (/^\d{1,10}$/.test(s)) return Number(s) * 1000;
  // An HTTP date has a weekday or month name and a time of day; Date.parse alone reads "-5" as a year.
  if (!/[A-Za-z]{3}/.test(s) || !/\d{1,2}:\d{2}:\d{2}/.test(s)) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : Math.max(0, t - nowMs);
}

/**
 * The answer's meaning: 2xx delivered; 408, 429 and 5xx worth another try (the receiver is busy or
 * broken for now); 3xx rejected (a redirect is not followed: the target is what was configured);
 * every other status final, since the receiver refused this request and will refuse it again.
 */
export function classifyStatus(status: number, retryAfter: string | string[] | undefined, nowMs: number): AttemptResult {
  if (status >= 200 && status < 300) return { outcome: 'delivered', status };
  if (status === 408 || status === 429 || status >= 500)
    return { outcome: 'retry', cause: 'status', status, retryAfterMs: parseRetryAfter(retryAfter, nowMs), error: null };
  if (status >= 300 && status < 400) return { outcome: 'rejected', cause: 'redirect', status };
  return { outcome: 'rejected', cause: 'status', status };
}

/**
 * The wait before try `attemptsDone + 1`: `backoff` doubled per try, at most `maxBackoff`; a
 * Retry-After longer than that is honoured up to `maxRetryAfter` (a receiver cannot park us forever).
 */
export function retryDelayMs(attemptsDone: number, last: AttemptResult, d: DeliverySettings): number {
  const backoff = Math.min(d.backoffMs * 2 ** Math.max(0, attemptsDone - 1), d.maxBackoffMs);
  if (last.outcome === 'retry' && last.retryAfterMs !== null)
    return Math.max(backoff, Math.min(last.retryAfterMs, d.maxRetryAfterMs));
  return backoff;
}

export type DeliveryStep =
  | { kind: 'done' }
  | { kind: 'retry'; delayMs: number }
  /** The caller escalates the finding (audited, notification), never drops it. */
  | { kind: 'escalate'; reason: string };

/** After `attemptsDone` tries ending in `last`: what next. Pure; a queue processor maps it to a delayed retry. */
export function nextDeliveryStep(attemptsDone: number, last: AttemptResult, d: DeliverySettings): DeliveryStep {
  if (last.outcome === 'delivered') return { kind: 'done' };
  if (last.outcome === 'rejected') return { kind: 'escalate', reason: describeAttempt(last) };
  if (attemptsDone >= d.attempts) return { kind: 'escalate', reason: `${describeAttempt(last)} after ${attemptsDone} attempts` };
  return { kind: 'retry', delayMs: retryDelayMs(attemptsDone, last, d) };
}

/** One line for the audit trail and the escalation reason. */
export function describeAttempt(r: AttemptResult): string {
  switch (r.outcome) {
    case 'delivered':
      return `delivered (HTTP ${r.status})`;
    case 'rejected':
      return r.cause === 'redirect'
        ? `receiver redirected (HTTP ${r.status}); redirects are not followed`
        : `receiver refused (HTTP ${r.status})`;
    case 'retry':
      return r.cause === 'timeout'
        ? 'receiver did not answer in time'
        : r.cause === 'connection'
          ? `could not reach the receiver (${r.error ?? 'connection error'})`
          : `receiver failed (HTTP ${r.status})`;
    default: {
      const never: never = r;
      return String(never);
    }
  }
}

class AttemptTimeout extends Error {
  override readonly name = 'AttemptTimeout';
}

export interface SendOptions {
  timeoutMs: number;
  /** Unix ms clock. @defaultValue Date.now */
  now?: () => number;
  /** Aborts the try (worker shutdown): rejects with the signal's reason instead of classifying. */
  signal?: AbortSignal;
}

/** The headers a delivery sends, exactly (Host, Content-Length and Connection are added by node:http). */
export function webhookHeaders(target: RotationTarget, payload: WebhookPayload, unixSeconds: number): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    [SIGNATURE_HEADER]: signatureHeader(target.signingSecret.reveal(), payload.rawBody, unixSeconds),
    [IDEMPOTENCY_HEADER]: payload.idempotencyKey,
    'User-Agent': USER_AGENT,
  };
}

/** One POST. Never throws for the receiver's doing (timeouts, refused connections, statuses): those are results. */
export async function sendWebhook(target: RotationTarget, payload: WebhookPayload, opts: SendOptions): Promise<AttemptResult> {
  const now = opts.now ?? Date.now;
  const url = new URL(target.url);
  const headers = {
    ...webhookHeaders(target, payload, Math.floor(now() / 1000)),
    'Content-Length': String(payload.rawBody.length),
  };
  try {
    const res = await post(url, headers, payload.rawBody, opts.timeoutMs, opts.signal);
    return classifyStatus(res.status, res.headers['retry-after'], now());
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    if (err instanceof AttemptTimeout)
      return { outcome: 'retry', cause: 'timeout', status: null, retryAfterMs: null, error: null };
    const code = (err as NodeJS.ErrnoException).code;
    return {
      outcome: 'retry',
      cause: 'connection',
      status: null,
      retryAfterMs: null,
      error: typeof code === 'string' ? code : 'connection error',
    };
  }
}

function post(
  url: URL,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, { method: 'POST', headers, ...(signal ? { signal } : {}) }, (res) => {
      clearTimeout(timer);
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      // The status is the answer; a receiver's body is not read (it could be endless).
      res.destroy();
    });
    // One deadline for connect, send and the status line: a receiver that accepts and stalls is a timeout.
    const timer = setTimeout(() => req.destroy(new AttemptTimeout('timeout')), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

export interface DeliverOptions {
  delivery: DeliverySettings;
  now?: () => number;
  /** @defaultValue node:timers/promises setTimeout (abortable) */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  /** After each try, e.g. to audit it. */
  onAttempt?: (r: AttemptRecord) => void | Promise<void>;
}

export interface DeliveryReport {
  target: string;
  type: string;
  idempotencyKey: string;
  delivered: boolean;
  /** Not delivered and not interrupted: the caller escalates. */
  escalate: boolean;
  /** Stopped by the signal (shutdown): neither delivered nor escalated; the job runs again elsewhere. */
  aborted: boolean;
  /** Why it ended, in words. */
  reason: string;
  attempts: AttemptRecord[];
}

/**
 * Delivers with retries in this process (the `keywarden rotate` emergency path, tests, and workers
 * that prefer it for short outages). A queue processor that spreads retries over hours uses
 * `sendWebhook` and `nextDeliveryStep` instead.
 */
export async function deliverWebhook(
  target: RotationTarget,
  payload: WebhookPayload,
  opts: DeliverOptions,
): Promise<DeliveryReport> {
  if (target.type === 'notify' && payload.type !== 'notification')
    // A rotation body carries a callback token: it must never reach a chat channel.
    throw new RangeError(`target ${target.name} is notification-only; it gets text, not ${payload.type}`);
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number, signal?: AbortSignal) => sleepFor(ms, undefined, signal ? { signal } : {}));
  const attempts: AttemptRecord[] = [];
  const report = (delivered: boolean, aborted: boolean, reason: string): DeliveryReport => ({
    target: target.name,
    type: payload.type,
    idempotencyKey: payload.idempotencyKey,
    delivered,
    escalate: !delivered && !aborted,
    aborted,
    reason,
    attempts,
  });
  for (let n = 1; ; n++) {
    const started = now();
    let result: AttemptResult;
    try {
      result = await sendWebhook(target, payload, {
        timeoutMs: opts.delivery.timeoutMs,
        now,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      if (opts.signal?.aborted) return report(false, true, 'interrupted');
      throw err;
    }
    const record: AttemptRecord = { ...result, attempt: n, at: new Date(started).toISOString(), durationMs: now() - started };
    attempts.push(record);
    await opts.onAttempt?.(record);
    const step = nextDeliveryStep(n, result, opts.delivery);
    if (step.kind === 'done') return report(true, false, describeAttempt(result));
    if (step.kind === 'escalate') return report(false, false, step.reason);
    try {
      await sleep(step.delayMs, opts.signal);
    } catch (err) {
      if (opts.signal?.aborted) return report(false, true, 'interrupted');
      throw err;
    }
  }
}
