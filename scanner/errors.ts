// Typed errors with stable codes. The CLI maps every KeywardenError to exit code 2 and one line;
// the HTTP layer maps codes to statuses in one table (api/errors.ts). Messages never contain secrets.

export type ErrorCode =
  | 'KW_RULES_INVALID'
  | 'KW_CONFIG_INVALID'
  | 'KW_USAGE'
  | 'KW_SOURCE_READ'
  | 'KW_BASELINE_INVALID'
  | 'KW_REGEX_INVALID'
  | 'KW_INTERNAL'
  | 'KW_GIT_NOT_A_REPO'
  | 'KW_GIT_UNKNOWN_REF'
  | 'KW_DUMP_CORRUPT'
  // Service layer (workers/, api/)
  | 'KW_JOB_INVALID'
  | 'KW_NOT_IMPLEMENTED'
  | 'KW_ILLEGAL_TRANSITION'
  | 'KW_FINDING_NOT_FOUND'
  | 'KW_REDIS'
  | 'KW_UNAUTHORIZED'
  | 'KW_REQUEST_INVALID'
  | 'KW_JSON_INVALID'
  // providers/: a liveness check or revocation plan cannot be built for this secret (missing or
  // malformed part, no check for this format, no base URL for the provider).
  | 'KW_PROVIDER_PLAN'
  // In-app runtime (runtime/): rotatable secrets, token manager, output guard, rotation receiver
  | 'KW_SECRET_SOURCE'
  | 'KW_SECRET_NOT_READY'
  | 'KW_TOKEN_REQUEST'
  | 'KW_OUTPUT_BLOCKED'
  | 'KW_RATE_LIMITED'
  | 'KW_WEBHOOK_REJECTED'
  | 'KW_ROTATION_FAILED';

export class KeywardenError extends Error {
  readonly code: ErrorCode;
  /** Every problem found, each already carrying its place (file > rule > field). */
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, details: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeywardenError';
    this.code = code;
    this.details = details;
  }
}

export function isKeywardenError(err: unknown): err is KeywardenError {
  return err instanceof KeywardenError;
}
