// Every request and response schema of the HTTP API, in one module: routes validate requests and
// serialize responses with them, and the OpenAPI document (api/document.ts) is generated from them, so
// the document cannot drift from what is served. The intake's routes have theirs in intake/schemas.ts,
// the error responses of both servers are http/schemas.ts's. Nothing here redeclares a shape that is
// defined elsewhere: findings and occurrences are the store's schemas (workers/store.ts, over the model
// in model/finding.ts), job data and results the schemas of workers/jobs.ts, job states workers/queue.ts's,
// lifecycle events workers/lifecycle.ts's.
import { z } from 'zod';
import type { ErrorCode } from '../errors/codes.js';
import { FindingState, Fingerprint, Provenance, Span } from '../model/finding.js';
import { CallbackRequest } from '../rotation/callback.js';
import { JOB_KINDS, JOB_RESULT_SCHEMAS, JOB_SCHEMAS, type JobKind, ScanOutcome, TransitionOutcome } from '../workers/jobs.js';
import { LifecycleEvent } from '../workers/lifecycle.js';
import { JOB_STATES, type JobView } from '../workers/queue.js';
import type { RepoStatus } from '../workers/scheduler.js';
import { type AuditEvent, IsoTime, StoredFinding, StoredOccurrence } from '../workers/store.js';

// ---------------------------------------------------------------------------------------------------
// Shared pieces. A schema with an `id` in zod's registry becomes one entry of `components.schemas`,
// and every schema nesting it refers to it.

/**
 * Names a schema of the model, the store or the jobs as a component of the document. The very object
 * is registered, not a copy (`.meta()` would make one): the store's `StoredFinding` nests the model's
 * `Fingerprint`, and only the same object is written as a `$ref` to the component.
 */
function component<S extends z.ZodType>(schema: S, meta: { id: string; description?: string }): S {
  z.globalRegistry.add(schema, meta);
  return schema;
}

const Timestamp = component(IsoTime, {
  id: 'Timestamp',
  description: 'An ISO 8601 time in UTC, e.g. `2025-01-31T02:00:00.000Z`.',
});
export const FingerprintSchema = component(Fingerprint, {
  id: 'Fingerprint',
  description: 'A finding identity: `kw1:` and 32 hex digits (a keyed HMAC of rule and secret).',
});
export const FindingStateSchema = component(FindingState, { id: 'FindingState', description: 'A lifecycle state.' });
component(Provenance, {
  id: 'Provenance',
  description: 'Where the content came from: a file, stdin, a git blob, a dump offset or a log stream (by `kind`).',
});
component(Span, {
  id: 'Span',
  description: '1-based lines and columns (UTF-16 code units; bytes for dumps), `endColumn` exclusive.',
});
export const LifecycleEventSchema = LifecycleEvent.meta({
  id: 'LifecycleEvent',
  description: 'A lifecycle event (the table is in workers/lifecycle.ts).',
});
export const JobKindSchema = z.enum(JOB_KINDS as [JobKind, ...JobKind[]]).meta({ id: 'JobKind' });
export const JobStateSchema = z.enum(JOB_STATES).meta({
  id: 'JobState',
  description: 'As BullMQ reports it; `unknown` when the job was removed meanwhile.',
});

// ---------------------------------------------------------------------------------------------------
// Requests.

