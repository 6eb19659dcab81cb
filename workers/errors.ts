// Typed errors of the service layer (jobs, store, lifecycle). They extend KeywardenError so the CLI and
// the HTTP layer map them like every other error; `worker.ts` maps them to BullMQ behaviour.
import { type ErrorCode, KeywardenError } from '../scanner/errors.js';

/** The service layer's subset of `ErrorCode`. */
export type ServiceErrorCode = Extract<
  ErrorCode,
  /** Job data failed its schema: fails the job at once, never retried. */
  | 'KW_JOB_INVALID'
  /** The job kind exists but its handler belongs to a later issue: fails the job at once, visibly. */
  | 'KW_NOT_IMPLEMENTED'
  /** A lifecycle event that the finding's current state does not allow. */
  | 'KW_ILLEGAL_TRANSITION'
  /** No finding with that fingerprint in the store. */
  | 'KW_FINDING_NOT_FOUND'
  /** Redis unreachable or misconfigured (REDIS_URL). */
  | 'KW_REDIS'
>;

export class ServiceError extends KeywardenError {
  readonly serviceCode: ServiceErrorCode;
  constructor(code: ServiceErrorCode, message: string, details: readonly string[] = [], options?: { cause?: unknown }) {
    super(code, message, details, options);
    this.name = 'ServiceError';
    this.serviceCode = code;
  }
}

export function isServiceError(err: unknown, code?: ServiceErrorCode): err is ServiceError {
  return err instanceof ServiceError && (code === undefined || err.serviceCode === code);
}
