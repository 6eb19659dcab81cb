// The receiving end of keywarden's rotation webhook (docs/rotation.md): verify `Keywarden-Signature`
// over the raw body, claim the delivery's idempotencyKey, then in the background rotate the key at the
// provider (the app's `rotate`), write the new value where the app's rotatable secret reads it, wait
// for the app to switch, revoke the old key, and call keywarden back with `{"revoked", "note"}`.
// A retried or repeated delivery never rotates twice. Values, tokens and signatures never reach the
// audit trail.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { KeywardenError } from '../errors/error.js';
import { SIGNATURE_HEADER, verifySignature } from '../rotation/signature.js';
import { type AuditSink, auditor } from './audit.js';
import { type Duration, toMilliseconds } from './duration.js';
import {
  type AdaptedEndpoint,
  adapt,
  errorReply,
  type HttpReply,
  type HttpRequest,
  headerValue,
  jsonReply,
  networkReason,
} from './http.js';
import { shortHash } from './short-hash.js';

// ---- the webhook body (rotation issue: "The rotation webhook") ------------------------------------

export interface RotationFinding {
  fingerprint: string;
  ruleId: string;
  provider: string;
  /** A redacted preview; never the secret. */
  redacted: string;
  firstSeen: string;
  locations: Array<Record<string, unknown>>;
}

/** A `rotation.requested` delivery, as parsed; `callback.token` is kept away from the app's functions. */
export interface RotationRequest {
  type: 'rotation.requested';
  id: string;
  idempotencyKey: string;
  createdAt: string;
  finding: RotationFinding;
}

interface Delivery extends RotationRequest {
  callback: { url: string; token: string };
}

/** The body the receiver posts to `callback.url` (rotation issue: "The callback"). */
export interface CallbackBody {
  revoked: boolean;
  note: string;
}

// ---- what the app plugs in -----------------------------------------------------------------------

export interface RotateContext {
  request: RotationRequest;
  /** What the writer held before (the old key), when it can read it. */
  oldValue: string | undefined;
  signal: AbortSignal;
}

export interface NewKey {
  value: string;
  /** The provider's id for the new key, if any (shown in the callback note). */
  id?: string;
}

export interface RevokeContext extends RotateContext {
  newKey: NewKey;
}

/** Where the new value goes so that a rotatable secret picks it up (a file, a Vault path, a secret manager). */
export interface SecretWriter {
  write(value: string): Promise<void>;
  /** The current value, so `revoke` knows the old key. */
  read?(): Promise<string | undefined>;
}

export interface RotationReceiverOptions {
  /** `KEYWARDEN_WEBHOOK_SECRET`; several during a secret roll-over (any may sign). */
  webhookSecret: string | readonly string[];
  /** Issues the new key at the provider. A string is the new value. */
  rotate(ctx: RotateContext): Promise<NewKey | string>;
  /** Puts the new value where the app reads it: a SecretWriter (e.g. `fileWriter(path)`) or a function. */
  write: SecretWriter | ((value: string, ctx: RotateContext) => Promise<void>);
  /**
   * Revokes the old key at the provider. `true`/`{revoked: true}` means revoked (a claim keywarden then
   * checks with the provider). Without it, the callback says `revoked: false`.
   */
  revoke?(ctx: RevokeContext): Promise<boolean | { revoked: boolean; note?: string } | undefined>;
  /** Only findings this returns true for are rotated here; others get 422. @defaultValue all */
  accepts?(finding: RotationFinding): boolean;
  /**
   * Between writing the new value and revoking the old: long enough for every app to pick the new
   * value up (its refreshInterval) and finish requests made with the old one. @defaultValue 60 s
   */
  revokeDelay?: Duration;
  /** Remembers which deliveries were handled. @defaultValue in memory (see `fileIdempotencyStore`) */
  idempotency?: IdempotencyStore;
  /** Origins `callback.url` may point at (e.g. `KEYWARDEN_PUBLIC_URL`). @defaultValue any http(s) URL */
  callbackOrigins?: readonly string[];
  /** Signature age accepted, seconds. @defaultValue 300 */
  toleranceSeconds?: number;
  /** Attempts per step (rotate, write, revoke, callback). @defaultValue 4 */
  attempts?: number;
  /** First retry delay, doubled per attempt. @defaultValue 500 ms */
  backoff?: Duration;
  /** @defaultValue JSON lines on stderr */
  onAudit?: AuditSink;
  /** The route the webhook is posted to. @defaultValue `/` */
  path?: string;
  /** @defaultValue 1 MiB */
  maxBodyBytes?: number;
}

