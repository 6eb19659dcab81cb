// What both HTTP servers (the API and the log-shipper intake) declare about their responses: the one
// error body, each route's error responses grouped by the status the error table gives each code
// (errors/codes.ts, through http/errors.ts), and the `json(...)` response spec the OpenAPI document
// (api/document.ts) and the tests' response check (test/setup/api-responses.ts) read.
import { z } from 'zod';
import type { ErrorCode } from '../errors/codes.js';
import { statusFor } from './errors.js';

/** An OpenAPI header object, as the document shows it. */
export interface ResponseHeader {
  description: string;
  required: boolean;
  schema: Record<string, unknown>;
}

/** A documented response: a description, its media types and the headers it carries. */
export interface ResponseSpec {
  description: string;
  content: Record<string, { schema: z.ZodType }>;
  headers?: Record<string, ResponseHeader>;
}

export function json(description: string, schema: z.ZodType, headers?: Record<string, ResponseHeader>): ResponseSpec {
  return { description, content: { 'application/json': { schema } }, ...(headers ? { headers } : {}) };
}

/** Every error body: `{error:{code,message,details?}}` (http/errors.ts's `errorBody`). */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().regex(/^KW_[A-Z0-9_]+$/),
      message: z.string(),
      details: z
        .array(z.unknown())
        .optional()
        .describe('For KW_REQUEST_INVALID: `{path, message}` per field, e.g. `body.data.repo`.'),
    }),
  })
  .meta({ id: 'Error', description: 'Every error the API answers with.' });

/** Headers a code's responses always carry. */
const CODE_HEADERS: Partial<Record<ErrorCode, Record<string, Omit<ResponseHeader, 'required'>>>> = {
  KW_UNAUTHORIZED: {
    'WWW-Authenticate': { description: 'The scheme to use: `Bearer`.', schema: { type: 'string', pattern: '^Bearer ' } },
  },
  KW_INTAKE_FULL: {
    'Retry-After': {
      description: 'Seconds to wait before sending the batch again.',
      schema: { type: 'string', pattern: '^\\d+$' },
    },
  },
};

function errorBodyFor(codes: readonly [ErrorCode, ...ErrorCode[]]) {
  return z.object({
    error: z.object({
      code: z.enum(codes),
      message: z.string(),
      details: z.array(z.unknown()).optional(),
    }),
  });
}

/**
 * The error responses of a route, from the codes it answers with (`code: when`), grouped by the status
 * each code has in the error table. A header is required where every code of that status carries it.
 */
export function errorResponses(codes: Partial<Record<ErrorCode, string>>): Record<number, ResponseSpec> {
  const byStatus = new Map<number, [ErrorCode, string][]>();
  for (const [code, when] of Object.entries(codes) as [ErrorCode, string][]) {
    const status = statusFor(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), [code, when]]);
  }
  const out: Record<number, ResponseSpec> = {};
  for (const [status, entries] of byStatus) {
    const names = entries.map(([c]) => c) as [ErrorCode, ...ErrorCode[]];
    const headers: Record<string, ResponseHeader> = {};
    for (const code of names) {
      for (const [name, h] of Object.entries(CODE_HEADERS[code] ?? {})) {
        headers[name] = { ...h, required: names.every((c) => CODE_HEADERS[c]?.[name] !== undefined) };
      }
    }
    out[status] = json(
      entries.map(([c, when]) => `${c}: ${when}`).join(' '),
      errorBodyFor(names),
      Object.keys(headers).length > 0 ? headers : undefined,
    );
  }
  return out;
}
