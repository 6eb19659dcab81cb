// The OpenAPI 3.1 description of the HTTP API, served at GET /v1/openapi.json. Request schemas are
// generated from the same zod schemas the routes validate with, so the two cannot drift; a test checks
// that every registered route is described here (the intake's paths only when it is mounted).
import { z } from 'zod';
import { VERSION } from '../cli/version.js';
import { JOB_KINDS, JOB_SCHEMAS } from '../workers/jobs.js';
import { FindingState, LifecycleEvent } from '../workers/lifecycle.js';
import { FindingsQuery, TransitionBody } from './routes/findings.js';

type Json = Record<string, unknown>;

const jsonSchema = (s: z.ZodType): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string) => ({ description, content: { 'application/json': { schema } } });
const err = (description: string) => json(ref('Error'), description);

const stdErrors = {
  '401': err('Missing or wrong bearer token (KW_UNAUTHORIZED).'),
  '503': err('Redis unreachable (KW_REDIS, KW_NOT_READY).'),
};

const fpParam = {
  name: 'fingerprint',
  in: 'path',
  required: true,
  description: 'The finding identity: `kw1:` and 32 hex digits.',
  schema: { type: 'string', pattern: '^kw1:[0-9a-f]{32}$' },
};

function enqueueSchema(): Json {
  return {
    oneOf: JOB_KINDS.map((kind) => ({
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'data'],
      properties: { kind: { const: kind }, data: jsonSchema(JOB_SCHEMAS[kind]) },
    })),
    discriminator: { propertyName: 'kind' },
  };
}

function queryParameters(): Json[] {
  const s = jsonSchema(FindingsQuery) as { properties: Record<string, Json> };
  const descriptions: Record<string, string> = {
    state: 'Only findings in this lifecycle state.',
    repo: 'Only findings seen in this repository (path or URL, normalized as workers record it) or dump path.',
    stream: 'Only findings seen in this log stream (intake path or scan-log-batch stream), matched as given.',
    rule: 'Only findings of this rule id.',
    limit: 'At most this many findings, oldest first. Default 1000, maximum 10000.',
  };
  return Object.entries(s.properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: false,
    description: descriptions[name] ?? '',
    schema,
  }));
}

/** A fastify route URL as an OpenAPI path: `:id` → `{id}`, the intake's trailing `*` → `{stream}`. */
export function openApiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{stream}');
}

const intakeErrors = {
  '401': err('Missing or wrong intake token (KW_UNAUTHORIZED); the API token is not accepted here.'),
};

function intakeBatch(withStream: boolean): Json {
  return {
    operationId: withStream ? 'intakeStreamBatch' : 'intakeBatch',
    summary: withStream ? 'A log shipper batch for a named stream' : 'A log shipper batch (stream `intake`)',
    description:
      'Fluent Bit `http` output (`format json` or `json_lines`) or Vector `http` sink (ndjson, or json with array framing); `Content-Encoding: gzip` accepted. The body decides the framing, not Content-Type. The batch is redacted, its findings recorded in the finding store (source kind `log`, target = the stream, one `detected` audit event per new finding), then the redacted batch is forwarded downstream or spooled. 200 is sent only after the findings are recorded and the batch is downstream or fsynced in the spool; a re-sent batch adds no occurrence.',
    security: [{ intakeBearer: [] }],
    ...(withStream
      ? {
          parameters: [
            {
              name: 'stream',
              in: 'path',
              required: true,
              description:
                'The stream name findings carry: letters, digits, `. _ -`, segments separated by `/`, at most 200 characters.',
              schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)*$', maxLength: 200 },
            },
          ],
        }
      : {}),
    requestBody: {
      required: true,
      content: {
        'application/x-ndjson': { schema: { type: 'string', description: 'One JSON object per line.' } },
        'application/json': { schema: { description: 'A JSON array of records, or JSON lines (Fluent Bit before 3.0).' } },
      },
    },
    responses: {
      '200': json(
        {
          type: 'object',
          required: ['ok', 'findings'],
          properties: { ok: { const: true }, findings: { type: 'integer', description: 'Findings in this batch.' } },
        },
        'Recorded and forwarded (or durably spooled).',
      ),
      '400': err('Empty body, invalid gzip or a bad stream name (KW_REQUEST_INVALID).'),
      ...intakeErrors,
      '413': err('Body over the intake limit, after gzip decompression too (KW_BODY_TOO_LARGE).'),
      '503': err(
        'Findings could not be recorded (KW_REDIS) or the spool is full (KW_INTAKE_FULL, with Retry-After): nothing was kept; send the batch again.',
      ),
    },
  };
}

function intakePaths(): Json {
  return {
    '/v1/intake': { post: intakeBatch(false) },
    '/v1/intake/{stream}': { post: intakeBatch(true) },
    '/v1/intake/health': {
      get: {
        operationId: 'intakeHealth',
        summary: 'The intake is mounted; batches waiting in its spool',
        security: [{ intakeBearer: [] }],
        responses: {
          '200': json(
            { type: 'object', properties: { ok: { const: true }, spooled: { type: 'integer' } } },
            'Mounted; `spooled` batches wait for downstream.',
          ),
          ...intakeErrors,
        },
      },
    },
  };
}

