// The one table of keywarden's error codes. Every edge reads its own column: the HTTP layer the
// status (http/errors.ts), the CLI the exit code (cli/main.ts), the workers whether BullMQ retries
// (workers/worker.ts). A leaf: it imports nothing, so every part of keywarden may import it.

/** Every code a KeywardenError can carry. Adding one without a row in CODES is a compile error. */
export type ErrorCode =
  // Scanner and CLI
  | 'KW_USAGE'
  | 'KW_CONFIG_INVALID'
  | 'KW_RULES_INVALID'
  | 'KW_REGEX_INVALID'
  | 'KW_BASELINE_INVALID'
  | 'KW_SOURCE_READ'
  | 'KW_DUMP_CORRUPT'
  | 'KW_GIT_NOT_A_REPO'
  | 'KW_GIT_UNKNOWN_REF'
  | 'KW_GIT_COMMAND'
  | 'KW_GIT_OBJECT'
  | 'KW_INTERNAL'
  // Service: jobs, store, lifecycle
  | 'KW_JOB_INVALID'
  | 'KW_JOB_TIMEOUT'
  | 'KW_NOT_IMPLEMENTED'
  | 'KW_ILLEGAL_TRANSITION'
  | 'KW_FINDING_NOT_FOUND'
  | 'KW_REDIS'
  // HTTP (API and log-shipper intake)
  | 'KW_UNAUTHORIZED'
  | 'KW_FORBIDDEN'
  | 'KW_REQUEST_INVALID'
  | 'KW_JSON_INVALID'
  | 'KW_ROUTE_NOT_FOUND'
  | 'KW_JOB_NOT_FOUND'
  | 'KW_BODY_TOO_LARGE'
  | 'KW_MEDIA_TYPE'
  | 'KW_RATE_LIMITED'
  | 'KW_NOT_READY'
  | 'KW_INTAKE_FULL'
  // What a worker may touch, and the world outside (hardening, rotation)
  | 'KW_PATH_NOT_ALLOWED'
  | 'KW_HOST_NOT_ALLOWED'
  | 'KW_LIMIT_EXCEEDED'
  | 'KW_WEBHOOK_REJECTED'
  | 'KW_PROVIDER_UNAVAILABLE'
  | 'KW_PROVIDER_PLAN'
  // In-app runtime (runtime/): rotatable secrets, token manager, output guard, rotation receiver
  | 'KW_SECRET_SOURCE'
  | 'KW_SECRET_NOT_READY'
  | 'KW_TOKEN_REQUEST'
  | 'KW_OUTPUT_BLOCKED'
  | 'KW_ROTATION_FAILED';

/** How each edge treats a code. */
export interface CodeSpec {
  /** HTTP status the API and the intake answer with. */
  readonly status: number;
  /** Process exit code of the CLI (0 and 1 mean "no findings" and "findings": every error is 2). */
  readonly exit: number;
  /** A worker retries the job with backoff (true) or fails it at once, visibly (false: BullMQ UnrecoverableError). */
  readonly retryable: boolean;
  /** What the code means, one line (docs/api.md lists them). */
  readonly summary: string;
}

const EXIT_ERROR = 2;

