// Every request and response schema of the HTTP API (the intake's routes included), in one module:
// routes validate requests and serialize responses with them, and the OpenAPI document
// (api/document.ts) is generated from them, so the document cannot drift from what is served.
// Patterns come from where they are defined (fingerprints from workers/jobs.ts, job states from
// workers/queue.ts, lifecycle states and events from workers/lifecycle.ts) and are not repeated here.
import { z } from 'zod';
import type { ErrorCode } from '../scanner/errors.js';
import { Finding as ScannerFinding } from '../scanner/finding.js';
import { Fingerprint, JOB_KINDS, JOB_SCHEMAS, type JobKind } from '../workers/jobs.js';
import { FindingState, LifecycleEvent } from '../workers/lifecycle.js';
import { JOB_STATES, type JobView } from '../workers/queue.js';
import type { RepoStatus } from '../workers/scheduler.js';
import type { AuditEvent, StoredFinding, StoredOccurrence } from '../workers/store.js';
import { type ApiErrorCode, STATUS_BY_CODE } from './errors.js';

// ---------------------------------------------------------------------------------------------------
// Shared pieces. A schema with a `meta({ id })` becomes one entry of `components.schemas`.

const IsoTime = z.iso
  .datetime()
  .meta({ id: 'Timestamp', description: 'An ISO 8601 time in UTC, e.g. `2025-01-31T02:00:00.000Z`.' });

export const FingerprintSchema = Fingerprint.meta({
  id: 'Fingerprint',
  description: 'A finding identity: `kw1:` and 32 hex digits (a keyed HMAC of rule and secret).',
});
export const FindingStateSchema = FindingState.meta({ id: 'FindingState', description: 'A lifecycle state.' });
export const LifecycleEventSchema = LifecycleEvent.meta({
  id: 'LifecycleEvent',
  description: 'A lifecycle event (the table is in workers/lifecycle.ts).',
});
export const JobKindSchema = z.enum(JOB_KINDS as [JobKind, ...JobKind[]]).meta({ id: 'JobKind' });
export const JobStateSchema = z.enum(JOB_STATES).meta({
  id: 'JobState',
  description: 'As BullMQ reports it; `unknown` when the job was removed meanwhile.',
});

/** Log-shipper stream names: they become a store index key and a `?stream=` filter value. */
export const STREAM_NAME_MAX = 200;
export const StreamName = z
  .string()
  .max(STREAM_NAME_MAX)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9._-]+)*$/)
  .meta({
    id: 'StreamName',
    description: `Letters, digits and \`. _ -\`, segments joined by \`/\`, at most ${STREAM_NAME_MAX} characters.`,
  });

// ---------------------------------------------------------------------------------------------------
// Requests.

/** @defaultValue limit 1000, at most 10,000. */
export const FindingsQuery = z
  .object({
    // Not the component: a parameter's own description is kept only beside an inline schema.
    state: FindingState.optional().describe('Only findings in this lifecycle state.'),
    repo: z
      .string()
      .min(1)
      .optional()
      .describe('Only findings seen in this repository (path or URL, normalized as the workers record it) or dump path.'),
    stream: z
      .string()
      .min(1)
      .optional()
      .describe('Only findings seen in this log stream (an intake path such as `web/nginx`, or a job’s stream), taken as is.'),
    rule: z.string().min(1).optional().describe('Only findings of this rule id.'),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000).describe('At most this many findings, oldest first.'),
  })
  .strict()
  // A stream name is not a path: resolving it (as `repo` is) could turn `intake` into `/srv/intake`.
  .refine((q) => q.repo === undefined || q.stream === undefined, { message: 'give repo or stream, not both', path: ['stream'] });

export const FingerprintParams = z.object({ fingerprint: FingerprintSchema }).strict();

export const JobParams = z
  .object({ id: z.string().min(1).max(300).describe('A job id, as `POST /v1/scans` returned it.') })
  .strict();

export const TransitionBody = z
  .object({
    event: LifecycleEventSchema,
    reason: z.string().trim().min(1, 'say why (kept in the audit trail)').max(2000).describe('Why: kept in the audit trail.'),
    actor: z
      .string()
      .regex(/^[\w.@+-]{1,100}$/, 'letters, digits and . @ + - _ only, at most 100')
      .optional()
      .describe('Who, as the audit trail shows it (`api:<actor>`), e.g. the person’s login. Default: `api`.'),
  })
  .strict();

