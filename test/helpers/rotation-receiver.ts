// A rotation webhook receiver on 127.0.0.1 for tests: verifies Keywarden-Signature with
// rotation/signature.ts, records every delivery (headers, raw bytes, verdict), answers as scripted
// (2xx, 5xx, 4xx, 429 with Retry-After, a hang past the sender's timeout), deduplicates on
// Idempotency-Key as a real receiver should, and can call the callback URL (by hand or on its own).
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type RotationEscalated, type RotationRequested, WebhookEvent } from '../../rotation/events.js';
import { type SignatureCheck, verifySignature } from '../../rotation/signature.js';

/**
 * How to answer one delivery: `ok` (200), a status, a status with headers (`{status: 429, headers:
 * {'Retry-After': '1'}}`), `hang` (never answer: the sender's timeout fires, or the stop), or `hang-then-ok`
 * (answer 200 after `delayMs`, later than the sender waits).
 */
export type ReceiverAnswer =
  | 'ok'
  | 'hang'
  /** Same as `hang`: named for what the sender sees. */
  | 'timeout'
  /** Same as `hang`, as a `mode`: a receiver that never answers anything. */
  | 'never'
  | number
  | { status: number; headers?: Record<string, string>; body?: string }
  | { hangThenOk: number };

export interface ReceivedDelivery {
  /** Epoch ms. */
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** Parsed JSON, or null when the body is not JSON. */
  json: unknown;
  /** A rotation.requested / rotation.escalated body that passed the schema, else null. */
  event: RotationRequested | RotationEscalated | null;
  signature: SignatureCheck;
  /** Its Idempotency-Key was seen on an earlier accepted delivery (a real receiver would not act again). */
  duplicate: boolean;
  /** The status answered, or `none` for a hang. */
  answered: number | 'none';
}

export interface CallbackResult {
  status: number;
  body: unknown;
}

export interface RotationReceiverOptions {
  /** The signing secret(s) to verify with. */
  secret: string | readonly string[];
  /** Answer 401 to a delivery whose signature does not verify. @defaultValue true */
  rejectBadSignatures?: boolean;
  /** @defaultValue /hooks/rotate */
  path?: string;
  /**
   * Runs for each accepted, non-duplicate rotation.requested after the answer is sent (a real
   * receiver answers fast, then works): e.g. rotate at a fake provider, then `receiver.callBack(d)`.
   */
  onRotationRequested?: (d: ReceivedDelivery, receiver: RotationReceiver) => void | Promise<void>;
}

export class RotationReceiver {
  readonly deliveries: ReceivedDelivery[] = [];
  /** Answers for the next deliveries, in order; then `mode`. */
  answers: ReceiverAnswer[] = [];
  /** The answer once `answers` is used up. @defaultValue ok */
  mode: ReceiverAnswer = 'ok';
  /** Errors thrown by `onRotationRequested`, kept for the test to check. */
  readonly hookErrors: unknown[] = [];
  port = 0;

  private readonly opts: RotationReceiverOptions;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly seenKeys = new Set<string>();
  private readonly waiters: Array<() => void> = [];

  constructor(opts: RotationReceiverOptions) {
    this.opts = opts;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}${this.opts.path ?? '/hooks/rotate'}`;
  }

  /** Distinct idempotency keys of rotation requests accepted: what a real receiver would have rotated. */
  get rotations(): string[] {
    return this.deliveries
      .filter((d) => d.event?.type === 'rotation.requested' && !d.duplicate && isOk(d.answered))
      .map((d) => d.event?.idempotencyKey as string);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.hookErrors.push(err);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise((done) => s.close(done));
  }

  /** Resolves once `n` deliveries have arrived (fails after `timeoutMs`). */
  async waitForDeliveries(n: number, timeoutMs = 15_000): Promise<ReceivedDelivery[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.deliveries.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} deliveries, got ${this.deliveries.length}`);
      await new Promise<void>((done) => {
        const t = setTimeout(done, left);
        this.waiters.push(() => {
          clearTimeout(t);
          done();
        });
      });
    }
    return this.deliveries.slice(0, n);
  }

  /**
   * POSTs to the delivery's `callback.url` with `Authorization: Bearer <callback.token>` (or `token`,
   * to play a forger) and `body` as JSON when given.
   */
  async callBack(
    d: ReceivedDelivery,
    body?: { revoked?: boolean; note?: string },
    opts: { token?: string } = {},
  ): Promise<CallbackResult> {
    if (!d.event) throw new Error('not a rotation event: no callback');
    const res = await fetch(d.event.callback.url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${opts.token ?? d.event.callback.token}`,
        ...(body ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const rawBody = Buffer.concat(parts);
    let json: unknown = null;
    try {
      json = JSON.parse(rawBody.toString('utf8'));
    } catch {
      json = null;
    }
    const parsedEvent = WebhookEvent.safeParse(json);
    const signature = verifySignature(this.opts.secret, rawBody, headerValue(req.headers['keywarden-signature']));
    const key = headerValue(req.headers['idempotency-key']);
    const d: ReceivedDelivery = {
      at: Date.now(),
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      rawBody,
      json,
      event: parsedEvent.success ? parsedEvent.data : null,
      signature,
      duplicate: key !== undefined && this.seenKeys.has(key),
      answered: 'none',
    };
    this.deliveries.push(d);
    for (const w of this.waiters.splice(0)) w();

    if (!signature.ok && (this.opts.rejectBadSignatures ?? true)) {
      d.answered = 401;
      res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: `signature ${signature.reason}` }));
      return;
    }
    const answer = this.answers.length > 0 ? (this.answers.shift() as ReceiverAnswer) : this.mode;
    // The socket stays open until the sender gives up or stop().
    if (answer === 'hang' || answer === 'timeout' || answer === 'never') return;
    if (typeof answer === 'object' && 'hangThenOk' in answer) {
      await new Promise((done) => setTimeout(done, answer.hangThenOk));
      if (!res.writableEnded && !res.destroyed) {
        d.answered = 200;
        res.writeHead(200).end('ok');
      }
      return;
    }
    const status = answer === 'ok' ? 200 : typeof answer === 'number' ? answer : answer.status;
    const headers = typeof answer === 'object' ? (answer.headers ?? {}) : {};
    d.answered = status;
    res.writeHead(status, headers).end(typeof answer === 'object' ? (answer.body ?? '') : '');
    if (isOk(status) && key !== undefined) {
      const first = !this.seenKeys.has(key);
      this.seenKeys.add(key);
      if (first && d.event?.type === 'rotation.requested' && this.opts.onRotationRequested) {
        try {
          await this.opts.onRotationRequested(d, this);
        } catch (err) {
          this.hookErrors.push(err);
        }
      }
    }
  }
}

function isOk(status: number | 'none'): boolean {
  return typeof status === 'number' && status >= 200 && status < 300;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
