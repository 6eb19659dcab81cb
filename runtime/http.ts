// HTTP plumbing shared by the runtime's endpoints (emergency rotation, rotation receiver, output
// guard): body reading with a limit, JSON replies, constant-time token checks, and the structural
// types of the fastify objects the adapters receive. Nothing here imports fastify or express: the
// adapters work on the app object the user passes.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { KeywardenError } from '../errors/error.js';

/** What a route answers: the adapters (Node, fastify, express) each write it their own way. */
export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialised by `jsonReply`. */
  body: string;
}

/** The request as the routes see it, whichever server delivered it. */
export interface HttpRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The peer address, for rate limits and audit lines. */
  remoteAddress: string;
  /** The raw body bytes (signatures are computed over these). */
  body: Buffer;
}

export function jsonReply(status: number, value: unknown, headers: Record<string, string> = {}): HttpReply {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(value),
  };
}

/** `{"error": {"code", "message"}}`, the shape keywarden's API answers errors with. */
export function errorReply(status: number, code: string, message: string, headers: Record<string, string> = {}): HttpReply {
  return jsonReply(status, { error: { code, message } }, headers);
}

/** The body, or KW_REQUEST_INVALID (413) once it passes `limit` bytes; reading stops there. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(tooLarge(limit));
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts, size)));
    req.on('error', reject);
  });
}

function tooLarge(limit: number): KeywardenError {
  return new KeywardenError('KW_REQUEST_INVALID', `request body larger than ${limit} bytes`, ['413']);
}

/** 413 for an over-limit body, 400 for other read failures. */
export function bodyErrorReply(err: unknown): HttpReply {
  if (err instanceof KeywardenError && err.details[0] === '413') return errorReply(413, 'KW_REQUEST_INVALID', err.message);
  return errorReply(400, 'KW_REQUEST_INVALID', 'could not read the request body');
}

export function sendReply(res: ServerResponse, reply: HttpReply): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(reply.body)) });
  res.end(reply.body);
}

export function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** A token as a string, or anything with a `value` (a rotatable secret), read on every check. */
export type TokenInput = string | { readonly value: string };

/** Shorter admin tokens are refused when the handler is created: a guessable token is worse than none. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * A constant-time check of a presented token. Both sides are reduced to HMAC-SHA256 digests under a
 * per-check random key, so `timingSafeEqual` always compares 32 bytes and the time taken says
 * nothing about the token's length or how much of a guess was right.
 */
export function tokenCheck(token: TokenInput, what: string): (presented: string | undefined) => boolean {
  if (typeof token === 'string') checkTokenShape(token, what);
  const key = randomBytes(32);
  const digest = (s: string) => createHmac('sha256', key).update(s, 'utf8').digest();
  const fixed = typeof token === 'string' ? digest(token) : null;
  return (presented) => {
    if (presented === undefined || presented === '') return false;
    let expected = fixed;
    if (expected === null) {
      let current: string;
      try {
        current = (token as { readonly value: string }).value;
      } catch {
        return false; // a rotatable token not fetched yet opens nothing
      }
      if (current.length < MIN_TOKEN_LENGTH) return false;
      expected = digest(current);
    }
    return timingSafeEqual(digest(presented), expected);
  };
}

function checkTokenShape(token: string, what: string): void {
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new KeywardenError('KW_CONFIG_INVALID', `${what} must be at least ${MIN_TOKEN_LENGTH} characters with no whitespace`);
  }
}

/** `Authorization: Bearer <t>` (scheme case-insensitive, RFC 6750), else undefined. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headerValue(headers, 'authorization');
  if (auth === undefined) return undefined;
  const m = /^bearer +(\S+)\s*$/i.exec(auth);
  return m?.[1];
}

/** Loopback addresses the runtime's helpers agree to listen on. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * `ECONNREFUSED`, `timeout`, ...: the error's or its cause's code, never its message (which may hold
 * the URL's query). Shared by every runtime module that makes HTTP requests.
 */
