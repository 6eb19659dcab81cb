// What the Action decides from its environment alone: the scan plan per event (payloads from
// @octokit/webhooks-examples), inputs and their defaults, the fingerprint key, retry delays.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { actionFingerprintKey, readActionContext } from '../../action/context.js';
import { planScan } from '../../action/event.js';
import { classifyFailure, retryDelay } from '../../action/github.js';
import { thrown } from '../helpers/thrown.js';
import { examplePayload, pullRequestPayload, pushPayload } from './fixture.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('planScan', () => {
  it('pull_request: base and head shas from the payload; same-repository head is not a fork', () => {
    const p = planScan('pull_request', pullRequestPayload({ number: 7, baseSha: A, headSha: B, headRef: 'f', commits: 45 }));
    expect(p).toMatchObject({
      kind: 'pull_request',
      number: 7,
      baseSha: A,
      headSha: B,
      baseRef: 'main',
      fork: false,
      commits: 45,
    });
  });

  it('pull_request_target from a fork, and from a deleted fork (head.repo null)', () => {
    const payload = pullRequestPayload({ number: 8, baseSha: A, headSha: B, headRef: 'f', commits: 1, fork: true });
    expect(planScan('pull_request_target', payload)).toMatchObject({
      kind: 'pull_request',
      event: 'pull_request_target',
      fork: true,
    });
    (payload.pull_request as { head: { repo: unknown } }).head.repo = null;
    expect(planScan('pull_request', payload)).toMatchObject({ fork: true });
  });

  it('the unmodified webhooks-examples payloads parse', () => {
    expect(planScan('pull_request', examplePayload('pull_request', 'opened')).kind).toBe('pull_request');
    expect(planScan('push', examplePayload('push')).kind).toBe('push');
  });

  it('a closed pull request is skipped', () => {
    const payload = { ...pullRequestPayload({ number: 7, baseSha: A, headSha: B, headRef: 'f', commits: 1 }), action: 'closed' };
    expect(planScan('pull_request', payload)).toMatchObject({ kind: 'skip' });
  });

  it('push: before..after; a created ref has no before; a deleted one is skipped', () => {
    expect(planScan('push', pushPayload({ ref: 'refs/heads/x', before: A, after: B, created: false }))).toMatchObject({
      kind: 'push',
      before: A,
      after: B,
      defaultBranch: 'main',
    });
    expect(planScan('push', pushPayload({ ref: 'refs/heads/x', before: '0'.repeat(40), after: B, created: true }))).toMatchObject(
      {
        before: null,
      },
    );
    expect(
      planScan('push', {
        ...pushPayload({ ref: 'refs/heads/x', before: A, after: '0'.repeat(40), created: false }),
        deleted: true,
      }),
    ).toMatchObject({
      kind: 'skip',
    });
  });

  it('schedule and workflow_dispatch scan history; anything else is skipped with a reason', () => {
    expect(planScan('schedule', {}).kind).toBe('history');
    expect(planScan('workflow_dispatch', {}).kind).toBe('history');
    const skip = planScan('release', {});
    expect(skip).toMatchObject({ kind: 'skip' });
    expect(skip.kind === 'skip' && skip.reason).toContain('pull_request, pull_request_target, push, schedule, workflow_dispatch');
  });

  it('a malformed payload is KW_USAGE naming the fields', () => {
    const err = thrown(() => planScan('pull_request', { number: 1, pull_request: { base: { sha: 'nope' } } }));
    expect(err.code).toBe('KW_USAGE');
    expect(err.details.join('\n')).toContain('pull_request.base.sha');
  });
});