const enqueueMessage = (input: unknown): string =>
  JobKindSchema.safeParse((input as { kind?: unknown } | null)?.kind).error?.issues[0]?.message ?? 'unknown job kind';

/** One variant per job kind: `data` is validated by that kind's schema in workers/jobs.ts. */
export const EnqueueBody = z.discriminatedUnion(
  'kind',
  JOB_KINDS.map((kind) => z.object({ kind: z.literal(kind), data: JOB_SCHEMAS[kind] }).strict()) as unknown as [
    z.ZodObject<{ kind: z.ZodLiteral<JobKind>; data: (typeof JOB_SCHEMAS)[JobKind] }>,
  ],
  // The same words as an unknown value of any other enum: `expected one of "scan-history"|...`.
  { error: (issue) => (issue.code === 'invalid_union' ? enqueueMessage(issue.input) : undefined) },
);

/** The wildcard under the intake's prefix: the stream name, checked by the intake (intake/server.ts). */
export const IntakeStreamParams = z.object({ '*': z.string() });

// ---------------------------------------------------------------------------------------------------
// Stored shapes (workers/store.ts, workers/queue.ts, workers/scheduler.ts), as the API serves them,
// keys in the order the workers write them (a body is encoded in its schema's key order).

export const FindingSchema = z
  .object({
    fingerprint: FingerprintSchema,
    ruleId: z.string(),
    description: z.string(),
    redacted: z.string().describe('Redacted preview; never the secret.'),
    confidence: ScannerFinding.shape.confidence,
    state: FindingStateSchema,
    firstSeen: IsoTime,
    lastSeen: IsoTime,
    stateChangedAt: IsoTime,
    stateTimes: z.partialRecord(FindingStateSchema, IsoTime).describe('When the finding last entered each state it has been in.'),
    occurrences: z.number().int().min(0),
  })
  .meta({ id: 'Finding', description: 'One secret identity (rule + keyed hash of the secret) and its lifecycle state.' });

export const OccurrenceSchema = z
  .object({
    key: z.string().describe('Stable across re-runs of the same scan (the dedupe key).'),
    target: z.string().describe('Repository, dump path or log stream.'),
    recordedAt: IsoTime,
    finding: ScannerFinding.omit({ secret: true }).describe(
      'The scanner’s finding (path, line, column, provenance), without the secret.',
    ),
    jobId: z.string().optional().describe('The job that saw it, for tracing.'),
  })
  .meta({ id: 'Occurrence', description: 'One place a finding’s secret was seen.' });

export const AuditEventSchema = z
  .object({
    id: z.string(),
    what: z.string().describe('`detected` or a lifecycle event.'),
    from: z.union([FindingStateSchema, z.literal('')]),
    to: FindingStateSchema,
    at: IsoTime,
    actor: z.string(),
    reason: z.string(),
  })
  .meta({ id: 'AuditEvent' });

export const JobSchema = z
  .object({
    id: z.string(),
    kind: JobKindSchema,
    state: JobStateSchema,
    attemptsMade: z.number().int().min(0),
    data: z.unknown().describe('The job data; for scan-log-batch, `lines` is replaced by the line count.'),
    failedReason: z.string().optional(),
    returnvalue: z
      .unknown()
      .optional()
      .describe('For scan jobs: findings, newFindings, occurrences, newOccurrences, bytes, durationMs.'),
  })
  .meta({ id: 'Job' });

export const EnqueuedSchema = z
  .object({ id: z.string(), kind: JobKindSchema, duplicate: z.boolean(), href: z.string() })
  .meta({ id: 'Enqueued' });

const RunView = z.object({
  jobId: z.string(),
  state: z.enum(['completed', 'failed']),
  finishedAt: IsoTime.nullable(),
  attemptsMade: z.number().int().min(0),
  failedReason: z.string().optional(),
});

const RepoStatusSchema = z.object({
  id: z.string(),
  repo: z.string(),
  branch: z.string().optional(),
  next: IsoTime.nullable().describe('The next run; null when the scheduler is missing (not synced, or removed).'),
  lastRun: RunView.nullable().describe('The latest finished run, among the jobs the queue still keeps.'),
});