export function networkReason(err: unknown): string {
  const own = (err as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = (err as { cause?: { code?: string } }).cause;
  if (cause?.code !== undefined) return cause.code;
  if (err instanceof Error && err.name === 'TimeoutError') return 'timeout';
  if (err instanceof Error && err.name === 'AbortError') return 'aborted';
  return err instanceof Error ? err.name : 'error';
}

// ---- the fastify objects the adapters receive (structural: no import of fastify) -----------------

export interface FastifyLikeRequest {
  readonly raw: IncomingMessage;
  readonly body: unknown;
  readonly ip: string;
  readonly url: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
}

export interface FastifyLikeReply {
  code(statusCode: number): FastifyLikeReply;
  header(name: string, value: string): FastifyLikeReply;
  send(payload?: unknown): FastifyLikeReply;
  getHeader(name: string): unknown;
  removeHeader(name: string): FastifyLikeReply;
  readonly statusCode: number;
}

/** The few fastify instance methods the adapters call. */
export interface FastifyLikeInstance {
  removeAllContentTypeParsers(): void;
  addContentTypeParser(
    contentType: string,
    opts: { parseAs: 'buffer'; bodyLimit?: number },
    parser: (req: never, body: Buffer, done: (err: Error | null, body?: unknown) => void) => void,
  ): void;
  // biome-ignore lint/suspicious/noExplicitAny: fastify's route handler types are generic over its type providers
  route(opts: { method: string | string[]; url: string; handler: (req: any, reply: any) => Promise<unknown> }): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: as above, for hooks
  addHook(name: 'onSend', hook: (req: any, reply: any, payload: unknown) => Promise<unknown>): unknown;
}

/** A fastify plugin as `app.register` takes it. */
export type FastifyLikePlugin = (instance: FastifyLikeInstance, opts: Record<string, unknown>) => Promise<void>;

/** Marks a plugin so fastify applies it to the parent scope (what the fastify-plugin package does). */
export function unencapsulated<T extends object>(plugin: T): T {
  (plugin as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
  return plugin;
}

/** Reads a fastify request into the routes' shape; the plugin registers a buffer parser for all types. */
export function fromFastify(req: FastifyLikeRequest): HttpRequest {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  return { method: req.method, path: pathOf(req.url), headers: req.headers, remoteAddress: req.ip, body };
}

export function toFastify(reply: FastifyLikeReply, out: HttpReply): FastifyLikeReply {
  reply.code(out.status);
  for (const [k, v] of Object.entries(out.headers ?? {})) reply.header(k, v);
  return reply.send(out.body);
}

/** Express hands over Node's req/res (subclassed); a body parser that ran first leaves `req.body`. */
export interface ExpressLikeRequest extends IncomingMessage {
  body?: unknown;
  /** The path below the router's mount point. */
  path?: string;
}

export type NextFunction = (err?: unknown) => void;

// ---- one endpoint, three servers ------------------------------------------------------------------

/** A set of routes answered by one function, served by `adapt` on Node http, fastify and express. */
export interface Endpoint {
  routes: readonly { method: string; path: string }[];
  maxBodyBytes: number;
  /** A signature is computed over the body bytes: a body already parsed by express.json() cannot be used. */
  rawBodyRequired: boolean;
  handle(req: HttpRequest): Promise<HttpReply>;
}

/** A Node `(req, res)` handler; given `next` (express, connect), requests for other paths go on to it. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: NextFunction) => void;

export interface AdaptedEndpoint extends NodeHandler {
  /** `app.register(x.fastify)` (a `prefix` option is honoured). */
  readonly fastify: FastifyLikePlugin;
  /** `app.use(x.express)`; mount it before `express.json()` where a raw body is needed. */
  readonly express: (req: ExpressLikeRequest, res: ServerResponse, next: NextFunction) => void;
}

export function adapt(ep: Endpoint): AdaptedEndpoint {
  const paths = new Set(ep.routes.map((r) => r.path));

  async function bodyOf(req: ExpressLikeRequest): Promise<Buffer | HttpReply> {
    if (!req.readableEnded) {
      try {
        return await readBody(req, ep.maxBodyBytes);
      } catch (err) {
        return bodyErrorReply(err);
      }
    }
    // A body parser ran first (express.json(), express.raw(), express.text()).
    const b = req.body;
    if (Buffer.isBuffer(b)) return b;
    if (typeof b === 'string') return Buffer.from(b, 'utf8');
    if (b === undefined) return Buffer.alloc(0);
    if (ep.rawBodyRequired) {
      return errorReply(
        500,
        'KW_INTERNAL',
        'the request body was parsed before this handler; mount it before express.json(), or give it express.raw({ type: "*/*" })',
      );
    }
    return Buffer.from(JSON.stringify(b), 'utf8');
  }

  const node: NodeHandler = (req, res, next) => {
    const path = pathOf(req.url);
    if (!paths.has(path)) {
      if (next !== undefined) next();
      else sendReply(res, errorReply(404, 'KW_REQUEST_INVALID', 'no such route'));
      return;
    }
    void (async () => {
      const body = await bodyOf(req as ExpressLikeRequest);
      if (!Buffer.isBuffer(body)) return sendReply(res, body);
      const reply = await ep.handle({
        method: req.method ?? 'GET',
        path,
        headers: req.headers,
        remoteAddress: req.socket.remoteAddress ?? '',
        body,
      });
      sendReply(res, reply);
    })().catch(() => sendReply(res, errorReply(500, 'KW_INTERNAL', 'internal error')));
  };

  const fastify: FastifyLikePlugin = async (instance) => {
    // Encapsulated (no skip-override): these parsers apply to these routes only.
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ep.maxBodyBytes }, (_req, body, done) => done(null, body));
    for (const path of paths) {
      const methods = [...new Set(['GET', 'POST', ...ep.routes.filter((r) => r.path === path).map((r) => r.method)])];
      instance.route({
        method: methods,
        url: path,
        handler: async (req: FastifyLikeRequest, reply: FastifyLikeReply) => {
          const out = await ep.handle({ ...fromFastify(req), path });
          return toFastify(reply, out);
        },
      });
    }
  };

  return Object.assign(node, {
    fastify,
    express: (req: ExpressLikeRequest, res: ServerResponse, next: NextFunction) => node(req, res, next),
  });
}
