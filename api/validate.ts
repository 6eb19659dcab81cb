// Request validation with zod: every problem is reported at once, each with its place in the request
// (`body.data.repo`, `query.state`), as KW_REQUEST_INVALID (400).
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

/** Parses `value` or throws KW_REQUEST_INVALID naming each bad field under `where`. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw invalid(problemsOf(where, r.error));
  return r.data;
}
