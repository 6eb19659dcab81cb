// A fake GitHub API on 127.0.0.1 for the Action's tests: the REST endpoints for pull-request review
// comments and conversation comments (paginated with Link headers as GitHub does), GraphQL review
// threads (paginated, resolve and unresolve), GET /user answering an Actions token with 403, and a
// read-only mode that answers every write with 403 as GitHub does for a fork's token. Every request
// is recorded, bodies included, so tests can prove no secret was sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface User {
  login: string;
  id: number;
  type: 'User' | 'Bot';
}

export const ACTIONS_BOT: User = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };

export interface FakeReviewComment {
  id: number;
  node_id: string;
  pull_number: number;
  body: string;
  path: string;
  line: number | null;
  side: 'RIGHT' | 'LEFT';
  commit_id: string;
  original_commit_id: string;
  in_reply_to_id?: number;
  user: User;
  created_at: string;
  updated_at: string;
}

export interface FakeIssueComment {
  id: number;
  node_id: string;
  issue_number: number;
  body: string;
  user: User;
  created_at: string;
  updated_at: string;
}

export interface FakeThread {
  id: string;
  pull_number: number;
  isResolved: boolean;
  commentIds: number[];
}

export interface RecordedRequest {
  method: string;
  /** Path without the API prefix, e.g. `/repos/o/r/pulls/7/comments`. */
  path: string;
  query: URLSearchParams;
  body: string;
  authorization: string | undefined;
  status: number;
}

