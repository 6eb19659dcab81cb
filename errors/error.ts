// The one base error of keywarden: a stable `code` from the table in codes.ts, a message and details.
// Messages and details never contain secret text: they may reach a terminal, a log, an HTTP answer.
import { CODES, type CodeSpec, type ErrorCode } from './codes.js';

/** One bad field of a request, with its place (`body.data.lines[1]`), for API clients. */
export interface FieldProblem {
  /** Where in the request: `body`, `query` or `params`, then the field path (`body.data.lines[0]`). */
  readonly path: string;
  readonly message: string;
}

export class KeywardenError extends Error {
  readonly code: ErrorCode;
  /** Every problem found, each a line that already carries its place (`rules/a.yaml > rules[1].pattern: …`). */
  readonly details: readonly string[];
  /**
   * KW_REQUEST_INVALID's problems as (path, message) pairs: the HTTP body's `details` then holds these
   * instead of the lines (the lines say the same, for the CLI and logs).
   */
  readonly fields?: readonly FieldProblem[];

  constructor(
    code: ErrorCode,
    message: string,
    details: readonly string[] = [],
    options?: { cause?: unknown; fields?: readonly FieldProblem[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeywardenError';
    this.code = code;
    this.details = details;
    if (options?.fields) this.fields = options.fields;
  }
}

export function isKeywardenError(err: unknown, code?: ErrorCode): err is KeywardenError {
  return err instanceof KeywardenError && (code === undefined || err.code === code);
}

/** The code of any thrown value: its own for a KeywardenError, KW_INTERNAL for anything else. */
export function codeOf(err: unknown): ErrorCode {
  return err instanceof KeywardenError ? err.code : 'KW_INTERNAL';
}

/** The table row for any thrown value (KW_INTERNAL's for what is not ours). */
export function specOf(err: unknown): CodeSpec {
  return CODES[codeOf(err)];
}
