// The HTTP intake for log shippers: Fluent Bit's `http` output (`json` and `json_lines`) and Vector's
// `http` sink (`ndjson`, or `json` framed as an array) POST batches here; each is redacted, its
// findings handed to a sink (a JSONL file standalone, the finding store inside `keywarden serve`), the
// redacted batch spooled durably, then forwarded downstream in order with retries. An entry point: it
// sees the scanner, its own spool and the HTTP layer's shared token check and error table.
import { appendFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DEFAULT_INTAKE_BODY_LIMIT } from '../config/sections/intake.js';
import type { ErrorCode } from '../errors/codes.js';
import { KeywardenError } from '../errors/error.js';
import { bearerTokenCheck } from '../http/auth.js';
import { classify, sendError } from '../http/errors.js';
import { errorResponses, json } from '../http/schemas.js';
import { serializerCompiler, validatorCompiler } from '../http/validate.js';
import type { Logger } from '../logging/logger.js';
import type { Finding } from '../model/finding.js';
import { redactLines } from '../scanner/redact-lines.js';
import type { Redactor } from '../scanner/redact-spans.js';
import { reportEntries } from '../scanner/reporters/entries.js';
import { renderJsonl } from '../scanner/reporters/json.js';
import { IntakeAccepted, IntakeHealth, IntakeStreamParams, STREAM_NAME_MAX, StreamName } from './schemas.js';
import { type BatchKind, Spool, type SpoolEntry } from './spool.js';

/** What the sink learns about the batch a set of findings came from. */
export interface IntakeBatchMeta {
  /** The stream the findings name (their log provenance's `stream`). */
  stream: string;
  /** The batch as received (after gzip): a sink can key on its digest, so a re-sent batch records nothing new. */
  body: Buffer;
  kind: BatchKind;
  /** ISO time the intake received the batch. */
  receivedAt: string;
}

/**
 * Where a batch's findings go. The batch is acknowledged (200) only after this resolves; when it
 * rejects, the shipper gets an error status and sends the batch again, so nothing acknowledged is lost.
 * Called only for batches with at least one finding.
 */
export type FindingsSink = (findings: Finding[], meta: IntakeBatchMeta) => Promise<void>;

/** How one batch ended, for counters (api/metrics.ts). */
export type IntakeOutcome = 'forwarded' | 'spooled' | 'spool_full' | 'record_failed';
export interface IntakeBatchEvent {
  outcome: IntakeOutcome;
  /** Bytes received (after gzip). */
  bytes: number;
  findings: number;
}

