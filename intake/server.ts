// The HTTP intake for log shippers: Fluent Bit's `http` output (`json` and `json_lines`) and Vector's
// `http` sink (`ndjson`, or `json` framed as an array) POST batches here; each is redacted, its
// findings appended to a JSONL file, the redacted batch spooled durably, then forwarded downstream in
// order with retries. An entry point: it sees the scanner, its own spool, and nothing else.
import { createHash, timingSafeEqual } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../logging/logger.js';
import { type Redactor, redactLines } from '../scanner/redact-stream.js';
import { type BatchKind, Spool, type SpoolEntry } from './spool.js';

export interface IntakeOptions {
  redactor: Redactor;
  /** @defaultValue `127.0.0.1`: the intake is for shippers on this host unless told otherwise. */
  host?: string;
  /** @defaultValue 0 (any free port; read it back from `Intake.url`). */
  port?: number;
  /** Bearer token every request must carry (`Authorization: Bearer <token>`). */
  token: string;
  spoolDir: string;
  /** Where redacted batches go (POST). Without it, batches wait in the spool. */
  downstreamUrl?: string;
  /** Extra headers on downstream requests (e.g. its own Authorization). */
  downstreamHeaders?: Record<string, string>;
  findingsFile?: string;
  /** Bytes, after gzip decompression too. @defaultValue 10 MiB */
  bodyLimit?: number;
  /** Above this many spooled bytes, new batches get 503 so shippers hold them. @defaultValue 1 GiB */
  maxSpoolBytes?: number;
  /** Retry backoff in ms, doubling from min to max. @defaultValue 200 / 10000 */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Per downstream attempt, ms. @defaultValue 10000 */
  downstreamTimeoutMs?: number;
  /** @defaultValue true. Off only for benchmarks on a disk where fsync is the bottleneck. */
  fsync?: boolean;
  /** One line per batch: kind, bytes, finding count, where it went (never its content). @defaultValue none */
  logger?: Logger;
}

export interface Intake {
  readonly url: string;
  readonly spool: Spool;
  /** Resolves once the spool is empty (everything delivered), or rejects after `timeoutMs`. */
  drained(timeoutMs?: number): Promise<void>;
  /** Stops listening and delivering; undelivered batches stay in the spool for the next start. */
  close(): Promise<void>;
}

const CONTENT_TYPE: Record<BatchKind, string> = { ndjson: 'application/x-ndjson', json: 'application/json' };
/** Downstream statuses that will not change on retry: the batch is set aside, not retried forever. */
const PERMANENT = new Set([400, 401, 403, 404, 405, 410, 413, 415, 422]);

/** Constant-time token check: both sides hashed first so that lengths leak nothing either. */
function tokenChecker(token: string): (header: string | undefined) => boolean {
  const want = createHash('sha256').update(token).digest();
  return (header) => {
    if (header === undefined || !header.startsWith('Bearer ')) return false;
    const got = createHash('sha256').update(header.slice(7)).digest();
    return timingSafeEqual(got, want);
  };
}

/**
 * Fluent Bit `json` and Vector's array framing send one JSON array; `json_lines` and `ndjson` send
 * lines. Content-Type is no guide (Fluent Bit sent `application/json` for `json_lines` before 3.0),
 * so the body decides.
 */
function kindOf(body: Buffer): BatchKind {
  for (const b of body) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x5b ? 'json' : 'ndjson';
  }
  return 'ndjson';
}

