// How the HTTP layer answers an error: the status from the error table's `status` column
// (errors/codes.ts), and the one error body every route sends: `{ error: { code, message, details? } }`.
// Messages never carry secret text (KeywardenError's rule).
import type { FastifyError, FastifyReply } from 'fastify';
import { CODES, type ErrorCode } from '../errors/codes.js';
import { type FieldProblem, isKeywardenError } from '../errors/error.js';

/** The HTTP status of a code: the table's `status` column (errors/codes.ts). */
export function statusFor(code: ErrorCode): number {
  return CODES[code].status;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: readonly (string | FieldProblem)[] };
}

export function errorBody(code: ErrorCode, message: string, details: readonly (string | FieldProblem)[] = []): ErrorBody {
  return details.length > 0 ? { error: { code, message, details } } : { error: { code, message } };
}

/** Fastify's own request errors (body parsing), renamed into our codes. */
const FASTIFY_CODES: Readonly<Record<string, { code: ErrorCode; message?: string }>> = {
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
  if (isKeywardenError(err)) {
    return {
      status: statusFor(err.code),
      body: errorBody(err.code, err.message, err.fields ?? err.details),
      internal: err.code === 'KW_INTERNAL',
    };
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
      status: statusFor('KW_JSON_INVALID'),
      body: errorBody('KW_JSON_INVALID', `the request body is not valid JSON: ${err.message}`),
      internal: false,
    };
  }
  return {
    status: statusFor('KW_INTERNAL'),
    body: errorBody('KW_INTERNAL', 'internal error; see the server log'),
    internal: true,
  };
}

export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  details: readonly (string | FieldProblem)[] = [],
): FastifyReply {
  return reply
    .code(statusFor(code))
    .type('application/json; charset=utf-8')
    .send(errorBody(code, message, details));
}
