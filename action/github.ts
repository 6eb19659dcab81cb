// The GitHub API calls the Action makes, through @octokit/rest: pull-request review comments and
// conversation comments (REST, every list paginated), review threads (GraphQL, paginated; resolved
// and unresolved by mutation). `GITHUB_API_URL` is the base; for GitHub Enterprise Server
// (`https://HOST/api/v3`) octokit.graphql posts to `https://HOST/api/graphql`.
import { Octokit } from '@octokit/rest';

export interface PullRequestRef {
  owner: string;
  repo: string;
  number: number;
}

export interface Author {
  login: string;
  /** `Bot` for an app or the Actions token (github-actions[bot]), `User` for a person or a PAT. */
  type: string;
}

export interface ReviewComment {
  id: number;
  body: string;
  path: string;
  /** Head-side line; null once the comment is outdated. */
  line: number | null;
  /** Set on replies: only a thread's first comment is keywarden's. */
  inReplyTo: number | null;
  author: Author | null;
}

export interface IssueComment {
  id: number;
  body: string;
  author: Author | null;
}

export interface ReviewThread {
  id: string;
  isResolved: boolean;
}

export interface NewReviewComment {
  body: string;
  /** The PR head sha the line refers to. */
  commitId: string;
  path: string;
  line: number;
}

export interface ClientOptions {
  apiUrl: string;
  token: string;
  userAgent: string;
  /** Waits before a retry (tests pass a shorter one). @defaultValue setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

/** How an API failure should be handled. */
export type Failure = 'forbidden' | 'unprocessable' | 'other';

const PER_PAGE = 100;
/** Attempts per request when GitHub answers 5xx, 429 or a secondary rate limit. */
const ATTEMPTS = 3;
/** Longest wait the Action accepts for a rate limit before giving up on that call. */
const MAX_WAIT_MS = 60_000;

export class GitHubClient {
  private readonly octokit: Octokit;

  constructor(opts: ClientOptions) {
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    this.octokit = new Octokit({
      auth: opts.token || undefined,
      baseUrl: opts.apiUrl,
      userAgent: opts.userAgent,
      // Octokit logs deprecations and request failures with console.*; the run reports failures itself.
      log: { debug() {}, info() {}, warn() {}, error() {} },
    });
    this.octokit.hook.wrap('request', async (request, options) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await request(options);
        } catch (err) {
          const wait = attempt < ATTEMPTS ? retryDelay(err, attempt) : null;
          if (wait === null) throw err;
          await sleep(wait);
        }
      }
    });
  }

  /** The token's own login when GitHub tells (a PAT); null for the Actions token, which may not ask. */
  async viewerLogin(): Promise<string | null> {
    try {
      return (await this.octokit.rest.users.getAuthenticated()).data.login;
    } catch {
      return null;
    }
  }

  async listReviewComments(pr: PullRequestRef): Promise<ReviewComment[]> {
    const all = await this.octokit.paginate(this.octokit.rest.pulls.listReviewComments, {
      owner: pr.owner,
      repo: pr.repo,
      pull_number: pr.number,
      per_page: PER_PAGE,
    });
    return all.map((c) => ({
      id: c.id,
      body: c.body ?? '',
      path: c.path,
      line: c.line ?? null,
      inReplyTo: c.in_reply_to_id ?? null,
      author: c.user ? { login: c.user.login, type: c.user.type } : null,
    }));
  }

  async listIssueComments(pr: PullRequestRef): Promise<IssueComment[]> {
    const all = await this.octokit.paginate(this.octokit.rest.issues.listComments, {
      owner: pr.owner,
      repo: pr.repo,
      issue_number: pr.number,
      per_page: PER_PAGE,
    });
    return all.map((c) => ({ id: c.id, body: c.body ?? '', author: c.user ? { login: c.user.login, type: c.user.type } : null }));
  }

  async createReviewComment(pr: PullRequestRef, c: NewReviewComment): Promise<number> {
    const r = await this.octokit.rest.pulls.createReviewComment({
      owner: pr.owner,
      repo: pr.repo,
      pull_number: pr.number,
      body: c.body,
      commit_id: c.commitId,
      path: c.path,
      line: c.line,
      side: 'RIGHT',
    });
    return r.data.id;
  }

  async updateReviewComment(pr: PullRequestRef, id: number, body: string): Promise<void> {
    await this.octokit.rest.pulls.updateReviewComment({ owner: pr.owner, repo: pr.repo, comment_id: id, body });
  }

  async createIssueComment(pr: PullRequestRef, body: string): Promise<number> {
    const r = await this.octokit.rest.issues.createComment({ owner: pr.owner, repo: pr.repo, issue_number: pr.number, body });
    return r.data.id;
  }

  async updateIssueComment(pr: PullRequestRef, id: number, body: string): Promise<void> {
    await this.octokit.rest.issues.updateComment({ owner: pr.owner, repo: pr.repo, comment_id: id, body });
  }

  /** Each review thread by the database id of its first comment (the REST comment id). */
  async reviewThreads(pr: PullRequestRef): Promise<Map<number, ReviewThread>> {
    const out = new Map<number, ReviewThread>();
    let after: string | null = null;
    for (;;) {
      const data: ThreadsPage = await this.octokit.graphql(THREADS_QUERY, {
        owner: pr.owner,
        name: pr.repo,
        number: pr.number,
        after,
      });
      const page = data.repository?.pullRequest?.reviewThreads;
      if (!page) break;
      for (const t of page.nodes ?? []) {
        const first = t?.comments?.nodes?.[0]?.databaseId;
        if (t && typeof first === 'number') out.set(first, { id: t.id, isResolved: t.isResolved });
      }
      if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) break;
      after = page.pageInfo.endCursor;
    }
    return out;
  }

  async setThreadResolved(threadId: string, resolved: boolean): Promise<void> {
    await this.octokit.graphql(resolved ? RESOLVE_MUTATION : UNRESOLVE_MUTATION, { threadId });
  }
}