/** @defaultValue limit 1000, at most 10,000. */
export const FindingsQuery = z
  .object({
    // Not the component: a parameter's own description is kept only beside an inline schema.
    state: z.enum(FindingState.options).optional().describe('Only findings in this lifecycle state.'),
    repo: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Only findings seen in this repository or dump path (a path or URL, named by `targetOf` in scanner/target.ts as the workers name it).',
      ),
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

// ---------------------------------------------------------------------------------------------------
// What the store and the queues keep (workers/store.ts, workers/queue.ts, workers/scheduler.ts), as the
// API serves them (a body is encoded in its schema's key order).

/** The store's finding: the model's finding without secret and occurrences, with its times and count. */
export const FindingSchema = component(StoredFinding, {
  id: 'Finding',
  description:
    'One secret identity (rule + keyed hash of the secret) and its lifecycle state; its occurrences are read with the finding (`GET /v1/findings/{fingerprint}`).',
});

/** The store's occurrence: the model's (provenance, span, encoding) with its dedupe key and record time. */
export const OccurrenceSchema = component(StoredOccurrence, {
  id: 'Occurrence',
  description: 'One place a finding’s secret was seen; `key` is stable across re-runs of the same scan (the dedupe key).',
});

export const AuditEventSchema = z
  .object({
    id: z.string(),
    what: z.string().describe('`detected` or a lifecycle event.'),
    from: z.union([FindingStateSchema, z.literal('')]),
    to: FindingStateSchema,
    at: Timestamp,
    actor: z.string(),
    reason: z.string(),
  })
  .meta({ id: 'AuditEvent' });

component(ScanOutcome, { id: 'ScanOutcome', description: 'What a scan job returns.' });
component(TransitionOutcome, { id: 'TransitionOutcome', description: 'What a job acting on one finding returns.' });

const jobOf = <K extends JobKind>(kind: K) =>
  z.object({
    id: z.string(),
    kind: z.literal(kind),
    state: JobStateSchema,
    attemptsMade: z.number().int().min(0),
    data: z.unknown().describe('The job data; for scan-log-batch, `lines` is replaced by the line count.'),
    failedReason: z.string().optional(),
    returnvalue: JOB_RESULT_SCHEMAS[kind].optional(),
  });

/** A job as `GET /v1/jobs/{id}` shows it: its result is its kind's (JOB_RESULT_SCHEMAS in workers/jobs.ts). */
export const JobSchema = z
  .discriminatedUnion('kind', JOB_KINDS.map(jobOf) as unknown as [ReturnType<typeof jobOf<JobKind>>])
  .meta({ id: 'Job', description: 'A job: its state, attempts, failure reason, and once completed what it returned.' });

export const EnqueuedSchema = z
  .object({ id: z.string(), kind: JobKindSchema, duplicate: z.boolean(), href: z.string() })
  .meta({ id: 'Enqueued' });

const RunView = z.object({
  jobId: z.string(),
  state: z.enum(['completed', 'failed']),
  finishedAt: Timestamp.nullable(),
  attemptsMade: z.number().int().min(0),
  failedReason: z.string().optional(),
});

const RepoStatusSchema = z.object({
  id: z.string(),
  repo: z.string(),
  branch: z.string().optional(),
  next: Timestamp.nullable().describe('The next run; null when the scheduler is missing (not synced, or removed).'),
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
/** This very document; its shape is OpenAPI's, checked by the tests. */
export const OpenApiDocumentSchema = z.looseObject({
  openapi: z.literal('3.1.0'),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

// ---------------------------------------------------------------------------------------------------
// The rotation loop (api/routes/rotation.ts, api/routes/github.ts). The callback body is rotation/'s.

export const CallbackBody = CallbackRequest.meta({
  id: 'CallbackBody',
  description:
    'Optional. `revoked`: the receiver’s claim that the old key is revoked (recorded, never taken as confirmation: only the provider’s answer closes the finding); `note`: kept in the audit trail after redaction. Other fields are ignored.',
});

export const CallbackResult = z
  .object({
    fingerprint: FingerprintSchema,
    from: FindingStateSchema,
    state: FindingStateSchema.describe(
      '`rotated` (or `revocation_pending` when keywarden is already confirming a self-revocation).',
    ),
    confirmation: z.object({
      round: z.number().int().min(1),
      firstCheckAt: Timestamp.describe('When the first liveness check runs (KEYWARDEN_REVOCATION_FIRST_POLL after now).'),
    }),
  })
  .meta({ id: 'CallbackResult' });

export const RotationActionBody = z
  .object({
    reason: z.string().trim().min(1).max(2000).optional().describe('Why: kept in the audit trail.'),
    actor: z
      .string()
      .regex(/^[\w.@+-]{1,100}$/, 'letters, digits and . @ + - _ only, at most 100')
      .optional()
      .describe('Who, as the audit trail shows it (`api:<actor>`). Default: `api`.'),
  })
  .strict();

export const RotateResult = z
  .object({
    fingerprint: FingerprintSchema,
    request: z.number().int().min(1).describe('The request’s number (1 was the policy’s); its idempotency key is the finding’s.'),
    targets: z.array(z.string()).describe('The rotation targets it goes to; workers deliver and retry.'),
  })
  .meta({ id: 'RotateResult' });

export const VerifyResult = z
  .object({
    fingerprint: FingerprintSchema,
    ruleId: z.string(),
    provider: z.string(),
    verdict: z.enum(['live', 'revoked', 'unknown']),
    reason: z.string().describe('Why, in one line; never the secret.'),
    trusted: z
      .boolean()
      .optional()
      .describe('For `revoked`: whether the loop believes it (an `after-live` check needs a key once seen live).'),
    status: z.number().int().optional().describe('The provider’s HTTP status, when it answered.'),
    call: z.string().optional().describe('What was called, e.g. `GET https://api.github.com/user`.'),
    durationMs: z.number().optional(),
  })
  .meta({ id: 'VerifyResult' });

const StoredDecisionSchema = z.object({
  action: z.enum(['rotate', 'notify', 'none']),
  rotationTargets: z.array(z.string()),
  notifyTargets: z.array(z.string()),
  selfRevoke: z.string(),
  reason: z.string(),
  at: z.number().describe('Epoch milliseconds.'),
});

export const LifecycleResult = z
  .object({
    fingerprint: FingerprintSchema,
    state: FindingStateSchema,
    lifecycle: z
      .array(z.object({ state: FindingStateSchema, at: Timestamp, event: z.string(), actor: z.string(), reason: z.string() }))
      .describe('Each state the finding entered, oldest first, with the event, who and why.'),
    rotation: z.object({
      provider: z.string(),
      providerKey: z.string().nullable(),
      decision: StoredDecisionSchema.nullable().describe('What the rotation policy decided when the finding was new.'),
      requests: z.number().int().min(0),
      confirmationRounds: z.number().int().min(0),
      checksThisRound: z.number().int().min(0),
      seenLive: z.boolean().describe('The provider once accepted the key (what `after-live` checks need to believe `revoked`).'),
      rawSecret: z.string().describe('Whether the raw secret is kept (sealed with AES-256-GCM) or why not.'),
      liveness: z.string().describe('Whether keywarden can ask the provider about this key, and if not why.'),
      githubAlerts: z.array(z.object({ repository: z.string(), number: z.number().int(), url: z.string() })),
    }),
  })
  .meta({ id: 'Lifecycle' });

export const GitHubWebhookBody = z
  .looseObject({ action: z.string().optional() })
  .describe(
    'A GitHub webhook delivery, signed with `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with KEYWARDEN_GITHUB_WEBHOOK_SECRET). `secret_scanning_alert` events with action `created`, `reopened` or `publicly_leaked` are taken; others are acknowledged.',
  );

export const GitHubWebhookResult = z
  .union([
    z.object({
      status: z.literal('recorded'),
      fingerprint: FingerprintSchema,
      ruleId: z.string(),
      newFinding: z.boolean(),
      locations: z.number().int().min(0),
      loop: z.enum(['started', 'already running']),
    }),
    z.object({ status: z.literal('ignored'), event: z.string().optional(), action: z.string().optional() }),
  ])
  .meta({ id: 'GitHubWebhookResult' });

export const GitHubPong = z.object({ status: z.literal('pong') });

// ---------------------------------------------------------------------------------------------------
// Errors: the codes each route answers with (http/schemas.ts's `errorResponses` gives each its status).

/** What every route guarded by the API token can answer besides its own errors. */
export const GUARDED_ERRORS = {
  KW_UNAUTHORIZED: 'missing or wrong bearer token (`Authorization: Bearer <KEYWARDEN_API_TOKEN>`).',
  KW_REDIS: 'Redis is unreachable; retry later.',
  KW_INTERNAL: 'a bug; the message is generic and the cause is in the server log.',
} as const satisfies Partial<Record<ErrorCode, string>>;

/** What a route with a JSON body can answer before the route runs. */
export const BODY_ERRORS = {
  KW_JSON_INVALID: 'the body is not JSON, or is empty.',
  KW_BODY_TOO_LARGE: 'the body is larger than the server’s limit.',
  KW_MEDIA_TYPE: 'the body is not `application/json`.',
} as const satisfies Partial<Record<ErrorCode, string>>;

// ---------------------------------------------------------------------------------------------------
// Compile-time checks: the shapes workers/ declares as TypeScript types (not zod schemas) are exactly
// what their schema here serves. When workers/ changes a field, this fails to compile until the schema
// follows (a field missing here would be stripped). Findings, occurrences and job results need no
// check: their schemas are workers/'s own.

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Exact<A, B> = Equals<A, B> extends true ? true : never;

/** A job's fields but the two its kind decides (the kind itself and, by JOB_RESULT_SCHEMAS, its result). */
type JobFields<J> = Omit<J, 'kind' | 'returnvalue'>;

export const WORKER_SHAPES_MATCH: [
  Exact<z.output<typeof AuditEventSchema>, AuditEvent>,
  Exact<JobFields<z.output<typeof JobSchema>>, JobFields<JobView>>,
  Exact<z.output<typeof RepoStatusSchema>, RepoStatus>,
] = [true, true, true];