describe('readActionContext', () => {
  const dirs: string[] = [];
  afterEach(() => {
    vi.unstubAllEnvs();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const env = (over: Record<string, string> = {}) => {
    const d = mkdtempSync(join(tmpdir(), 'kw-ctx-'));
    dirs.push(d);
    writeFileSync(join(d, 'event.json'), '{"repository":{"id":42}}');
    return {
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: join(d, 'event.json'),
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_WORKSPACE: d,
      ...over,
    };
  };

  it('defaults: fail-on new, comment both, sarif keywarden.sarif in the workspace, token from GITHUB_TOKEN', () => {
    const e = env({ GITHUB_TOKEN: 't0ken' });
    const ctx = readActionContext(e);
    expect(ctx.inputs).toEqual({
      config: null,
      baseline: null,
      failOn: 'new',
      comment: 'both',
      sarif: join(e.GITHUB_WORKSPACE, 'keywarden.sarif'),
      githubToken: 't0ken',
    });
    expect(ctx.apiUrl).toBe('https://api.github.com');
    expect(Object.isFrozen(ctx)).toBe(true);
  });

  it('reads INPUT_<NAME> as @actions/core does (hyphens kept), GITHUB_API_URL without its trailing slash', () => {
    vi.stubEnv('INPUT_FAIL-ON', 'any');
    vi.stubEnv('INPUT_COMMENT', 'review');
    vi.stubEnv('INPUT_GITHUB-TOKEN', 'from-input');
    vi.stubEnv('INPUT_SARIF', 'out/k.sarif');
    const e = env({ GITHUB_API_URL: 'https://ghe.example/api/v3/', GITHUB_TOKEN: 'env' });
    const ctx = readActionContext(e);
    expect(ctx.inputs).toMatchObject({
      failOn: 'any',
      comment: 'review',
      githubToken: 'from-input',
      sarif: join(e.GITHUB_WORKSPACE, 'out/k.sarif'),
    });
    expect(ctx.apiUrl).toBe('https://ghe.example/api/v3');
  });

  it('reports every problem at once', () => {
    vi.stubEnv('INPUT_FAIL-ON', 'sometimes');
    vi.stubEnv('INPUT_COMMENT', 'loud');
    const err = thrown(() => readActionContext({ GITHUB_REPOSITORY: 'nope', KEYWARDEN_FINGERPRINT_KEY: 'short' }));
    expect(err.code).toBe('KW_USAGE');
    expect(err.details).toHaveLength(6);
    expect(err.details.join('\n')).not.toContain('short"');
  });
});

describe('actionFingerprintKey', () => {
  it('prefers a non-empty KEYWARDEN_FINGERPRINT_KEY; empty (a fork gets no secrets) falls back to the repository id', () => {
    expect(actionFingerprintKey({ KEYWARDEN_FINGERPRINT_KEY: 'shared-fingerprint-key-0123' }, 'o/r', {})).toMatchObject({
      origin: 'env',
    });
    const fork = actionFingerprintKey({ KEYWARDEN_FINGERPRINT_KEY: '', GITHUB_REPOSITORY_ID: '42' }, 'o/r', {});
    const same = actionFingerprintKey({}, 'O/R-renamed', { repository: { id: 42 } });
    expect(fork.origin).toBe('repository');
    expect(fork.key.equals(same.key)).toBe(true);
    expect(actionFingerprintKey({}, 'o/r', {}).key.equals(fork.key)).toBe(false);
  });
});

describe('retryDelay and classifyFailure', () => {
  const err = (status: number | undefined, headers: Record<string, string> = {}, message = '') => ({
    status,
    message,
    response: { headers },
  });
  it('retries 5xx and connection failures with backoff, rate limits after retry-after, not 4xx', () => {
    expect(retryDelay(err(502), 1)).toBe(500);
    expect(retryDelay(err(503), 2)).toBe(1000);
    expect(retryDelay(err(undefined), 1)).toBe(500);
    expect(retryDelay(err(429, { 'retry-after': '3' }), 1)).toBe(3000);
    expect(retryDelay(err(403, { 'retry-after': '2' }), 1)).toBe(2000);
    expect(retryDelay(err(403, { 'retry-after': '3600' }), 1)).toBeNull();
    expect(retryDelay(err(403, {}, 'You have exceeded a secondary rate limit'), 1)).toBe(60_000);
    expect(retryDelay(err(403), 1)).toBeNull();
    expect(retryDelay(err(422), 1)).toBeNull();
    expect(retryDelay({ errors: [{ type: 'FORBIDDEN' }] }, 1)).toBeNull();
  });
  it('a 403 without rate-limit signs, or GraphQL FORBIDDEN, is a read-only token', () => {
    expect(classifyFailure(err(403))).toBe('forbidden');
    expect(classifyFailure({ errors: [{ type: 'FORBIDDEN', message: 'Resource not accessible by integration' }] })).toBe(
      'forbidden',
    );
    expect(classifyFailure(err(403, { 'x-ratelimit-remaining': '0' }))).toBe('other');
    expect(classifyFailure(err(422))).toBe('unprocessable');
  });
});