// ---- idempotency ---------------------------------------------------------------------------------

export interface IdempotencyRecord {
  /** `running`; `callback_pending` (rotated, keywarden not told yet); `completed`; `failed` (a new delivery may retry). */
  state: 'running' | 'callback_pending' | 'completed' | 'failed';
  fingerprint: string;
  eventId: string;
  updatedAt: string;
  /** The callback body once known, so a later delivery can re-send it. */
  outcome?: CallbackBody;
}

export interface IdempotencyStore {
  get(key: string): Promise<IdempotencyRecord | undefined>;
  set(key: string, record: IdempotencyRecord): Promise<void>;
}

export function memoryIdempotencyStore(): IdempotencyStore {
  const m = new Map<string, IdempotencyRecord>();
  return { get: async (k) => m.get(k), set: async (k, r) => void m.set(k, r) };
}

/** A JSON file, rewritten by atomic rename on each change: survives receiver restarts (one replica). */
export function fileIdempotencyStore(path: string): IdempotencyStore {
  const file = resolve(path);
  let cache: Record<string, IdempotencyRecord> | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  const load = async () => {
    if (cache !== undefined) return cache;
    try {
      cache = JSON.parse(await readFile(file, 'utf8')) as Record<string, IdempotencyRecord>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new KeywardenError('KW_CONFIG_INVALID', `idempotency store ${file} is unreadable`, [], { cause: err });
      }
      cache = {};
    }
    return cache;
  };
  return {
    get: async (k) => (await load())[k],
    set: (k, r) => {
      const next = chain.then(async () => {
        const c = await load();
        c[k] = r;
        await atomicWrite(file, `${JSON.stringify(c)}\n`);
      });
      chain = next.catch(() => {});
      return next;
    },
  };
}

// ---- writing a value where a file source reads it ------------------------------------------------

