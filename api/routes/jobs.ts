// POST /v1/scans (enqueue a job of any kind), GET /v1/jobs/:id (its state and result) and
// GET /v1/schedules (the nightly scans: next run and last outcome per repository).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AccessPolicy } from '../../access/policy.js';
import { redactUrl } from '../../access/redact-url.js';
import { checkDumpPath, checkRepo, credentialsInUrlProblem } from '../../access/repo.js';
import { KeywardenError } from '../../errors/error.js';
import { type Caller, canRead } from '../../http/auth.js';
import { errorResponses, json } from '../../http/schemas.js';
import { invalid } from '../../http/validate.js';
import { JOB_KINDS, type JobKind, jobIdFor } from '../../workers/jobs.js';
import type { JobView } from '../../workers/queue.js';
import { scheduleStatus } from '../../workers/scheduler.js';
import type { ApiContext } from '../context.js';
import { BODY_ERRORS, EnqueueBody, EnqueuedSchema, GUARDED_ERRORS, JobParams, JobSchema, SchedulesSchema } from '../schemas.js';

/**
 * The job as the API shows it. A log batch is queued without its lines (processors/log-batch.ts); its
 * findings are shown as a count: fingerprints and previews are the findings routes' to show, to the
 * tokens allowed to read findings. A raw batch queued by an older submitter shows its line count only.
 * Repository URLs and the failure reason are shown without credentials (a job enqueued before they
 * were refused at submission may still hold some).
 */
export function publicJob(v: JobView): JobView {
  const shown: JobView = { ...v, ...(v.failedReason !== undefined ? { failedReason: redactUrl(v.failedReason) } : {}) };
  if (typeof v.data !== 'object' || v.data === null) return shown;
  if (v.kind === 'scan-log-batch') {
    const { lines, findings, ...rest } = v.data as { lines?: unknown; findings?: unknown };
    return {
      ...shown,
      data: {
        ...rest,
        lines: typeof lines === 'number' ? lines : Array.isArray(lines) ? lines.length : 0,
        ...(Array.isArray(findings) ? { findings: findings.length } : {}),
      },
    };
  }
  const { repo } = v.data as { repo?: unknown };
  return typeof repo === 'string' ? { ...shown, data: { ...v.data, repo: redactUrl(repo) } } : shown;
}

/**
 * The early answer to a job that names what no worker may touch: a credential in the URL is a bad
 * field (400); a refused scheme, host or path is 403 (KW_HOST_NOT_ALLOWED, KW_PATH_NOT_ALLOWED).
 * Paths are judged as given (the worker resolves symlinks); DNS is asked now and again by the worker.
 */
async function admit(kind: JobKind, data: unknown, access: AccessPolicy): Promise<void> {
  if (kind === 'scan-history' || kind === 'scan-diff') {
    const { repo } = data as { repo: string };
    const problem = credentialsInUrlProblem(repo);
    if (problem !== null) throw invalid([{ path: 'body.data.repo', message: problem }]);
    await checkRepo(repo, access, { realPaths: false });
  } else if (kind === 'scan-dump') {
    await checkDumpPath((data as { path: string }).path, access, { realPaths: false });
  }
}

/**
 * Kinds whose data is the very text secrets are looked for in: enqueued through the API, each is its
 * submitting token's own job (its id carries the token's namespace). Otherwise `duplicate: true`, or a
 * job id answering at all, would tell a caller that someone sent exactly these lines: a guess confirmed.
 */
const PER_TOKEN_KINDS: ReadonlySet<JobKind> = new Set(['scan-log-batch']);

/**
 * The job as `caller` may see it. A token that cannot read findings (`submit`) sees a job's state and
 * attempts but not its result: a scan's counts (`newFindings` above all) would say whether the secrets
 * it sent were already known, the guessing oracle scopes close (docs/security.md). A per-token job that
 * is not this caller's is not there (null), as if it did not exist.
 */
export function jobAsSeenBy(v: JobView, caller: Caller | null): JobView | null {
  const shown = publicJob(v);
  if (canRead(caller)) return shown;
  if (caller === null) return null;
  if (PER_TOKEN_KINDS.has(v.kind) && jobIdFor(v.kind, v.data, caller.namespace) !== v.id) return null;
  const { returnvalue: _result, ...withoutResult } = shown;
  // A log batch's finding count goes with the results: it is the readers' to see.
  if (v.kind === 'scan-log-batch' && typeof shown.data === 'object' && shown.data !== null) {
    const { findings: _count, ...data } = shown.data as Record<string, unknown>;
    return { ...withoutResult, data };
  }
  return withoutResult;
}

/** The queue a job id belongs to: content-derived ids start with `<kind>-`; other ids (scheduler runs) are looked up everywhere. */
function candidateKinds(id: string): JobKind[] {
  const k = JOB_KINDS.find((kind) => new RegExp(`^${kind}-[0-9a-f]{32}$`).test(id));
  return k ? [k] : [...JOB_KINDS];
}