/** Options shared by the standalone intake and the one mounted in `keywarden serve`. */
export interface IntakeCommonOptions {
  redactor: Redactor;
  /** Bearer token every request must carry (`Authorization: Bearer <token>`); 16+ characters, no whitespace. */
  token: string;
  /** Where the token comes from, for 401 messages and start-up errors. @defaultValue `KEYWARDEN_INTAKE_TOKEN` */
  tokenName?: string;
  spoolDir: string;
  /** Where redacted batches go (POST). Without it, batches wait in the spool. */
  downstreamUrl?: string;
  /** Extra headers on downstream requests (e.g. its own Authorization). */
  downstreamHeaders?: Record<string, string>;
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

export interface IntakeOptions extends IntakeCommonOptions {
  /** @defaultValue `127.0.0.1`: the intake is for shippers on this host unless told otherwise. */
  host?: string;
  /** @defaultValue 0 (any free port; read it back from `Intake.url`). */
  port?: number;
  /** Findings appended here as JSONL (redacted, never the secret). @defaultValue none (not kept) */
  findingsFile?: string;
}

export interface IntakeRouteOptions extends IntakeCommonOptions {
  /** Mount point, e.g. `/v1/intake`. @defaultValue `` (the server's root) */
  prefix?: string;
  /**
   * Name each batch's stream after the path under the prefix (`POST /v1/intake/web/nginx` → `web/nginx`;
   * the bare prefix → `intake`), so one intake serves many shippers and findings say which one.
   * @defaultValue false: every batch is stream `intake`
   */
  streamFromPath?: boolean;
  /** @defaultValue none: findings are only counted */
  onFindings?: FindingsSink;
  /** Once per batch, after its response is decided. */
  onBatch?: (e: IntakeBatchEvent) => void;
}

/** The mounted routes' state; delivery stops when the fastify instance closes. */
export interface IntakeRoutes {
  readonly spool: Spool;
  /** Resolves once the spool is empty (everything delivered), or rejects after `timeoutMs`. */
  drained(timeoutMs?: number): Promise<void>;
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
/** Content types of binary log encodings the redactor cannot read (Fluent Bit `format msgpack`, Vector `native`). */
const BINARY_TYPES = new Set([
  'application/msgpack',
  'application/x-msgpack',
  'application/vnd.msgpack',
  'application/x-protobuf',
  'application/protobuf',
  'application/octet-stream',
]);

/** Downstream statuses that will not change on retry: the batch is set aside, not retried forever. */
const PERMANENT = new Set([400, 401, 403, 404, 405, 410, 413, 415, 422]);
/** The intake's error codes, as its routes document them (the error table gives each its status). */
function intakeErrors(tokenName: string, batch: boolean): Partial<Record<ErrorCode, string>> {
  return {
    KW_UNAUTHORIZED: `missing or wrong bearer token (\`Authorization: Bearer <${tokenName}>\`); no other token opens the intake.`,
    ...(batch
      ? {
          KW_REQUEST_INVALID: 'an empty body, a body that is not valid gzip, or a bad stream name.',
          KW_BODY_TOO_LARGE: 'the body is over the intake’s limit, after gzip decompression too.',
          KW_MEDIA_TYPE: 'a binary encoding (msgpack, protobuf) or a Content-Encoding other than gzip.',
          KW_REDIS: 'the findings could not be recorded: nothing was kept; send the batch again.',
          KW_INTAKE_FULL: 'the spool is over its limit (downstream is behind): nothing was kept; send the batch again.',
        }
      : {}),
    KW_INTERNAL: 'a bug; the message is generic and the cause is in the log.',
  };
}

/** How the batch routes document their raw body (the scope's own parser reads it; the body decides the framing). */
const BATCH_BODY = {
  'application/x-ndjson': z
    .string()
    .describe('One JSON object per line (Fluent Bit `json_lines`, Vector `ndjson`); gzip accepted.'),
  'application/json': z
    .string()
    .describe(
      'A JSON array of records (Fluent Bit `json`, Vector `json`), or JSON lines (Fluent Bit before 3.0); gzip accepted.',
    ),
};

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

/** Appends findings as JSONL, one report entry per occurrence: the standalone intake's side channel (`--findings FILE`). */
export function jsonlFindingsSink(path: string): FindingsSink {
  return async (findings) => {
    await appendFile(path, renderJsonl(reportEntries(findings, 'finding')));
  };
}

/**
 * Registers the intake's routes on `app` under `opts.prefix` in an encapsulated scope of their own:
 * their raw-body parser, their token check and their error handler touch nothing else the server
 * serves. `GET <prefix>/health`; `POST <prefix>` and `POST <prefix>/*` take batches.
 */
export async function registerIntakeRoutes(app: FastifyInstance, opts: IntakeRouteOptions): Promise<IntakeRoutes> {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_INTAKE_BODY_LIMIT;
  const maxSpoolBytes = opts.maxSpoolBytes ?? 1 << 30;
  const tokenName = opts.tokenName ?? 'KEYWARDEN_INTAKE_TOKEN';
  const authorized = bearerTokenCheck(opts.token, tokenName);
  const spool = await Spool.open(opts.spoolDir, { fsync: opts.fsync ?? true });
  const delivery = new Delivery(spool, opts);
  const log = opts.logger;
  const prefix = opts.prefix ?? '';
  // The redactor's stream names findings; one object per stream name, sharing the compiled pack.
  const redactors = new Map<string, Redactor>();
  const redactorFor = (stream: string): Redactor => {
    let r = redactors.get(stream);
    if (!r) {
      r = { ...opts.redactor, stream };
      if (redactors.size < 1024) redactors.set(stream, r);
    }
    return r;
  };

  const streamOf = (req: FastifyRequest): string => {
    if (!opts.streamFromPath) return 'intake';
    const rest = ((req.params as Record<string, string | undefined>)['*'] ?? '').replace(/\/+$/, '');
    if (rest === '') return 'intake';
    if (!StreamName.safeParse(rest).success) {
      throw new KeywardenError(
        'KW_REQUEST_INVALID',
        `the path under ${prefix || '/'} names the stream: letters, digits, . _ - and /, at most ${STREAM_NAME_MAX} characters`,
      );
    }
    return rest;
  };

  const takeBatch = async (req: FastifyRequest, reply: FastifyReply) => {
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw new KeywardenError('KW_REQUEST_INVALID', 'empty body');
    const stream = streamOf(req);
    if (spool.bytes > maxSpoolBytes) {
      opts.onBatch?.({ outcome: 'spool_full', bytes: body.length, findings: 0 });
      reply.header('retry-after', '5');
      return sendError(reply, 'KW_INTAKE_FULL', 'spool full: downstream is behind; retry later');
    }
    const kind = kindOf(body);
    const receivedAt = new Date().toISOString();
    const { out, findings: found } = redactLines(redactorFor(stream), body, true);
    // Counted per occurrence, as the response and the metrics always have.
    let findings = 0;
    for (const f of found) findings += f.occurrences.length;
    if (findings > 0 && opts.onFindings) {
      try {
        await opts.onFindings(found, { stream, body, kind, receivedAt });
      } catch (err) {
        // Not acknowledged and not forwarded: the shipper sends the batch again.
        opts.onBatch?.({ outcome: 'record_failed', bytes: body.length, findings });
        log?.warn(
          { event: 'findings-not-recorded', code: (err as { code?: unknown }).code ?? 'KW_INTERNAL' },
          'findings not recorded; batch refused',
        );
        throw err;
      }
    }
    // Fast path: nothing queued, so order allows sending this batch straight on; once downstream has
    // it, it is as safe as in our spool (and skips an fsync and a re-read). Any failure: spool it.
    if (delivery.canSendDirect()) {
      const status = await delivery.send(out, kind);
      if (status >= 200 && status < 300) {
        log?.info({ event: 'batch-forwarded', kind, bytes: out.length, findings }, 'batch forwarded');
        opts.onBatch?.({ outcome: 'forwarded', bytes: body.length, findings });
        return reply.code(200).send({ ok: true, findings });
      }
    }
    await spool.put(out, kind);
    log?.info({ event: 'batch-spooled', kind, bytes: out.length, findings, spooled: spool.length }, 'batch spooled');
    opts.onBatch?.({ outcome: 'spooled', bytes: body.length, findings });
    delivery.kick();
    return reply.code(200).send({ ok: true, findings });
  };

  await app.register(
    async (scope) => {
      // Standalone (`keywarden intake`) as inside `serve`: the routes' zod schemas are what is checked and written.
      scope.setValidatorCompiler(validatorCompiler);
      scope.setSerializerCompiler(serializerCompiler);
      // Shippers' bodies are taken as raw bytes whatever their Content-Type (see kindOf); in this
      // scope only, so the API beside it keeps its JSON parser.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (req, raw, done) => {
        const buf = raw as Buffer;
        // Only bodies the redactor can read go on: a msgpack, zstd or snappy batch would be
        // forwarded with its secrets unscanned (or corrupted by a marker). 415 makes Fluent Bit
        // and Vector drop the chunk loudly; the operator switches the shipper to json_lines/gzip.
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (BINARY_TYPES.has(type)) {
          return done(
            new KeywardenError('KW_MEDIA_TYPE', `${type} bodies are not accepted: send json_lines, ndjson or json`),
            undefined,
          );
        }
        const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
        if (encoding === 'identity' || encoding === '') return done(null, buf);
        if (encoding !== 'gzip' && encoding !== 'x-gzip') {
          return done(
            new KeywardenError('KW_MEDIA_TYPE', `Content-Encoding ${encoding} is not accepted: use gzip or none`),
            undefined,
          );
        }
        try {
          done(null, gunzipSync(buf, { maxOutputLength: bodyLimit }));
        } catch (err) {
          const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
          done(
            tooLarge
              ? new KeywardenError('KW_BODY_TOO_LARGE', `the gzip body inflates past the ${bodyLimit}-byte limit`)
              : new KeywardenError('KW_REQUEST_INVALID', 'Content-Encoding is gzip but the body is not valid gzip'),
            undefined,
          );
        }
      });

      scope.addHook('onRequest', async (req, reply) => {
        if (!authorized(req.headers.authorization)) {
          reply.header('www-authenticate', 'Bearer realm="keywarden-intake"');
          return sendError(reply, 'KW_UNAUTHORIZED', `missing or wrong bearer token (Authorization: Bearer <${tokenName}>)`);
        }
      });

      // Same error bodies as the API; an unexpected error's text stays out of the log (it may quote input).
      scope.setErrorHandler((err, _req, reply) => {
        const c = classify(err);
        if (c.internal) log?.error({ event: 'intake-error', name: (err as Error).name }, 'intake request failed');
        return reply.code(c.status).type('application/json; charset=utf-8').send(c.body);
      });

      const batchResponses = {
        200: json('Recorded and forwarded, or durably spooled.', IntakeAccepted),
        ...errorResponses(intakeErrors(tokenName, true)),
      };
      const batchDescription =
        'Fluent Bit `http` output (`format json` or `json_lines`) or Vector `http` sink (ndjson, or json with array framing); `Content-Encoding: gzip` accepted. The body decides the framing, not Content-Type. The batch is redacted, its findings recorded (inside `keywarden serve`: in the finding store, source kind `log`, target = the stream, one `detected` audit event per new finding), then the redacted batch is forwarded downstream or spooled. 200 is sent only after the findings are recorded and the batch is downstream or fsynced in the spool; a re-sent batch adds no occurrence.';
      scope.get(
        '/health',
        {
          config: { ownToken: true },
          schema: {
            operationId: 'intakeHealth',
            summary: 'The intake is mounted; batches waiting in its spool',
            response: { 200: json('Mounted.', IntakeHealth), ...errorResponses(intakeErrors(tokenName, false)) },
          },
        },
        async () => ({ ok: true as const, spooled: spool.length }),
      );
      // The bare prefix too (Fluent Bit's `uri /v1/intake`); at the root, `/*` already matches `/`.
      if (prefix !== '') {
        scope.post(
          '/',
          {
            config: { ownToken: true, openapi: { body: BATCH_BODY } },
            bodyLimit,
            prefixTrailingSlash: 'no-slash',
            schema: {
              operationId: 'intakeBatch',
              summary: `A log shipper batch (stream \`intake\`${opts.streamFromPath ? '' : ', whatever the path'})`,
              description: batchDescription,
              response: batchResponses,
            },
          },
          takeBatch,
        );
      }
      scope.post(
        '/*',
        {
          // Documented as `{stream}`: fastify's wildcard is named `*`, and the name is checked by streamOf.
          config: {
            ownToken: true,
            openapi: {
              url: `${prefix}/{stream}`,
              params: z.object({
                stream: opts.streamFromPath ? StreamName : z.string().describe('Ignored: the stream is `intake`.'),
              }),
              body: BATCH_BODY,
            },
          },
          bodyLimit,
          schema: {
            operationId: prefix === '' ? 'intakeBatch' : 'intakeStreamBatch',
            summary: opts.streamFromPath ? 'A log shipper batch for a named stream' : 'A log shipper batch (stream `intake`)',
            description: batchDescription,
            params: IntakeStreamParams,
            response: batchResponses,
          },
        },
        takeBatch,
      );

      // After in-flight requests: a batch accepted while closing is spooled, then delivery stops.
      scope.addHook('onClose', async () => {
        await delivery.stop();
      });
    },
    { prefix },
  );
  delivery.kick(); // what an earlier run left behind goes first

  return { spool, drained: (timeoutMs = 10_000) => delivery.drained(timeoutMs) };
}

/** The intake on its own HTTP server (`keywarden intake`), findings to `findingsFile` if given. */
export async function startIntake(opts: IntakeOptions): Promise<Intake> {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_INTAKE_BODY_LIMIT;
  const app: FastifyInstance = Fastify({ bodyLimit, logger: false });
  const routes = await registerIntakeRoutes(app, {
    ...opts,
    ...(opts.findingsFile ? { onFindings: jsonlFindingsSink(opts.findingsFile) } : {}),
  });
  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const addr = app.server.address();
  const url = typeof addr === 'object' && addr !== null ? `http://${addr.address}:${addr.port}` : String(addr);

  return {
    url,
    spool: routes.spool,
    drained: routes.drained,
    close: async () => {
      await app.close();
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
    private readonly opts: IntakeCommonOptions,
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