export const SchedulesSchema = z
  .object({
    configured: z.boolean(),
    cron: z.string().optional(),
    timezone: z.string().optional(),
    every: z.number().int().optional().describe('Milliseconds.'),
    incremental: z.boolean().optional(),
    repos: z.array(RepoStatusSchema),
  })
  .meta({ id: 'Schedules' });

// ---------------------------------------------------------------------------------------------------
// Responses.

export const FindingList = z.object({ count: z.number().int().min(0), findings: z.array(FindingSchema) });
export const FindingDetail = z.object({ finding: FindingSchema, occurrences: z.array(OccurrenceSchema) });
export const AuditTrail = z.object({ fingerprint: FingerprintSchema, events: z.array(AuditEventSchema) });
export const TransitionResult = z.object({
  fingerprint: FingerprintSchema,
  event: LifecycleEventSchema,
  from: FindingStateSchema,
  to: FindingStateSchema,
  auditId: z.string(),
});
export const Liveness = z.object({ status: z.literal('ok') });
export const Readiness = z.object({ status: z.literal('ready'), redis: z.literal('ok') });
export const IntakeAccepted = z.object({
  ok: z.literal(true),
  findings: z.number().int().min(0).describe('Findings in this batch.'),
});
export const IntakeHealth = z.object({
  ok: z.literal(true),
  spooled: z.number().int().min(0).describe('Batches waiting in the spool for downstream.'),
});
/** This very document; its shape is OpenAPI's, checked by the tests. */
export const OpenApiDocumentSchema = z.looseObject({
  openapi: z.literal('3.1.0'),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

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

// ---------------------------------------------------------------------------------------------------
// Errors: `{error:{code,message,details?}}`, each route listing the codes it answers with; the status of
// each code comes from the one table in api/errors.ts.

export type ApiCode = ApiErrorCode | ErrorCode;

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
const CODE_HEADERS: Partial<Record<ApiCode, Record<string, Omit<ResponseHeader, 'required'>>>> = {
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

function errorBodyFor(codes: readonly [ApiCode, ...ApiCode[]]) {
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
 * each code has in STATUS_BY_CODE. A header is required where every code of that status carries it.
 */
export function errorResponses(codes: Partial<Record<ApiCode, string>>): Record<number, ResponseSpec> {
  const byStatus = new Map<number, [ApiCode, string][]>();
  for (const [code, when] of Object.entries(codes) as [ApiCode, string][]) {
    const status = STATUS_BY_CODE[code];
    if (status === undefined) throw new Error(`${code} has no status in STATUS_BY_CODE`);
    byStatus.set(status, [...(byStatus.get(status) ?? []), [code, when]]);
  }
  const out: Record<number, ResponseSpec> = {};
  for (const [status, entries] of byStatus) {
    const names = entries.map(([c]) => c) as [ApiCode, ...ApiCode[]];
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

/** What every route guarded by the API token can answer besides its own errors. */
export const GUARDED_ERRORS = {
  KW_UNAUTHORIZED: 'missing or wrong bearer token (`Authorization: Bearer <KEYWARDEN_API_TOKEN>`).',
  KW_REDIS: 'Redis is unreachable; retry later.',
  KW_INTERNAL: 'a bug; the message is generic and the cause is in the server log.',
} as const satisfies Partial<Record<ApiCode, string>>;

/** What a route with a JSON body can answer before the route runs. */
export const BODY_ERRORS = {
  KW_JSON_INVALID: 'the body is not JSON, or is empty.',
  KW_BODY_TOO_LARGE: 'the body is larger than the server’s limit.',
  KW_MEDIA_TYPE: 'the body is not `application/json`.',
} as const satisfies Partial<Record<ApiCode, string>>;

// ---------------------------------------------------------------------------------------------------
// Compile-time checks: each stored shape is exactly what its schema serves. When workers/ changes a
// field, this fails to compile until the schema follows (a field missing here would be stripped).

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Exact<A, B> = Equals<A, B> extends true ? true : never;

export const STORED_SHAPES_MATCH: [
  Exact<z.output<typeof FindingSchema>, StoredFinding>,
  Exact<z.output<typeof OccurrenceSchema>, StoredOccurrence>,
  Exact<z.output<typeof AuditEventSchema>, AuditEvent>,
  Exact<z.output<typeof JobSchema>, JobView>,
  Exact<z.output<typeof RepoStatusSchema>, RepoStatus>,
] = [true, true, true, true, true];