/** Writes `text` to a temporary file beside `file` (mode 0600), syncs it, and renames it over `file`. */
async function atomicWrite(file: string, text: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/**
 * The new value into `path` by atomic rename, so a `fileSource(path)` reader sees the old value or the
 * new one, never half of one.
 */
export function fileWriter(path: string): SecretWriter {
  const file = resolve(path);
  return {
    write: (value) => atomicWrite(file, value),
    async read() {
      try {
        return (await readFile(file, 'utf8')).trim();
      } catch {
        return undefined;
      }
    },
  };
}

// ---- the receiver --------------------------------------------------------------------------------

export interface RotationReceiver extends AdaptedEndpoint {
  /** Resolves when every accepted delivery has finished (rotated and called back, or failed). */
  settled(): Promise<void>;
  /** Refuses new deliveries (503) and waits for the running ones. */
  close(): Promise<void>;
}

const STRING_FIELDS = ['id', 'idempotencyKey', 'createdAt'] as const;

/** The delivery, or a 400 message. Only the fields the receiver relies on are checked. */
function parseDelivery(body: unknown): Delivery | { type: string } | string {
  if (typeof body !== 'object' || body === null) return 'expected a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b.type !== 'string') return 'type: expected a string';
  if (b.type !== 'rotation.requested') return { type: b.type };
  for (const f of STRING_FIELDS) if (typeof b[f] !== 'string' || b[f] === '') return `${f}: expected a non-empty string`;
  const finding = b.finding as Record<string, unknown> | undefined;
  if (typeof finding !== 'object' || finding === null || typeof finding.fingerprint !== 'string')
    return 'finding.fingerprint: expected a string';
  const cb = b.callback as Record<string, unknown> | undefined;
  if (typeof cb !== 'object' || cb === null || typeof cb.url !== 'string' || typeof cb.token !== 'string' || cb.token === '') {
    return 'callback: expected {"url": string, "token": string}';
  }
  return {
    type: 'rotation.requested',
    id: b.id as string,
    idempotencyKey: b.idempotencyKey as string,
    createdAt: b.createdAt as string,
    finding: {
      fingerprint: finding.fingerprint,
      ruleId: String(finding.ruleId ?? ''),
      provider: String(finding.provider ?? ''),
      redacted: String(finding.redacted ?? ''),
      firstSeen: String(finding.firstSeen ?? ''),
      locations: Array.isArray(finding.locations) ? (finding.locations as Array<Record<string, unknown>>) : [],
    },
    callback: { url: cb.url, token: cb.token },
  };
}

/** What may appear in an audit line about an error thrown by the app's functions: its code or name only. */
function errorLabel(err: unknown): string {
  if (err instanceof KeywardenError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.name : typeof err;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createRotationReceiver(opts: RotationReceiverOptions): RotationReceiver {
  const secrets = typeof opts.webhookSecret === 'string' ? [opts.webhookSecret] : [...opts.webhookSecret];
  if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length < 16)) {
    throw new KeywardenError(
      'KW_CONFIG_INVALID',
      'createRotationReceiver: webhookSecret must be at least 16 characters (KEYWARDEN_WEBHOOK_SECRET)',
    );
  }
  const store = opts.idempotency ?? memoryIdempotencyStore();
  const revokeDelayMs = toMilliseconds(opts.revokeDelay ?? 60_000, 'createRotationReceiver revokeDelay');
  const backoffMs = toMilliseconds(opts.backoff ?? 500, 'createRotationReceiver backoff');
  const attempts = Math.max(1, opts.attempts ?? 4);
  const origins = opts.callbackOrigins?.map((o) => new URL(o).origin);
  const write = opts.write;
  const writeValue = (value: string, ctx: RotateContext) =>
    typeof write === 'function' ? write(value, ctx) : write.write(value);
  const readOld = async () => (typeof write === 'function' ? undefined : write.read?.());
  const audit = auditor(opts.onAudit);
  const running = new Set<Promise<void>>();
  /** Keys being handled in this process: the store's get-then-set is not atomic on its own. */
  const claimed = new Set<string>();
  let closed = false;
  const abort = new AbortController();

  /** Runs `fn` up to `attempts` times with backoff; the last error is rethrown. */
  async function step<T>(name: string, request: RotationRequest, fn: () => Promise<T>): Promise<T> {
    let last: unknown;
    for (let i = 1; i <= attempts; i++) {
      try {
        return await fn();
      } catch (err) {
        last = err;
        audit('rotation.step_failed', {
          step: name,
          attempt: i,
          of: attempts,
          fingerprint: request.finding.fingerprint,
          error: errorLabel(err),
        });
        if (err instanceof KeywardenError && err.details.includes('final')) break;
        if (i < attempts) await sleep(backoffMs * 2 ** (i - 1));
      }
    }
    throw last;
  }

  async function postCallback(delivery: Delivery, body: CallbackBody): Promise<void> {
    const url = delivery.callback.url;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${delivery.callback.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new KeywardenError('KW_ROTATION_FAILED', `callback failed (${networkReason(err)})`);
    }
    await res.body?.cancel();
    if (res.ok) return;
    // 401/403: that token is spent or wrong; 404/409: keywarden does not expect this callback. Retrying will not help.
    const final = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
    throw new KeywardenError('KW_ROTATION_FAILED', `callback answered ${res.status}`, final ? ['final'] : []);
  }

  async function callBack(delivery: Delivery, outcome: CallbackBody): Promise<void> {
    const key = delivery.idempotencyKey;
    const base = { fingerprint: delivery.finding.fingerprint, eventId: delivery.id, outcome };
    try {
      await step('callback', delivery, () => postCallback(delivery, outcome));
      await store.set(key, { ...base, state: 'completed', updatedAt: new Date().toISOString() });
      audit('rotation.completed', { fingerprint: delivery.finding.fingerprint, idempotencyKey: key, revoked: outcome.revoked });
    } catch (err) {
      await store.set(key, { ...base, state: 'callback_pending', updatedAt: new Date().toISOString() });
      audit('rotation.callback_pending', {
        fingerprint: delivery.finding.fingerprint,
        idempotencyKey: key,
        error: errorLabel(err),
      });
    }
  }

  async function rotateAndReport(delivery: Delivery): Promise<void> {
    const { callback: _token, ...request } = delivery;
    const key = delivery.idempotencyKey;
    const fingerprint = delivery.finding.fingerprint;
    let oldValue: string | undefined;
    try {
      oldValue = await readOld();
    } catch {
      oldValue = undefined;
    }
    const ctx: RotateContext = { request, oldValue, signal: abort.signal };
    let newKey: NewKey;
    try {
      const got = await step('rotate', request, () => opts.rotate(ctx));
      newKey = typeof got === 'string' ? { value: got } : got;
      if (typeof newKey.value !== 'string' || newKey.value === '')
        throw new KeywardenError('KW_ROTATION_FAILED', 'rotate returned no value');
      await step('write', request, () => writeValue(newKey.value, ctx));
    } catch (err) {
      // Not rotated, or rotated but not delivered to the app: the old key stays live and in use, so it is
      // not revoked. A later delivery of the same finding tries again.
      await store.set(key, { state: 'failed', fingerprint, eventId: delivery.id, updatedAt: new Date().toISOString() });
      audit('rotation.failed', { fingerprint, idempotencyKey: key, error: errorLabel(err) });
      return;
    }
    audit('rotation.written', {
      fingerprint,
      idempotencyKey: key,
      from: oldValue === undefined ? null : shortHash(oldValue),
      to: shortHash(newKey.value),
      ...(newKey.id !== undefined && { keyId: newKey.id }),
    });

    let outcome: CallbackBody;
    if (opts.revoke === undefined) {
      outcome = { revoked: false, note: 'rotated; the old key was not revoked by the receiver (no revoke function)' };
    } else {
      if (revokeDelayMs > 0) await sleep(revokeDelayMs);
      try {
        const r = await step('revoke', request, async () => (await opts.revoke!({ ...ctx, newKey })) ?? false);
        const revoked = typeof r === 'boolean' ? r : r.revoked;
        const note = typeof r === 'object' && r.note !== undefined ? r.note : undefined;
        outcome = {
          revoked,
          note:
            note ??
            (revoked ? 'rotated; old key revoked at the provider' : 'rotated; the provider did not confirm revoking the old key'),
        };
      } catch (err) {
        outcome = {
          revoked: false,
          note: `rotated; revoking the old key failed (${err instanceof KeywardenError ? err.code : 'error'})`,
        };
      }
    }
    if (newKey.id !== undefined) outcome.note += `; new key id ${newKey.id}`;
    await store.set(key, {
      state: 'callback_pending',
      fingerprint,
      eventId: delivery.id,
      updatedAt: new Date().toISOString(),
      outcome,
    });
    await callBack(delivery, outcome);
  }

  function track(p: Promise<void>, key: string): void {
    const t = p
      .catch((err) => audit('rotation.failed', { idempotencyKey: key, error: errorLabel(err) }))
      .finally(() => {
        running.delete(t);
        claimed.delete(key);
      });
    running.add(t);
  }

  async function handle(req: HttpRequest): Promise<HttpReply> {
    const remote = req.remoteAddress;
    if (req.method !== 'POST') return errorReply(405, 'KW_REQUEST_INVALID', 'use POST', { allow: 'POST' });
    if (closed) return errorReply(503, 'KW_INTERNAL', 'shutting down', { 'retry-after': '5' });
    const check = verifySignature(secrets, req.body, headerValue(req.headers, SIGNATURE_HEADER), {
      ...(opts.toleranceSeconds !== undefined && { toleranceSeconds: opts.toleranceSeconds }),
    });
    if (!check.ok) {
      audit('rotation.rejected', { remote, reason: `signature_${check.reason}` });
      return errorReply(401, 'KW_WEBHOOK_REJECTED', `signature ${check.reason}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return errorReply(400, 'KW_JSON_INVALID', 'the body is not valid JSON');
    }
    const parsed = parseDelivery(body);
    if (typeof parsed === 'string') return errorReply(400, 'KW_REQUEST_INVALID', parsed);
    if (parsed.type !== 'rotation.requested') {
      audit('rotation.notice', { remote, type: parsed.type });
      return jsonReply(200, { status: 'ignored', type: parsed.type });
    }
    const delivery = parsed as Delivery;
    const key = delivery.idempotencyKey;
    const headerKey = headerValue(req.headers, 'idempotency-key');
    if (headerKey !== undefined && headerKey !== key)
      return errorReply(400, 'KW_REQUEST_INVALID', 'Idempotency-Key header differs from the body');
    let cbUrl: URL;
    try {
      cbUrl = new URL(delivery.callback.url);
    } catch {
      return errorReply(400, 'KW_REQUEST_INVALID', 'callback.url is not a URL');
    }
    if (
      (cbUrl.protocol !== 'https:' && cbUrl.protocol !== 'http:') ||
      (origins !== undefined && !origins.includes(cbUrl.origin))
    ) {
      audit('rotation.rejected', { remote, reason: 'callback_origin', fingerprint: delivery.finding.fingerprint });
      return errorReply(422, 'KW_WEBHOOK_REJECTED', 'callback.url is not an allowed origin');
    }
    if (opts.accepts !== undefined && !opts.accepts(delivery.finding)) {
      return errorReply(422, 'KW_WEBHOOK_REJECTED', 'this receiver does not rotate that finding');
    }

    const fields = { fingerprint: delivery.finding.fingerprint, idempotencyKey: key, eventId: delivery.id };
    if (claimed.has(key)) {
      audit('rotation.duplicate', { ...fields, state: 'running' });
      return jsonReply(202, { status: 'in_progress', idempotencyKey: key });
    }
    // Claimed before the first await, so two simultaneous deliveries cannot both pass this point.
    claimed.add(key);
    let seen: IdempotencyRecord | undefined;
    try {
      seen = await store.get(key);
    } catch (err) {
      claimed.delete(key);
      audit('rotation.failed', { ...fields, error: errorLabel(err) });
      return errorReply(503, 'KW_INTERNAL', 'idempotency store unavailable', { 'retry-after': '30' });
    }
    if (seen?.state === 'completed') {
      claimed.delete(key);
      audit('rotation.duplicate', { ...fields, state: seen.state });
      return jsonReply(200, { status: 'already_done', idempotencyKey: key });
    }
    // `running` in the store but not claimed here: this process restarted mid-rotation (one replica per
    // store), so it runs again; `failed` likewise.
    if (seen?.state === 'callback_pending' && seen.outcome !== undefined) {
      // Rotated before; keywarden never heard. Tell it now, with this delivery's (fresh) callback token.
      audit('rotation.duplicate', { ...fields, state: seen.state, action: 'callback_retry' });
      track(callBack(delivery, seen.outcome), key);
      return jsonReply(202, { status: 'callback_retry', idempotencyKey: key });
    }
    try {
      await store.set(key, {
        state: 'running',
        fingerprint: delivery.finding.fingerprint,
        eventId: delivery.id,
        updatedAt: new Date().toISOString(),
      });
    } catch (err) {
      claimed.delete(key);
      audit('rotation.failed', { ...fields, error: errorLabel(err) });
      return errorReply(503, 'KW_INTERNAL', 'idempotency store unavailable', { 'retry-after': '30' });
    }
    audit('rotation.accepted', { ...fields, remote, ruleId: delivery.finding.ruleId });
    track(rotateAndReport(delivery), key);
    return jsonReply(202, { status: 'accepted', idempotencyKey: key });
  }

  const endpoint = adapt({
    routes: [{ method: 'POST', path: opts.path ?? '/' }],
    maxBodyBytes: opts.maxBodyBytes ?? 1024 * 1024,
    rawBodyRequired: true,
    handle,
  });
  const settled = async () => {
    while (running.size > 0) await Promise.all([...running]);
  };
  return Object.assign(endpoint, {
    settled,
    async close() {
      closed = true;
      await settled();
      abort.abort();
    },
  });
}