export function registerJobRoutes(server: FastifyInstance, ctx: ApiContext): void {
  const app = server.withTypeProvider<ZodTypeProvider>();

  app.post(
    '/v1/scans',
    {
      config: { scope: 'submit' },
      schema: {
        operationId: 'enqueueScan',
        summary: 'Enqueue a job of any kind',
        description:
          'Needs scope `submit` (or `admin`). The job id is derived from kind and data, so the same request twice while the first job is queued or running (concurrent requests included) returns the same id with `duplicate: true`. A kept result (an hour after completing) answers it too for `scan-log-batch`, `scan-diff` between two commit ids, `rotate` and `confirm-revocation`; `scan-history`, `scan-diff` of ref names and `scan-dump` run again, since refs move and files change. `force: true` always runs again; a job that failed for good is replaced by the next identical request. A `scan-log-batch` is the submitting token’s own: its id also derives from the token, so `duplicate` and `GET /v1/jobs/{id}` never tell one token what another sent.',
        body: EnqueueBody,
        response: {
          202: json('Accepted; `Location` points at the job.', EnqueuedSchema, {
            Location: { description: 'The job’s URL: `/v1/jobs/<id>`.', required: true, schema: { type: 'string' } },
          }),
          ...errorResponses({
            ...GUARDED_ERRORS,
            ...BODY_ERRORS,
            KW_REQUEST_INVALID:
              'a field fails its schema (`details` lists each field path, e.g. `body.data.repo`), or a repository URL carries credentials.',
            KW_HOST_NOT_ALLOWED:
              'the repository’s scheme or host is not allowed (https and ssh only; KEYWARDEN_GIT_HOSTS; loopback, link-local and private addresses only when listed).',
            KW_PATH_NOT_ALLOWED:
              'the dump path (or local repository) is not under KEYWARDEN_DUMP_ROOTS (KEYWARDEN_REPO_ROOTS), or is not there: one answer for both.',
            KW_SOURCE_READ: 'the repository’s host name could not be resolved now (retry later; the worker checks again).',
          }),
        },
      },
    },
    async (req, reply) => {
      const body = req.body;
      await admit(body.kind, body.data, ctx.access);
      const queued = await ctx.queues.enqueue(body.kind, body.data, {
        force: body.force === true,
        ...(PER_TOKEN_KINDS.has(body.kind) && req.caller ? { namespace: req.caller.namespace } : {}),
      });
      const href = `/v1/jobs/${encodeURIComponent(queued.id)}`;
      return reply
        .code(202)
        .header('location', href)
        .send({ id: queued.id, kind: queued.kind, duplicate: queued.duplicate, href });
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      // A submitter waits for its job (CI's `--wait`), but sees no result: see `jobAsSeenBy`.
      config: { scope: ['submit', 'read'] },
      schema: {
        operationId: 'getJob',
        summary: 'A job: state, attempts, failure reason or result',
        description:
          'Needs scope `submit`, `read` or `admin`. A `submit` token sees state, attempts and failure reason but never `returnvalue` (a scan’s finding counts are for tokens that may read findings), and sees a `scan-log-batch` job only if it enqueued it (others answer 404).',
        params: JobParams,
        response: {
          200: json('The job.', JobSchema),
          ...errorResponses({
            ...GUARDED_ERRORS,
            KW_REQUEST_INVALID: 'the id is empty or longer than 300 characters.',
            KW_JOB_NOT_FOUND: 'no such job (completed jobs are kept for an hour).',
          }),
        },
      },
    },
    async (req) => {
      const { id } = req.params;
      for (const kind of candidateKinds(id)) {
        const v = await ctx.queues.get(kind, id);
        const seen = v ? jobAsSeenBy(v, req.caller) : null;
        if (seen) return seen;
      }
      throw new KeywardenError('KW_JOB_NOT_FOUND', `no job ${id} (completed jobs are kept for an hour)`);
    },
  );

  app.get(
    '/v1/schedules',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'getSchedules',
        summary: 'Nightly scans: next run and last outcome per repository',
        response: {
          200: json('The configured schedule and its state.', SchedulesSchema),
          ...errorResponses(GUARDED_ERRORS),
        },
      },
    },
    async () => {
      if (!ctx.schedule) return { configured: false, repos: [] };
      const s = ctx.schedule;
      return {
        configured: true,
        ...(s.cron !== undefined ? { cron: s.cron, timezone: s.timezone } : { every: s.every }),
        incremental: s.incremental,
        // A repository URL in the schedule file may carry credentials: never shown.
        repos: (await ctx.queues.bounded(scheduleStatus(ctx.queues.queue('scan-history'), s), 'reading the schedule')).map(
          (r) => ({
            ...r,
            repo: redactUrl(r.repo),
            ...(r.lastRun?.failedReason !== undefined
              ? { lastRun: { ...r.lastRun, failedReason: redactUrl(r.lastRun.failedReason) } }
              : {}),
          }),
        ),
      };
    },
  );
}
