// The output guard: what an app sends out (an agent's answer, a log line, an HTTP response body) passes
// keywarden's rule pack first, in process, and leaves with every secret replaced by its redaction
// marker, or is withheld (`mode: 'block'`). Same pack and engine as `keywarden scan`; loaded on first
// use. Middleware for Node http, fastify and express buffers the body, checks it, then sends it.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { KeywardenError } from '../errors/error.js';
import type { Rule } from '../rules/schema.js';
import {
  type ExpressLikeRequest,
  type FastifyLikeInstance,
  type FastifyLikePlugin,
  type FastifyLikeReply,
  type NextFunction,
  unencapsulated,
} from './http.js';
import { type GuardFinding, loadTextRedactor, type TextRedactor } from './redaction.js';

export type { GuardFinding };

export interface OutputGuardOptions {
  /** `redact`: secrets become markers; `block`: output holding a secret is withheld. @defaultValue redact */
  mode?: 'redact' | 'block';
  /**
   * Key for fingerprints and markers. Give keywarden's `KEYWARDEN_FINGERPRINT_KEY` to make them match
   * the service's findings. @defaultValue a random per-process key
   */
  fingerprintKey?: string | Buffer;
  /** @defaultValue keywarden's built-in pack */
  rules?: readonly Rule[];
  /** Called once per secret found (redacted preview and fingerprint only). */
  onFinding?: (finding: GuardFinding, where: { kind: 'text' } | { kind: 'http'; method: string; url: string }) => void;
  /** Larger HTTP bodies are not held in memory to be checked; see `unscannable`. @defaultValue 8 MiB */
  maxBodyBytes?: number;
  /**
   * A body the guard cannot read (compressed with Content-Encoding, or over `maxBodyBytes`): `block`
   * withholds it (fail closed), `pass` sends it unchecked. @defaultValue block
   */
  unscannable?: 'block' | 'pass';
  /** HTTP status of a withheld response. @defaultValue 500 */
  blockStatus?: number;
  /** What `check` returns as `text` for blocked output. @defaultValue `[withheld: the output contained a credential]` */
  blockedText?: string;
}

export interface GuardResult {
  /** The text to send: redacted; in block mode `blockedText` when something was found. */
  text: string;
  findings: GuardFinding[];
  blocked: boolean;
}

export interface OutputGuard {
  readonly mode: 'redact' | 'block';
  /** Checks a piece of text: an agent's answer, a log line. */
  check(text: string): Promise<GuardResult>;
  /** Checks bytes; `json` keeps each JSON line valid JSON. `body` is the input itself when nothing was found. */
  checkBuffer(body: Buffer, json?: boolean): Promise<{ body: Buffer; findings: GuardFinding[]; blocked: boolean }>;
  /** Loads and compiles the rule pack now (otherwise the first check does, ~150 ms). */
  warmUp(): Promise<void>;
  /** Wraps a Node `(req, res)` handler: every response it writes is checked. */
  node<Req extends IncomingMessage, Res extends ServerResponse>(
    handler: (req: Req, res: Res) => unknown,
  ): (req: Req, res: Res) => void;
  /** `app.use(guard.express)`, before the routes it guards. */
  readonly express: (req: ExpressLikeRequest, res: ServerResponse, next: NextFunction) => void;
  /** `app.register(guard.fastify)`: an onSend hook for every route of the app. */
  readonly fastify: FastifyLikePlugin;
}

const DEFAULT_BLOCKED_TEXT = '[withheld: the output contained a credential]';
const BLOCKED_BODY = JSON.stringify({
  error: { code: 'KW_OUTPUT_BLOCKED', message: 'the response was withheld: it contained a credential' },
});
const UNSCANNABLE_BODY = JSON.stringify({
  error: { code: 'KW_OUTPUT_BLOCKED', message: 'the response was withheld: it could not be checked for credentials' },
});

/** Text media types (and bodies without a type): checked. Anything else (images, archives) goes out as it is. */
function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === '') return true;
  const t = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    t.startsWith('text/') ||
    t.endsWith('/json') ||
    t.endsWith('+json') ||
    t.endsWith('/xml') ||
    t.endsWith('+xml') ||
    t === 'application/javascript' ||
    t === 'application/x-www-form-urlencoded' ||
    t === 'application/x-ndjson' ||
    t === 'application/yaml' ||
    t === 'application/x-yaml' ||
    t === 'application/graphql'
  );
}

/** JSON and NDJSON bodies are redacted so that each JSON line stays valid JSON. */
function isJson(contentType: string | undefined): boolean {
  const t = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return t.endsWith('/json') || t.endsWith('+json') || t === 'application/x-ndjson';
}

function headerText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? String(v[0]) : String(v);
}