export const CODES = {
  // ---- Scanner and CLI: the input, the rules or the config is wrong. Retrying changes nothing.
  KW_USAGE: { status: 400, exit: EXIT_ERROR, retryable: false, summary: 'a flag, argument or job field is unusable' },
  KW_CONFIG_INVALID: {
    status: 500,
    exit: EXIT_ERROR,
    retryable: false,
    summary: 'the config file or an environment variable is invalid (every problem listed, each naming its setting)',
  },
  KW_RULES_INVALID: { status: 500, exit: EXIT_ERROR, retryable: false, summary: 'a rule file fails its schema or RE2' },
  KW_REGEX_INVALID: { status: 500, exit: EXIT_ERROR, retryable: false, summary: 'a pattern RE2 rejects' },
  KW_BASELINE_INVALID: {
    status: 500,
    exit: EXIT_ERROR,
    retryable: false,
    summary: 'a --baseline file is not a keywarden report',
  },
  // I/O can be transient (a volume remounting, a network hiccup during a clone): retried.
  KW_SOURCE_READ: { status: 422, exit: EXIT_ERROR, retryable: true, summary: 'the source cannot be read (file, clone, fetch)' },
  // A dump still being written (a core file mid-flush) may read whole on the next try.
  KW_DUMP_CORRUPT: {
    status: 422,
    exit: EXIT_ERROR,
    retryable: true,
    summary: 'a dump is truncated or its compression is corrupt',
  },
  KW_GIT_NOT_A_REPO: { status: 422, exit: EXIT_ERROR, retryable: false, summary: 'the path is not inside a git repository' },
  KW_GIT_UNKNOWN_REF: { status: 422, exit: EXIT_ERROR, retryable: false, summary: 'a ref does not resolve to a commit' },
  // git exits non-zero on a broken repository or a bad argument; five retries would fail five times.
  KW_GIT_COMMAND: { status: 422, exit: EXIT_ERROR, retryable: false, summary: 'a git command exited non-zero' },
  // Counted in a report's stats.errors (the scan goes on); never thrown out of a scan.
  KW_GIT_OBJECT: { status: 422, exit: EXIT_ERROR, retryable: false, summary: 'git cannot produce a blob the history names' },
  // Unknown failures might be transient; the job keeps its attempts.
  KW_INTERNAL: {
    status: 500,
    exit: EXIT_ERROR,
    retryable: true,
    summary: 'a bug or an unexpected failure (details in the log only)',
  },

  // ---- Service
  KW_JOB_INVALID: {
    status: 400,
    exit: EXIT_ERROR,
    retryable: false,
    summary: 'job data fails its schema, or names nothing there',
  },
  // The same input would run as long again: fail visibly, so an operator raises the limit or drops it.
  KW_JOB_TIMEOUT: { status: 504, exit: EXIT_ERROR, retryable: false, summary: 'a job ran past its time limit' },
  KW_NOT_IMPLEMENTED: {
    status: 501,
    exit: EXIT_ERROR,
    retryable: false,
    summary: 'the job kind or route exists but is not built yet',
  },
  KW_ILLEGAL_TRANSITION: {
    status: 409,
    exit: EXIT_ERROR,
    retryable: false,
    summary: "a lifecycle event the finding's state does not allow (details list the allowed ones)",
  },
  KW_FINDING_NOT_FOUND: { status: 404, exit: EXIT_ERROR, retryable: false, summary: 'no finding with that fingerprint' },
  KW_REDIS: { status: 503, exit: EXIT_ERROR, retryable: true, summary: 'Redis is unreachable or too slow' },

  // ---- HTTP
  KW_UNAUTHORIZED: { status: 401, exit: EXIT_ERROR, retryable: false, summary: 'missing or wrong bearer token' },
  KW_FORBIDDEN: {
    status: 403,
    exit: EXIT_ERROR,
    retryable: false,
    summary: 'the token is valid but its scope does not allow this',
  },
  KW_REQUEST_INVALID: { status: 400, exit: EXIT_ERROR, retryable: false, summary: 'a field of the request fails its schema' },
  KW_JSON_INVALID: { status: 400, exit: EXIT_ERROR, retryable: false, summary: 'the body is not JSON, or empty' },
  KW_ROUTE_NOT_FOUND: { status: 404, exit: EXIT_ERROR, retryable: false, summary: 'no such route' },
  KW_JOB_NOT_FOUND: { status: 404, exit: EXIT_ERROR, retryable: false, summary: 'no such job (completed jobs are kept an hour)' },
  KW_BODY_TOO_LARGE: { status: 413, exit: EXIT_ERROR, retryable: false, summary: 'the body is over the limit (after gzip too)' },
  KW_MEDIA_TYPE: { status: 415, exit: EXIT_ERROR, retryable: false, summary: 'a Content-Type or Content-Encoding not accepted' },
  KW_RATE_LIMITED: { status: 429, exit: EXIT_ERROR, retryable: true, summary: 'too many requests; wait for Retry-After' },
  KW_NOT_READY: { status: 503, exit: EXIT_ERROR, retryable: true, summary: 'the server cannot serve yet (Redis away)' },
  KW_INTAKE_FULL: {
    status: 503,
    exit: EXIT_ERROR,
    retryable: true,
    summary: "the intake's spool is over its limit; shippers hold the batch and retry (Retry-After: 5)",
  },

  // ---- What a worker may touch, and the world outside
  // "Not allowed" and "not there" are one answer, so a caller cannot probe the worker's file system.
  KW_PATH_NOT_ALLOWED: {
    status: 403,
    exit: EXIT_ERROR,
    retryable: false,
    summary: 'a path outside the configured roots, or absent',
  },
  KW_HOST_NOT_ALLOWED: {
    status: 403,
    exit: EXIT_ERROR,
    retryable: false,
    summary: 'a URL whose scheme or host the config does not allow (private ranges unless allowed)',
  },
  KW_LIMIT_EXCEEDED: {
    status: 413,
    exit: EXIT_ERROR,
    retryable: false,
    summary: 'an input over a configured byte or count limit',
  },
  KW_WEBHOOK_REJECTED: {
    status: 401,
    exit: EXIT_ERROR,
    retryable: false,
    summary: 'an incoming webhook or callback whose signature, timestamp or token does not verify',
  },
  // A provider's outage is not an answer about the key: ask again later, never conclude "revoked".
  KW_PROVIDER_UNAVAILABLE: {
    status: 502,
    exit: EXIT_ERROR,
    retryable: true,
    summary: 'a provider did not answer usefully (timeout, connection error, 5xx)',
  },
  // A check cannot be built for this secret (missing or malformed part, no check, no base URL):
  // asking again builds the same nothing.
  KW_PROVIDER_PLAN: {
    status: 422,
    exit: EXIT_ERROR,
    retryable: false,
    summary: 'a liveness check or revocation request cannot be built for this secret',
  },

  // ---- In-app runtime (runtime/): raised inside the user's application, never by the service
  KW_SECRET_SOURCE: {
    status: 502,
    exit: EXIT_ERROR,
    retryable: true,
    summary: 'a rotatable secret could not be fetched from its source (the last good value stays)',
  },
  KW_SECRET_NOT_READY: {
    status: 503,
    exit: EXIT_ERROR,
    retryable: true,
    summary: 'a rotatable secret has no value yet (its first fetch has not succeeded)',
  },
  KW_TOKEN_REQUEST: {
    status: 502,
    exit: EXIT_ERROR,
    retryable: true,
    summary: 'the OAuth2 token endpoint refused or failed a client-credentials request',
  },
  KW_OUTPUT_BLOCKED: {
    status: 502,
    exit: EXIT_ERROR,
    retryable: false,
    summary: 'the output guard withheld a response that contains a secret',
  },
  KW_ROTATION_FAILED: {
    status: 500,
    exit: EXIT_ERROR,
    retryable: true,
    summary: "the rotation receiver's rotate, write or revoke step failed (the old key stays in use)",
  },
} as const satisfies Record<ErrorCode, CodeSpec>;

/** Every code, in table order (docs and tests walk it). */
export const ERROR_CODES = Object.keys(CODES) as ErrorCode[];
