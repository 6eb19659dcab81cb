// keywarden's own logger: pino, JSON lines to stderr, for the edges that run long (worker, HTTP API,
// log intake). Built once at start-up by an entry point and handed down; nothing below the edges
// creates one.
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { LOG_LEVELS } from '../config/log.js';
import { KeywardenError } from '../errors/error.js';

export type { Logger };

/** What a redacted field is replaced by. */
export const CENSOR = '[REDACTED]';

/**
 * Fields that can carry a secret, censored whatever is logged: a second line of defence behind the
 * rule that call sites log ids, counts and codes, never payloads. Request and job bodies (`body`,
 * `data`, `lines`) are censored whole: a log batch is exactly where secrets are.
 */
export const REDACT_PATHS: readonly string[] = [
  'secret',
  '*.secret',
  'token',
  '*.token',
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.body',
  'body',
  'data.lines',
  'job.data',
  'lines',
  '*.lines',
  'downstreamHeaders',
  'env',
];

/** Errors keep what an operator needs and nothing else: no enumerable extras (request configs, causes). */
export function serializeError(err: unknown): { message: string; code?: string; stack?: string } {
  if (!(err instanceof Error)) return { message: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(err.stack ? { stack: err.stack } : {}),
  };
}

/**
 * An HTTP request as fastify logs it, without the query string (a repository URL given as a filter
 * may carry credentials) and without headers or body.
 */
export function serializeRequest(req: { method?: string; url?: string; ip?: string }): Record<string, unknown> {
  return { method: req.method, path: req.url?.split('?')[0], ip: req.ip };
}

export interface CreateLoggerOptions {
  /** A pino level (the service configuration's `log.level`: KEYWARDEN_LOG_LEVEL). @defaultValue `info` */
  level?: string;
  /** Component name on every line (`worker`, `api`, `intake`). */
  name: string;
  /** A file descriptor or a file path (appended to). @defaultValue 2 (stderr) */
  destination?: number | string;
  /** Extra serializers; `err` and `error` stay ours. */
  serializers?: Record<string, (value: never) => unknown>;
}

/**
 * Creates keywarden's logger: JSON lines, one per event, secrets censored by path (`REDACT_PATHS`).
 *
 * What may reach it: ids, kinds, counts, durations, error codes. Never job data, request bodies or
 * headers in clear. The scanner engine never logs: it is pure (bytes and a compiled pack in, matches
 * out), so there is no logger below the edges to leak a match. A finding reaches a log only as its
 * redacted preview (`redacted`) and its keyed `fingerprint`, never as the matched text.
 *
 * Writes are synchronous: a worker's last lines before a crash or `process.exit` are not lost, and
 * nothing is logged per chunk or per match, so the cost does not show.
 *
 * Call once at start-up, with the level from the service configuration.
 * @throws KeywardenError `KW_CONFIG_INVALID` for an unknown level.
 */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const level = opts.level ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new KeywardenError(
      'KW_CONFIG_INVALID',
      `log level must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(level.slice(0, 20))}`,
    );
  }
  const options: LoggerOptions = {
    name: opts.name,
    level,
    redact: { paths: [...REDACT_PATHS], censor: CENSOR },
    serializers: { req: serializeRequest, ...opts.serializers, err: serializeError, error: serializeError },
  };
  const dest: DestinationStream = pino.destination({ dest: opts.destination ?? 2, sync: true, append: true, mkdir: true });
  return pino(options, dest);
}
