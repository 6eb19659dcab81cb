// The HTTP layer's one table from error codes to statuses, and the one error body every route sends:
// `{ error: { code, message, details? } }`. Messages never carry secret text (KeywardenError's rule).
import type { FastifyError, FastifyReply } from 'fastify';
import { isKeywardenError } from '../scanner/errors.js';

/** Codes the API itself raises (request-level problems), beside the KeywardenError codes. */
export type ApiErrorCode =
  | 'KW_UNAUTHORIZED'
  | 'KW_ROUTE_NOT_FOUND'
  | 'KW_JOB_NOT_FOUND'
  | 'KW_JSON_INVALID'
  | 'KW_REQUEST_INVALID'
  | 'KW_BODY_TOO_LARGE'
  | 'KW_MEDIA_TYPE'
  | 'KW_NOT_READY'
  | 'KW_INTAKE_FULL';

/**
 * Every code the API can answer with, and its status. A code absent here is a bug surfaced as 500
 * (KW_INTERNAL); `test/api/server.test.ts` checks that each service error code is listed.
 */
export const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  // Request problems.
  KW_JSON_INVALID: 400,
  KW_REQUEST_INVALID: 400,
  KW_USAGE: 400,
  KW_JOB_INVALID: 400,
  KW_UNAUTHORIZED: 401,
  KW_ROUTE_NOT_FOUND: 404,
  KW_JOB_NOT_FOUND: 404,
  KW_FINDING_NOT_FOUND: 404,
  KW_ILLEGAL_TRANSITION: 409,
  KW_BODY_TOO_LARGE: 413,
  KW_MEDIA_TYPE: 415,
  // The request was fine but what it names cannot be scanned (raised when a handler runs inline).
  KW_GIT_NOT_A_REPO: 422,
  KW_GIT_UNKNOWN_REF: 422,
  KW_SOURCE_READ: 422,
  // Server side.
  KW_CONFIG_INVALID: 500,
  KW_RULES_INVALID: 500,
  KW_BASELINE_INVALID: 500,
  KW_REGEX_INVALID: 500,
  KW_INTERNAL: 500,
  KW_NOT_IMPLEMENTED: 501,
  KW_REDIS: 503,
  KW_NOT_READY: 503,
  // The log-shipper intake's spool is over its limit: shippers hold the batch and retry (Retry-After).
  KW_INTAKE_FULL: 503,
});

export function statusFor(code: string): number {
  return STATUS_BY_CODE[code] ?? 500;
}

/** An error the API raises on purpose; the error handler turns it into its status and body. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly details: readonly unknown[];
  constructor(code: ApiErrorCode, message: string, details: readonly unknown[] = []) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: readonly unknown[] };
}

export function errorBody(code: string, message: string, details: readonly unknown[] = []): ErrorBody {
  return details.length > 0 ? { error: { code, message, details } } : { error: { code, message } };
}

/** Fastify's own request errors (body parsing), renamed into our codes. */
const FASTIFY_CODES: Readonly<Record<string, { code: ApiErrorCode; message?: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'KW_JSON_INVALID' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'KW_JSON_INVALID', message: 'the request body is empty; expected a JSON object' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'KW_BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'KW_MEDIA_TYPE', message: 'send the body as application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'KW_REQUEST_INVALID' },
};

/**
 * Classifies any thrown value: ours keep their code; fastify's parse errors get ours; a JSON
 * SyntaxError from the body parser is KW_JSON_INVALID; anything else is KW_INTERNAL with a generic
 * message (an unknown error's text could hold anything, so it goes to the log only).
 */
export function classify(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof ApiError)
    return { status: statusFor(err.code), body: errorBody(err.code, err.message, err.details), internal: false };
  if (isKeywardenError(err)) {
    const status = statusFor(err.code);
    return { status, body: errorBody(err.code, err.message, err.details), internal: status >= 500 && err.code === 'KW_INTERNAL' };
  }
  const fe = err as Partial<FastifyError> | null;
  const mapped = fe && typeof fe.code === 'string' ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) {
    const message =
      mapped.message ??
      (mapped.code === 'KW_JSON_INVALID'
        ? `the request body is not valid JSON: ${fe?.message ?? ''}`
        : (fe?.message ?? mapped.code));
    return { status: statusFor(mapped.code), body: errorBody(mapped.code, message), internal: false };
  }
  if (err instanceof SyntaxError) {
    return {
      status: 400,
      body: errorBody('KW_JSON_INVALID', `the request body is not valid JSON: ${err.message}`),
      internal: false,
    };
  }
  return { status: 500, body: errorBody('KW_INTERNAL', 'internal error; see the server log'), internal: true };
}

export function sendError(
  reply: FastifyReply,
  code: ApiErrorCode | string,
  message: string,
  details: readonly unknown[] = [],
): FastifyReply {
  return reply
    .code(statusFor(code))
    .type('application/json; charset=utf-8')
    .send(errorBody(code, message, details));
}