export interface FakeGitHubOptions {
  owner: string;
  repo: string;
  token: string;
  /** REST prefix: '' (github.com) or '/api/v3' (GitHub Enterprise Server, GraphQL at /api/graphql). */
  prefix: '' | '/api/v3';
  /**
   * The lines of the PR diff a RIGHT-side comment may sit on, per pull number and head sha: path →
   * lines (added and context lines of the hunks). A comment elsewhere gets GitHub's 422.
   */
  diffLines: (pull: number, commitId: string) => Map<string, Set<number>> | null;
}

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly reviewComments: FakeReviewComment[] = [];
  readonly issueComments: FakeIssueComment[] = [];
  readonly threads: FakeThread[] = [];
  /** Answer writes (POST/PATCH, GraphQL mutations) with 403, as for a fork's read-only token. */
  readOnly = false;
  /** Head sha of each open pull request: a comment's commit_id must be it. */
  readonly heads = new Map<number, string>();
  /** Answers to give instead of the real one, once each (a 502 to prove retries). */
  readonly failures: { method: string; path: RegExp; status: number }[] = [];
  private nextId = 1000;
  private server: Server | null = null;
  private clock = Date.parse('2024-05-01T00:00:00Z');

  constructor(private readonly opts: FakeGitHubOptions) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: String(err) }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** `GITHUB_API_URL` for this server. */
  apiUrl(origin: string): string {
    return `${origin}${this.opts.prefix}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  /** Comments by other people and bots, as a busy PR has (each review comment starts its thread). */
  seedOthers(pull: number, count: number, path: string, commitId: string): void {
    const people: User[] = [
      { login: 'octocat', id: 1, type: 'User' },
      { login: 'hubot', id: 2, type: 'User' },
      { login: 'codecov[bot]', id: 22429695, type: 'Bot' },
      ACTIONS_BOT, // another workflow's comments, without keywarden's marker
    ];
    for (let i = 0; i < count; i++) {
      const user = people[i % people.length]!;
      const body =
        i % 7 === 0
          ? `<!-- coverage-report -->\nCoverage went up by ${i % 5}%`
          : i % 11 === 0
            ? // A person quoting what looks like a marker mid-comment must not count as keywarden's.
              `Is this right? <!-- keywarden:finding kw1:${'0'.repeat(32)} state=open -->`
            : `Nit ${i}: please rename this.`;
      this.addReviewComment(pull, { body, path, line: 1 + (i % 3), commit_id: commitId, user });
      this.addIssueComment(pull, body, user);
    }
  }

  private now(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString();
  }

  private addReviewComment(
    pull: number,
    c: { body: string; path: string; line: number; commit_id: string; user: User; in_reply_to_id?: number },
  ): FakeReviewComment {
    const id = this.nextId++;
    const t = this.now();
    const comment: FakeReviewComment = {
      id,
      node_id: `PRRC_${id}`,
      pull_number: pull,
      body: c.body,
      path: c.path,
      line: c.line,
      side: 'RIGHT',
      commit_id: c.commit_id,
      original_commit_id: c.commit_id,
      user: c.user,
      created_at: t,
      updated_at: t,
      ...(c.in_reply_to_id ? { in_reply_to_id: c.in_reply_to_id } : {}),
    };
    this.reviewComments.push(comment);
    const thread = c.in_reply_to_id ? this.threads.find((x) => x.commentIds.includes(c.in_reply_to_id!)) : undefined;
    if (thread) thread.commentIds.push(id);
    else this.threads.push({ id: `PRRT_${id}`, pull_number: pull, isResolved: false, commentIds: [id] });
    return comment;
  }

  private addIssueComment(issue: number, body: string, user: User): FakeIssueComment {
    const id = this.nextId++;
    const t = this.now();
    const c: FakeIssueComment = { id, node_id: `IC_${id}`, issue_number: issue, body, user, created_at: t, updated_at: t };
    this.issueComments.push(c);
    return c;
  }

  threadOf(commentId: number): FakeThread | undefined {
    return this.threads.find((t) => t.commentIds[0] === commentId);
  }

  /** Requests that changed something (REST writes and GraphQL mutations). */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET' && !(r.path.endsWith('graphql') && !r.body.includes('mutation')));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const graphqlPath = this.opts.prefix === '/api/v3' ? '/api/graphql' : '/graphql';
    const isGraphql = url.pathname === graphqlPath;
    const path = isGraphql
      ? 'graphql'
      : url.pathname.startsWith(this.opts.prefix)
        ? url.pathname.slice(this.opts.prefix.length)
        : '';
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: isGraphql ? url.pathname : path,
      query: url.searchParams,
      body,
      authorization: req.headers.authorization,
      status: 0,
    };
    this.requests.push(rec);
    const send = (status: number, data: unknown, headers: Record<string, string> = {}) => {
      rec.status = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(status === 204 ? undefined : JSON.stringify(data));
    };
    const auth = req.headers.authorization ?? '';
    if (auth !== `token ${this.opts.token}` && auth !== `Bearer ${this.opts.token}`)
      return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    const forbidden = () =>
      send(403, {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest/pulls/comments#create-a-review-comment-for-a-pull-request',
        status: '403',
      });

    const injected = this.failures.findIndex((f) => f.method === rec.method && f.path.test(rec.path));
    if (injected >= 0) {
      const [f] = this.failures.splice(injected, 1);
      return send(f!.status, { message: 'Server Error' });
    }
    if (isGraphql && req.method === 'POST') return this.graphql(JSON.parse(body), send);
    if (path === '') return send(404, { message: 'Not Found' });
    const repoPrefix = `/repos/${this.opts.owner}/${this.opts.repo}`;
    if (req.method === 'GET' && path === '/user') return forbidden(); // an installation token may not ask
    if (!path.startsWith(repoPrefix)) return send(404, { message: 'Not Found' });
    const rest = path.slice(repoPrefix.length);
    const route = (re: RegExp) => re.exec(rest);

    const pullComments = route(/^\/pulls\/(\d+)\/comments$/);
    if (pullComments) {
      const pull = Number(pullComments[1]);
      if (req.method === 'GET')
        return this.page(
          url,
          this.reviewComments.filter((c) => c.pull_number === pull),
          send,
        );
      if (req.method === 'POST') {
        if (this.readOnly) return forbidden();
        const b = JSON.parse(body) as { body?: string; commit_id?: string; path?: string; line?: number; side?: string };
        if (!b.body || !b.commit_id || !b.path || typeof b.line !== 'number')
          return send(422, { message: 'Validation Failed', errors: [{ code: 'missing_field' }] });
        if (b.commit_id !== this.heads.get(pull))
          return send(422, { message: 'Validation Failed', errors: ['commit_id is not part of the pull request'] });
        const lines = this.opts.diffLines(pull, b.commit_id)?.get(b.path);
        if ((b.side ?? 'RIGHT') !== 'RIGHT' || !lines?.has(b.line))
          return send(422, {
            message: 'Validation Failed',
            errors: ['pull_request_review_thread.line must be part of the diff'],
          });
        const c = this.addReviewComment(pull, {
          body: b.body,
          path: b.path,
          line: b.line,
          commit_id: b.commit_id,
          user: ACTIONS_BOT,
        });
        return send(201, c);
      }
    }
    const reviewComment = route(/^\/pulls\/comments\/(\d+)$/);
    if (reviewComment && req.method === 'PATCH') {
      if (this.readOnly) return forbidden();
      const c = this.reviewComments.find((x) => x.id === Number(reviewComment[1]));
      if (!c) return send(404, { message: 'Not Found' });
      if (c.user.login !== ACTIONS_BOT.login) return forbidden();
      c.body = (JSON.parse(body) as { body: string }).body;
      c.updated_at = this.now();
      return send(200, c);
    }
    const issueComments = route(/^\/issues\/(\d+)\/comments$/);
    if (issueComments) {
      const issue = Number(issueComments[1]);
      if (req.method === 'GET')
        return this.page(
          url,
          this.issueComments.filter((c) => c.issue_number === issue),
          send,
        );
      if (req.method === 'POST') {
        if (this.readOnly) return forbidden();
        const b = JSON.parse(body) as { body?: string };
        if (!b.body) return send(422, { message: 'Validation Failed' });
        return send(201, this.addIssueComment(issue, b.body, ACTIONS_BOT));
      }
    }
    const issueComment = route(/^\/issues\/comments\/(\d+)$/);
    if (issueComment && req.method === 'PATCH') {
      if (this.readOnly) return forbidden();
      const c = this.issueComments.find((x) => x.id === Number(issueComment[1]));
      if (!c) return send(404, { message: 'Not Found' });
      if (c.user.login !== ACTIONS_BOT.login) return forbidden();
      c.body = (JSON.parse(body) as { body: string }).body;
      c.updated_at = this.now();
      return send(200, c);
    }
    return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  }

  /** GitHub's pagination: `per_page` (default 30, at most 100), `page`, and a Link header. */
  private page<T>(url: URL, all: T[], send: (s: number, d: unknown, h?: Record<string, string>) => void): void {
    const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30) || 30);
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const items = all.slice((page - 1) * perPage, page * perPage);
    const link = (p: number, rel: string) => {
      const u = new URL(url.toString());
      u.host = `127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return `<${u.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    send(200, items, links.length > 0 ? { link: links.join(', ') } : {});
  }

  private graphql(doc: { query: string; variables?: Record<string, unknown> }, send: (s: number, d: unknown) => void) {
    const v = doc.variables ?? {};
    const q = doc.query;
    const forbidden = (type: string) =>
      send(200, {
        data: { [type]: null },
        errors: [{ type: 'FORBIDDEN', path: [type], message: 'Resource not accessible by integration' }],
      });
    if (/resolveReviewThread|unresolveReviewThread/.test(q)) {
      const resolve = !/unresolveReviewThread/.test(q);
      const name = resolve ? 'resolveReviewThread' : 'unresolveReviewThread';
      if (this.readOnly) return forbidden(name);
      const t = this.threads.find((x) => x.id === v.threadId);
      if (!t)
        return send(200, {
          data: { [name]: null },
          errors: [{ type: 'NOT_FOUND', message: `Could not resolve to a node with the global id of '${String(v.threadId)}'` }],
        });
      t.isResolved = resolve;
      return send(200, { data: { [name]: { thread: { id: t.id, isResolved: t.isResolved } } } });
    }
    if (/reviewThreads/.test(q)) {
      if (v.owner !== this.opts.owner || v.name !== this.opts.repo) return send(200, { data: { repository: null } });
      const first = Number(/reviewThreads\(first:\s*(\d+)/.exec(q)?.[1] ?? 0);
      if (!(first >= 1 && first <= 100)) return send(200, { errors: [{ message: 'first must be between 1 and 100' }] });
      const all = this.threads.filter((t) => t.pull_number === v.number);
      const start = typeof v.after === 'string' ? Number(Buffer.from(v.after, 'base64').toString().replace('cursor:', '')) : 0;
      const nodes = all.slice(start, start + first);
      const end = start + nodes.length;
      return send(200, {
        data: {
          repository: {
            pullRequest: {
              reviewThreads: {
                nodes: nodes.map((t) => ({
                  id: t.id,
                  isResolved: t.isResolved,
                  comments: { nodes: [{ databaseId: t.commentIds[0] }] },
                })),
                pageInfo: {
                  hasNextPage: end < all.length,
                  endCursor: nodes.length ? Buffer.from(`cursor:${end}`).toString('base64') : null,
                },
              },
            },
          },
        },
      });
    }
    send(200, { errors: [{ message: 'unsupported query in the fake' }] });
  }
}