export function openApiDocument(opts: { intake?: boolean } = {}): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'keywarden service API',
      version: VERSION,
      description:
        'Enqueue scans, read findings with their occurrences and audit trail, move findings through their lifecycle, and observe the service. Every route except /healthz, /readyz and /v1/openapi.json needs `Authorization: Bearer <KEYWARDEN_API_TOKEN>`, except the log-shipper intake (/v1/intake, when mounted), which needs its own `KEYWARDEN_INTAKE_TOKEN`. Errors are always `{"error":{"code","message","details?"}}`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: 'http://127.0.0.1:8787' }],
    security: [{ bearer: [] }],
    paths: {
      '/v1/scans': {
        post: {
          operationId: 'enqueueScan',
          summary: 'Enqueue a job of any kind',
          description:
            'The job id is derived from kind and data, so the same request twice while the first job is queued, running or kept (an hour after completing) returns the same id with `duplicate: true`.',
          requestBody: { required: true, content: { 'application/json': { schema: enqueueSchema() } } },
          responses: {
            '202': json(ref('Enqueued'), 'Accepted; `Location` points at the job.'),
            '400': err(
              'Invalid JSON (KW_JSON_INVALID) or a field failing its schema (KW_REQUEST_INVALID; `details` lists each field path).',
            ),
            '413': err('Body larger than the server limit (KW_BODY_TOO_LARGE).'),
            '415': err('Body not application/json (KW_MEDIA_TYPE).'),
            ...stdErrors,
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          operationId: 'getJob',
          summary: 'A job: state, attempts, failure reason or result',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': json(ref('Job'), 'The job.'), '404': err('No such job (KW_JOB_NOT_FOUND).'), ...stdErrors },
        },
      },
      '/v1/schedules': {
        get: {
          operationId: 'getSchedules',
          summary: 'Nightly scans: next run and last outcome per repository',
          responses: { '200': json(ref('Schedules'), 'The configured schedule and its state.'), ...stdErrors },
        },
      },
      '/v1/findings': {
        get: {
          operationId: 'listFindings',
          summary: 'Findings matching every given filter',
          parameters: queryParameters(),
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['count', 'findings'],
                properties: { count: { type: 'integer' }, findings: { type: 'array', items: ref('Finding') } },
              },
              'The findings.',
            ),
            '400': err('Unknown filter or bad value (KW_REQUEST_INVALID).'),
            ...stdErrors,
          },
        },
      },
      '/v1/findings/{fingerprint}': {
        get: {
          operationId: 'getFinding',
          summary: 'One finding with all its occurrences',
          parameters: [fpParam],
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['finding', 'occurrences'],
                properties: { finding: ref('Finding'), occurrences: { type: 'array', items: ref('Occurrence') } },
              },
              'The finding.',
            ),
            '400': err('Malformed fingerprint (KW_REQUEST_INVALID).'),
            '404': err('No such finding (KW_FINDING_NOT_FOUND).'),
            ...stdErrors,
          },
        },
      },
      '/v1/findings/{fingerprint}/audit': {
        get: {
          operationId: 'getFindingAudit',
          summary: 'The finding’s audit trail, oldest first',
          parameters: [fpParam],
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['fingerprint', 'events'],
                properties: { fingerprint: { type: 'string' }, events: { type: 'array', items: ref('AuditEvent') } },
              },
              'The audit events.',
            ),
            '400': err('Malformed fingerprint (KW_REQUEST_INVALID).'),
            '404': err('No such finding (KW_FINDING_NOT_FOUND).'),
            ...stdErrors,
          },
        },
      },
      '/v1/findings/{fingerprint}/transitions': {
        post: {
          operationId: 'transitionFinding',
          summary: 'Apply a lifecycle event (audited)',
          parameters: [fpParam],
          requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(TransitionBody) } } },
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['fingerprint', 'event', 'from', 'to', 'auditId'],
                properties: {
                  fingerprint: { type: 'string' },
                  event: { type: 'string' },
                  from: ref('FindingState'),
                  to: ref('FindingState'),
                  auditId: { type: 'string' },
                },
              },
              'The transition made.',
            ),
            '400': err('Invalid JSON or body (KW_JSON_INVALID, KW_REQUEST_INVALID).'),
            '404': err('No such finding (KW_FINDING_NOT_FOUND).'),
            '409': err(
              'The event is not allowed from the finding’s current state (KW_ILLEGAL_TRANSITION; `details` lists the allowed events).',
            ),
            ...stdErrors,
          },
        },
      },
      '/healthz': {
        get: {
          operationId: 'liveness',
          summary: 'Liveness: the process serves HTTP',
          security: [],
          responses: { '200': json({ type: 'object', properties: { status: { const: 'ok' } } }, 'Alive.') },
        },
      },
      '/readyz': {
        get: {
          operationId: 'readiness',
          summary: 'Readiness: Redis answers PING',
          security: [],
          responses: {
            '200': json({ type: 'object', properties: { status: { const: 'ready' } } }, 'Ready.'),
            '503': err('Redis unreachable (KW_NOT_READY).'),
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics',
          description:
            'keywarden_queue_depth{queue,state}, keywarden_job_duration_seconds{queue,outcome} (histogram), keywarden_findings{state}, keywarden_time_to_revocation_seconds (histogram), with the intake mounted keywarden_intake_batches_total{outcome}, keywarden_intake_bytes_total and keywarden_intake_findings_total, and Node process metrics.',
          responses: {
            '200': {
              description: 'Prometheus text exposition format 0.0.4.',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            ...stdErrors,
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          security: [],
          responses: { '200': json({ type: 'object' }, 'The OpenAPI 3.1 description.') },
        },
      },
      ...(opts.intake ? intakePaths() : {}),
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The value of KEYWARDEN_API_TOKEN.' },
        ...(opts.intake
          ? {
              intakeBearer: {
                type: 'http',
                scheme: 'bearer',
                description: 'The value of KEYWARDEN_INTAKE_TOKEN: what log shippers hold; it opens nothing but /v1/intake.',
              },
            }
          : {}),
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', examples: ['KW_REQUEST_INVALID'] },
                message: { type: 'string' },
                details: {
                  type: 'array',
                  items: {},
                  description: 'For KW_REQUEST_INVALID: `{path, message}` per field, e.g. `body.data.repo`.',
                },
              },
            },
          },
        },
        FindingState: jsonSchema(FindingState),
        LifecycleEvent: jsonSchema(LifecycleEvent),
        Enqueued: {
          type: 'object',
          required: ['id', 'kind', 'duplicate', 'href'],
          properties: {
            id: { type: 'string' },
            kind: { enum: JOB_KINDS },
            duplicate: { type: 'boolean' },
            href: { type: 'string' },
          },
        },
        Job: {
          type: 'object',
          required: ['id', 'kind', 'state', 'attemptsMade'],
          properties: {
            id: { type: 'string' },
            kind: { enum: JOB_KINDS },
            state: {
              enum: ['waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'completed', 'failed', 'unknown'],
            },
            attemptsMade: { type: 'integer' },
            failedReason: { type: 'string' },
            returnvalue: { description: 'For scan jobs: findings, newFindings, occurrences, newOccurrences, bytes, durationMs.' },
            data: { description: 'The job data; for scan-log-batch, `lines` is replaced by the line count.' },
          },
        },
        Finding: {
          type: 'object',
          required: ['fingerprint', 'ruleId', 'state', 'firstSeen', 'lastSeen', 'occurrences'],
          properties: {
            fingerprint: { type: 'string' },
            ruleId: { type: 'string' },
            description: { type: 'string' },
            redacted: { type: 'string', description: 'Redacted preview; never the secret.' },
            confidence: { enum: ['high', 'medium', 'low', 'info'] },
            state: ref('FindingState'),
            firstSeen: { type: 'string', format: 'date-time' },
            lastSeen: { type: 'string', format: 'date-time' },
            stateChangedAt: { type: 'string', format: 'date-time' },
            stateTimes: { type: 'object', additionalProperties: { type: 'string', format: 'date-time' } },
            occurrences: { type: 'integer' },
          },
        },
        Occurrence: {
          type: 'object',
          required: ['key', 'target', 'recordedAt', 'finding'],
          properties: {
            key: { type: 'string' },
            target: { type: 'string', description: 'Repository, dump path or log stream.' },
            jobId: { type: 'string' },
            recordedAt: { type: 'string', format: 'date-time' },
            finding: {
              type: 'object',
              description: 'The scanner’s finding (path, line, column, source provenance...), without the secret.',
            },
          },
        },
        AuditEvent: {
          type: 'object',
          required: ['id', 'what', 'from', 'to', 'at', 'actor', 'reason'],
          properties: {
            id: { type: 'string' },
            what: { type: 'string', description: '`detected` or a lifecycle event.' },
            from: { type: 'string' },
            to: ref('FindingState'),
            at: { type: 'string', format: 'date-time' },
            actor: { type: 'string' },
            reason: { type: 'string' },
          },
        },
        Schedules: {
          type: 'object',
          required: ['configured', 'repos'],
          properties: {
            configured: { type: 'boolean' },
            cron: { type: 'string' },
            timezone: { type: 'string' },
            every: { type: 'integer', description: 'Milliseconds.' },
            incremental: { type: 'boolean' },
            repos: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  repo: { type: 'string' },
                  branch: { type: 'string' },
                  next: { type: ['string', 'null'], format: 'date-time' },
                  lastRun: {
                    type: ['object', 'null'],
                    properties: {
                      jobId: { type: 'string' },
                      state: { enum: ['completed', 'failed'] },
                      finishedAt: { type: ['string', 'null'] },
                      attemptsMade: { type: 'integer' },
                      failedReason: { type: 'string' },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}