export function createOutputGuard(opts: OutputGuardOptions = {}): OutputGuard {
  const mode = opts.mode ?? 'redact';
  if (mode !== 'redact' && mode !== 'block')
    throw new KeywardenError('KW_CONFIG_INVALID', `createOutputGuard: mode must be 'redact' or 'block'`);
  const key = opts.fingerprintKey === undefined ? randomBytes(32) : Buffer.from(opts.fingerprintKey);
  const maxBody = opts.maxBodyBytes ?? 8 * 1024 * 1024;
  const failClosed = (opts.unscannable ?? 'block') === 'block';
  const blockStatus = opts.blockStatus ?? 500;
  const blockedText = opts.blockedText ?? DEFAULT_BLOCKED_TEXT;

  let redactor: TextRedactor | undefined;
  let loading: Promise<TextRedactor> | undefined;
  const load = (): Promise<TextRedactor> => {
    loading ??= loadTextRedactor({ fingerprintKey: key, ...(opts.rules !== undefined && { rules: opts.rules }) }).then((r) => {
      redactor = r;
      return r;
    });
    return loading;
  };

  const report = (findings: GuardFinding[], where: Parameters<NonNullable<OutputGuardOptions['onFinding']>>[1]) => {
    if (opts.onFinding === undefined) return;
    for (const f of findings) {
      try {
        opts.onFinding(f, where);
      } catch {
        // the app's callback must not turn a checked response into a failed one
      }
    }
  };

  async function checkBuffer(body: Buffer, json = false) {
    const r = redactor ?? (await load());
    const { out, findings } = r.redact(body, json);
    // A hash or a public-by-design key (`info`) is redacted but withholds no output.
    return { body: out, findings, blocked: mode === 'block' && findings.some((f) => f.confidence !== 'info') };
  }

  async function check(text: string): Promise<GuardResult> {
    const { body, findings, blocked } = await checkBuffer(Buffer.from(text, 'utf8'));
    report(findings, { kind: 'text' });
    if (blocked) return { text: blockedText, findings, blocked };
    return { text: findings.length === 0 ? text : body.toString('utf8'), findings, blocked };
  }

  /**
   * Decides what goes out for a complete body: the body (redacted or as it is), or a withheld answer.
   * Shared by the Node/express interception and the fastify hook.
   */
  async function decide(
    body: Buffer,
    headers: { contentType: string | undefined; contentEncoding: string | undefined },
    where: { method: string; url: string },
  ): Promise<{ kind: 'send'; body: Buffer; changed: boolean } | { kind: 'withhold'; body: string }> {
    if (!isTextual(headers.contentType) || body.length === 0) return { kind: 'send', body, changed: false };
    const enc = headers.contentEncoding?.trim().toLowerCase();
    if (enc !== undefined && enc !== '' && enc !== 'identity') {
      return failClosed ? { kind: 'withhold', body: UNSCANNABLE_BODY } : { kind: 'send', body, changed: false };
    }
    const out = await checkBuffer(body, isJson(headers.contentType));
    report(out.findings, { kind: 'http', ...where });
    if (out.blocked) return { kind: 'withhold', body: BLOCKED_BODY };
    return { kind: 'send', body: out.body, changed: out.findings.length > 0 };
  }

  /** Holds back what the handler writes, then sends the checked body with a correct Content-Length. */
  function intercept(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'HEAD') return;
    type Loose<R> = (this: ServerResponse, ...args: unknown[]) => R;
    const original = {
      writeHead: res.writeHead,
      write: res.write as Loose<boolean>,
      end: res.end as Loose<ServerResponse>,
      flushHeaders: res.flushHeaders,
    };
    const chunks: Buffer[] = [];
    let size = 0;
    let passthrough = false;
    let oversize = false;
    let ended = false;

    const toBuffer = (chunk: unknown, encoding?: unknown): Buffer =>
      Buffer.isBuffer(chunk)
        ? chunk
        : chunk instanceof Uint8Array
          ? Buffer.from(chunk)
          : Buffer.from(String(chunk), typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    const restore = () => Object.assign(res, original);

    // writeHead's headers become setHeader calls now, so they can still change when the body is known.
    res.writeHead = function writeHead(this: ServerResponse, status: number, ...rest: unknown[]) {
      res.statusCode = status;
      let headers: unknown = rest[0];
      if (typeof rest[0] === 'string') {
        res.statusMessage = rest[0];
        headers = rest[1];
      }
      if (Array.isArray(headers)) {
        for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(String(headers[i]), headers[i + 1] as string);
      } else if (headers !== undefined && headers !== null) {
        for (const [k, v] of Object.entries(headers as OutgoingHttpHeaders)) if (v !== undefined) res.setHeader(k, v);
      }
      return res;
    } as ServerResponse['writeHead'];
    res.flushHeaders = () => {};

    const goPassthrough = () => {
      // Too big to hold and `unscannable: 'pass'`: what was held goes out, the rest streams.
      passthrough = true;
      restore();
      for (const c of chunks) original.write.call(res, c);
      chunks.length = 0;
    };

    res.write = function write(this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) {
      if (passthrough) return original.write.call(res, chunk, encoding, cb);
      const callback = typeof encoding === 'function' ? encoding : cb;
      if (!oversize) {
        const b = toBuffer(chunk, encoding);
        size += b.length;
        if (size > maxBody) {
          oversize = true;
          if (!failClosed) {
            chunks.push(b);
            goPassthrough();
            if (typeof callback === 'function') process.nextTick(callback as () => void);
            return true;
          }
          chunks.length = 0; // withheld anyway: stop holding it
        } else chunks.push(b);
      }
      if (typeof callback === 'function') process.nextTick(callback as () => void);
      return true;
    } as ServerResponse['write'];

    res.end = function end(this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) {
      if (passthrough) return original.end.call(res, chunk, encoding, cb);
      if (ended) return res;
      ended = true;
      let callback: unknown = cb;
      if (typeof chunk === 'function') {
        callback = chunk;
        chunk = undefined;
      } else if (typeof encoding === 'function') {
        callback = encoding;
        encoding = undefined;
      }
      if (chunk !== undefined && chunk !== null) {
        res.write(chunk as Buffer, encoding as BufferEncoding);
        if (passthrough) return original.end.call(res, callback);
      }
      const finish = (status: number | null, body: Buffer | string, changed: boolean, withheld: boolean) => {
        restore();
        if (status !== null) res.statusCode = status;
        if (changed) res.removeHeader('etag'); // the ETag was computed over the unredacted body
        if (withheld) {
          res.setHeader('content-type', 'application/json; charset=utf-8');
          res.removeHeader('content-encoding');
        }
        if (!res.headersSent && !(res.statusCode === 204 || res.statusCode === 304)) {
          res.setHeader('content-length', String(Buffer.byteLength(body)));
        }
        original.end.call(res, body, callback);
      };
      const where = { method: req.method ?? 'GET', url: req.url ?? '/' };
      if (oversize) {
        finish(blockStatus, UNSCANNABLE_BODY, true, true);
        return res;
      }
      const body = Buffer.concat(chunks, size);
      decide(
        body,
        {
          contentType: headerText(res.getHeader('content-type')),
          contentEncoding: headerText(res.getHeader('content-encoding')),
        },
        where,
      ).then(
        (d) => (d.kind === 'send' ? finish(null, d.body, d.changed, false) : finish(blockStatus, d.body, true, true)),
        () => finish(blockStatus, UNSCANNABLE_BODY, true, true), // a failed check never lets the body out
      );
      return res;
    } as ServerResponse['end'];
  }

  const fastify: FastifyLikePlugin = unencapsulated(async (instance: FastifyLikeInstance) => {
    instance.addHook('onSend', async (request: { method: string; url: string }, reply: FastifyLikeReply, payload: unknown) => {
      if (request.method === 'HEAD' || payload === null || payload === undefined) return payload;
      let body: Buffer;
      if (typeof payload === 'string') body = Buffer.from(payload, 'utf8');
      else if (Buffer.isBuffer(payload)) body = payload;
      else if (typeof (payload as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
        const parts: Buffer[] = [];
        let n = 0;
        for await (const c of payload as AsyncIterable<Buffer | string>) {
          const b = typeof c === 'string' ? Buffer.from(c) : c;
          n += b.length;
          if (n > maxBody) {
            if (failClosed) return withhold(reply, UNSCANNABLE_BODY);
            throw new KeywardenError(
              'KW_OUTPUT_BLOCKED',
              'streamed response larger than maxBodyBytes; cannot pass it unchecked after reading it',
            );
          }
          parts.push(b);
        }
        body = Buffer.concat(parts, n);
      } else return payload;
      if (body.length > maxBody) return failClosed ? withhold(reply, UNSCANNABLE_BODY) : payload;
      const d = await decide(
        body,
        {
          contentType: headerText(reply.getHeader('content-type')),
          contentEncoding: headerText(reply.getHeader('content-encoding')),
        },
        { method: request.method, url: request.url },
      );
      if (d.kind === 'withhold') return withhold(reply, d.body);
      if (!d.changed) return typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : d.body;
      reply.removeHeader('content-length');
      reply.removeHeader('etag');
      return d.body;
    });
  });

  function withhold(reply: FastifyLikeReply, body: string): string {
    reply.code(blockStatus);
    reply.removeHeader('content-length');
    reply.removeHeader('content-encoding');
    reply.removeHeader('etag');
    reply.header('content-type', 'application/json; charset=utf-8');
    return body;
  }

  return {
    mode,
    check,
    checkBuffer,
    warmUp: async () => {
      await load();
    },
    node: (handler) => (req, res) => {
      intercept(req, res);
      void handler(req, res);
    },
    express: (req, res, next) => {
      intercept(req, res);
      next();
    },
    fastify,
  };
}

let defaultGuard: OutputGuard | undefined;

/** Redacts every secret keywarden's rules find in `text`: `{ text, findings }`. */
export async function guardText(text: string): Promise<{ text: string; findings: GuardFinding[] }> {
  defaultGuard ??= createOutputGuard({ mode: 'redact' });
  const { text: out, findings } = await defaultGuard.check(text);
  return { text: out, findings };
}