interface ThreadsPage {
  repository: {
    pullRequest: {
      reviewThreads: {
        nodes:
          | ({ id: string; isResolved: boolean; comments: { nodes: ({ databaseId: number | null } | null)[] } } | null)[]
          | null;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    } | null;
  } | null;
}

const THREADS_QUERY = `query keywardenThreads($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: ${PER_PAGE}, after: $after) {
        nodes { id isResolved comments(first: 1) { nodes { databaseId } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}`;

const RESOLVE_MUTATION = `mutation keywardenResolve($threadId: ID!) {
  resolveReviewThread(input: { threadId: $threadId }) { thread { id isResolved } }
}`;

const UNRESOLVE_MUTATION = `mutation keywardenUnresolve($threadId: ID!) {
  unresolveReviewThread(input: { threadId: $threadId }) { thread { id isResolved } }
}`;

interface HttpishError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined> };
  errors?: { type?: string; message?: string }[];
}

/** `forbidden`: the token may not write here (a fork's read-only token), REST 403 or GraphQL FORBIDDEN. */
export function classifyFailure(err: unknown): Failure {
  const e = err as HttpishError;
  if (e?.status === 403 && !isRateLimit(e)) return 'forbidden';
  if (Array.isArray(e?.errors) && e.errors.some((x) => x?.type === 'FORBIDDEN')) return 'forbidden';
  if (e?.status === 422) return 'unprocessable';
  return 'other';
}

/** A short reason safe to print: status and GitHub's message (API messages never echo request bodies). */
export function describeFailure(err: unknown): string {
  const e = err as HttpishError;
  const msg = (e?.errors?.[0]?.message ?? e?.message ?? String(err)).split('\n')[0]!.slice(0, 200);
  return e?.status ? `HTTP ${e.status}: ${msg}` : msg;
}

function isRateLimit(e: HttpishError): boolean {
  const h = e.response?.headers ?? {};
  return h['retry-after'] !== undefined || String(h['x-ratelimit-remaining']) === '0' || /rate limit/i.test(e.message ?? '');
}

/** Milliseconds to wait before retrying, or null when the failure is not one a retry can fix. */
export function retryDelay(err: unknown, attempt: number): number | null {
  const e = err as HttpishError;
  const status = e?.status;
  if (Array.isArray(e?.errors)) return null; // a GraphQL answer: GitHub replied, and meant it
  if (status === 429 || (status === 403 && isRateLimit(e))) {
    const h = e.response?.headers ?? {};
    const after = Number(h['retry-after']);
    if (Number.isFinite(after) && after >= 0) return after * 1000 <= MAX_WAIT_MS ? Math.max(after * 1000, 1000) : null;
    const reset = Number(h['x-ratelimit-reset']);
    if (Number.isFinite(reset)) {
      const ms = reset * 1000 - Date.now();
      return ms <= MAX_WAIT_MS ? Math.max(ms, 1000) : null;
    }
    // Secondary limits without a header: GitHub asks for at least a minute.
    return MAX_WAIT_MS;
  }
  // No status: the connection failed; 5xx: GitHub had a bad moment.
  if (status === undefined || status >= 500) return 500 * 2 ** (attempt - 1);
  return null;
}
