// How fastify checks requests and writes responses with the routes' zod schemas, for both HTTP servers
// (the API's routes in api/schemas.ts, the intake's in intake/schemas.ts).
// Requests: every problem is reported at once, each with its place in the request (`body.data.repo`,
// `query.state`), as KW_REQUEST_INVALID (400). Responses: a success body is encoded by its schema, so
// what is served is what the OpenAPI document says; error bodies are built by one function
// (http/errors.ts) and written as they are, so a bug can never turn an error into a different one.
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { type FieldProblem, KeywardenError } from '../errors/error.js';

export function fieldPath(where: string, path: readonly PropertyKey[]): string {
  let out = where;
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : `.${String(k)}`;
  return out;
}

export function problemsOf(where: string, error: z.ZodError): FieldProblem[] {
  return error.issues.map((i) => ({ path: fieldPath(where, i.path), message: i.message }));
}

export function invalid(problems: readonly FieldProblem[]): KeywardenError {
  const first = problems[0];
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new KeywardenError(
    'KW_REQUEST_INVALID',
    first ? `invalid request: ${first.path}: ${first.message}${more}` : 'invalid request',
    problems.map((p) => `${p.path}: ${p.message}`),
    { fields: problems },
  );
}

/** fastify's name for each part of the request, as our field paths name it. */
const PART: Readonly<Record<string, string>> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

/** Validates each request part with its zod schema; the parsed value (defaults applied) replaces it. */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const where = PART[httpPart ?? ''] ?? 'request';
  return (data: unknown) => {
    // fastify hands a missing body over as null; a missing body is reported as `received undefined`.
    const r = schema.safeParse(where === 'body' && data === null ? undefined : data);
    return r.success ? { value: r.data } : { error: invalid(problemsOf(where, r.error)) };
  };
};

/**
 * 2xx bodies are encoded by their schema (a mismatch is a bug: KW_INTERNAL, logged); others are the
 * error body of http/errors.ts, written as is.
 */
export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = (route) => {
  if (!String(route.httpStatus ?? '').startsWith('2')) return (data: unknown) => JSON.stringify(data);
  return zodSerializerCompiler(route);
};
