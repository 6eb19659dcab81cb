// What to scan for the event that started the workflow: a pure function of the event name and its
// payload (GITHUB_EVENT_PATH), validated with zod at this boundary. The run (run.ts) follows the plan.
import { z } from 'zod';
import { KeywardenError } from '../errors/error.js';

/** git's all-zero sha: `before` of a push that created a ref, `after` of one that deleted it. */
export const ZERO_SHA = /^0+$/;

export type ScanPlan =
  | {
      kind: 'pull_request';
      event: 'pull_request' | 'pull_request_target';
      number: number;
      /** Payload `pull_request.base.sha` / `head.sha`: the range is merge-base(base, head)..head. */
      baseSha: string;
      headSha: string;
      baseRef: string;
      /** Head repository differs from the base repository: the token is read-only, comments answer 403. */
      fork: boolean;
      /** Commits GitHub counts in the PR (for the summary; the scan walks git, not this number). */
      commits: number | null;
      /** `https://github.com/owner/repo`, for commit links. */
      repoHtmlUrl: string | null;
    }
  | {
      kind: 'push';
      ref: string;
      /** null when the push created the ref: then the base is the default branch. */
      before: string | null;
      after: string;
      defaultBranch: string;
      repoHtmlUrl: string | null;
    }
  | { kind: 'history'; event: 'schedule' | 'workflow_dispatch'; repoHtmlUrl: string | null }
  | { kind: 'skip'; event: string; reason: string };

const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a commit sha');
const Repo = z.looseObject({ full_name: z.string(), html_url: z.string().optional(), default_branch: z.string().optional() });
const PullRequestPayload = z.looseObject({
  action: z.string().optional(),
  number: z.number().int().positive(),
  pull_request: z.looseObject({
    state: z.string().optional(),
    commits: z.number().int().optional(),
    base: z.looseObject({ sha: Sha, ref: z.string(), repo: Repo }),
    // A fork that was deleted leaves `head.repo: null`: still a fork.
    head: z.looseObject({ sha: Sha, ref: z.string(), repo: Repo.nullable() }),
  }),
  repository: Repo.optional(),
});
const PushPayload = z.looseObject({
  ref: z.string(),
  before: z.string(),
  after: z.string(),
  created: z.boolean().optional(),
  deleted: z.boolean().optional(),
  repository: Repo.extend({ default_branch: z.string() }),
});

export const SCANNED_EVENTS = ['pull_request', 'pull_request_target', 'push', 'schedule', 'workflow_dispatch'] as const;

export function planScan(eventName: string, payload: Record<string, unknown>): ScanPlan {
  switch (eventName) {
    case 'pull_request':
    case 'pull_request_target': {
      const p = parse(PullRequestPayload, payload, eventName);
      const pr = p.pull_request;
      if (p.action === 'closed' || pr.state === 'closed')
        return { kind: 'skip', event: eventName, reason: `pull request #${p.number} is closed: nothing to check` };
      return {
        kind: 'pull_request',
        event: eventName,
        number: p.number,
        baseSha: pr.base.sha,
        headSha: pr.head.sha,
        baseRef: pr.base.ref,
        fork: pr.head.repo === null || pr.head.repo.full_name !== pr.base.repo.full_name,
        commits: pr.commits ?? null,
        repoHtmlUrl: pr.base.repo.html_url ?? p.repository?.html_url ?? null,
      };
    }
    case 'push': {
      const p = parse(PushPayload, payload, eventName);
      if (p.deleted === true || ZERO_SHA.test(p.after))
        return { kind: 'skip', event: eventName, reason: `${p.ref} was deleted: nothing to scan` };
      if (!Sha.safeParse(p.after).success) throw invalid(eventName, ['after: expected a commit sha']);
      const created = p.created === true || ZERO_SHA.test(p.before);
      if (!created && !Sha.safeParse(p.before).success) throw invalid(eventName, ['before: expected a commit sha']);
      return {
        kind: 'push',
        ref: p.ref,
        before: created ? null : p.before,
        after: p.after,
        defaultBranch: p.repository.default_branch,
        repoHtmlUrl: p.repository.html_url ?? null,
      };
    }
    case 'schedule':
    case 'workflow_dispatch': {
      const repo = Repo.safeParse(payload.repository);
      return { kind: 'history', event: eventName, repoHtmlUrl: repo.success ? (repo.data.html_url ?? null) : null };
    }
    default:
      return {
        kind: 'skip',
        event: eventName,
        reason: `the "${eventName}" event has nothing for keywarden to scan (it runs on ${SCANNED_EVENTS.join(', ')})`,
      };
  }
}

function parse<T extends z.ZodType>(schema: T, payload: unknown, event: string): z.infer<T> {
  const r = schema.safeParse(payload);
  if (r.success) return r.data;
  throw invalid(
    event,
    r.error.issues.slice(0, 20).map((i) => `${i.path.map(String).join('.') || '(top level)'}: ${i.message}`),
  );
}

function invalid(event: string, details: string[]): KeywardenError {
  return new KeywardenError('KW_USAGE', `the ${event} event payload (GITHUB_EVENT_PATH) is not what GitHub sends`, details);
}