export async function startIntake(opts: IntakeOptions): Promise<Intake> {
  const bodyLimit = opts.bodyLimit ?? 10 << 20;
  const maxSpoolBytes = opts.maxSpoolBytes ?? 1 << 30;
  const spool = await Spool.open(opts.spoolDir, { fsync: opts.fsync ?? true });
  const authorized = tokenChecker(opts.token);
  const app: FastifyInstance = Fastify({ bodyLimit, logger: false });
  const redactor: Redactor = { ...opts.redactor, stream: 'intake' };
  const log = opts.logger;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (req, body, done) => {
    const buf = body as Buffer;
    if (req.headers['content-encoding'] === 'gzip') {
      try {
        done(null, gunzipSync(buf, { maxOutputLength: bodyLimit }));
      } catch {
        done(Object.assign(new Error('gzip body invalid or over the size limit'), { statusCode: 413 }), undefined);
      }
      return;
    }
    done(null, buf);
  });

  app.addHook('onRequest', async (req, reply) => {
    if (!authorized(req.headers.authorization)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' });
    }
  });

  app.get('/health', async () => ({ ok: true, spooled: spool.length }));

  app.post('/*', async (req, reply) => {
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) return reply.code(400).send({ error: 'empty body' });
    if (spool.bytes > maxSpoolBytes) return reply.code(503).header('retry-after', '5').send({ error: 'spool full' });
    const kind = kindOf(body);
    const { out, findings } = redactLines(redactor, body, true);
    if (findings.length > 0 && opts.findingsFile) {
      await appendFile(opts.findingsFile, findings.map((f) => `${JSON.stringify(f)}\n`).join(''));
    }
    // Fast path: nothing queued, so order allows sending this batch straight on; once downstream has
    // it, it is as safe as in our spool (and skips an fsync and a re-read). Any failure: spool it.
    if (delivery.canSendDirect()) {
      const status = await delivery.send(out, kind);
      if (status >= 200 && status < 300) {
        log?.info({ event: 'batch-forwarded', kind, bytes: out.length, findings: findings.length }, 'batch forwarded');
        return reply.code(200).send({ ok: true, findings: findings.length });
      }
    }
    await spool.put(out, kind);
    log?.info(
      { event: 'batch-spooled', kind, bytes: out.length, findings: findings.length, spooled: spool.length },
      'batch spooled',
    );
    delivery.kick();
    return reply.code(200).send({ ok: true, findings: findings.length });
  });

  const delivery = new Delivery(spool, opts);
  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const addr = app.server.address();
  const url = typeof addr === 'object' && addr !== null ? `http://${addr.address}:${addr.port}` : String(addr);
  delivery.kick(); // what an earlier run left behind goes first

  return {
    url,
    spool,
    drained: (timeoutMs = 10_000) => delivery.drained(timeoutMs),
    close: async () => {
      await app.close();
      await delivery.stop();
    },
  };
}

/** One delivery loop: the oldest batch first, retried with backoff until downstream takes it. */
class Delivery {
  private running: Promise<void> | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private idle: Array<() => void> = [];

  constructor(
    private readonly spool: Spool,
    private readonly opts: IntakeOptions,
  ) {}

  kick(): void {
    if (this.opts.downstreamUrl === undefined || this.stopped) return;
    if (this.wake) this.wake(); // a new batch is a hint that downstream may be worth trying now
    if (this.running === null) {
      this.running = this.loop().finally(() => {
        this.running = null;
        // A batch spooled while the loop was winding down would otherwise wait for the next request.
        if (this.spool.length > 0 && !this.stopped) this.kick();
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  drained(timeoutMs: number): Promise<void> {
    if (this.spool.length === 0) return Promise.resolve();
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`spool not drained after ${timeoutMs} ms`)), timeoutMs);
      this.idle.push(() => {
        clearTimeout(t);
        res();
      });
    });
  }

  private async loop(): Promise<void> {
    const min = this.opts.retryMinMs ?? 200;
    const max = this.opts.retryMaxMs ?? 10_000;
    let delay = min;
    for (let e = this.spool.first(); e !== undefined && !this.stopped; e = this.spool.first()) {
      const status = await this.sendEntry(e);
      if (this.stopped) break;
      if (status >= 200 && status < 300) {
        await this.spool.remove(e);
        this.opts.logger?.info({ event: 'batch-delivered', kind: e.kind, spooled: this.spool.length }, 'spooled batch delivered');
        delay = min;
      } else if (PERMANENT.has(status)) {
        await this.spool.bury(e);
        this.opts.logger?.warn({ event: 'batch-buried', kind: e.kind, status }, 'downstream refused a batch for good; set aside');
      } else {
        this.opts.logger?.debug({ event: 'downstream-retry', status, delayMs: delay }, 'downstream unavailable; retrying');
        await this.sleep(delay);
        delay = Math.min(max, delay * 2);
      }
    }
    if (this.spool.length === 0) for (const f of this.idle.splice(0)) f();
  }

  /** True when a new batch may bypass the spool without overtaking an older one. */
  canSendDirect(): boolean {
    return this.opts.downstreamUrl !== undefined && !this.stopped && this.running === null && this.spool.length === 0;
  }

  private async sendEntry(e: SpoolEntry): Promise<number> {
    let body: Buffer;
    try {
      body = await this.spool.read(e);
    } catch {
      return 0;
    }
    return this.send(body, e.kind);
  }

  /** The HTTP status, or 0 when downstream could not be reached. */
  async send(body: Buffer, kind: BatchKind): Promise<number> {
    try {
      const res = await fetch(this.opts.downstreamUrl!, {
        method: 'POST',
        headers: { 'content-type': CONTENT_TYPE[kind], ...this.opts.downstreamHeaders },
        body,
        signal: AbortSignal.timeout(this.opts.downstreamTimeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined); // free the connection for reuse
      return res.status;
    } catch {
      return 0;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.wake = null;
        res();
      }
      this.wake = done;
    });
  }
}
