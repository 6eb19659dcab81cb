// The world the Action meets on a runner, built for real in a temp dir: an "origin" bare repository
// (what GitHub hosts, refs/pull/N/head and refs/pull/N/merge included), a workspace cloned from it the
// way actions/checkout does (one commit deep, the PR's merge commit checked out), the event payload
// from @octokit/webhooks-examples with this repository's shas, and the GITHUB_* environment.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { TestRepo } from '../scanner/git/fixture.js';

export const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
export const OWNER = 'octo-org';
export const REPO = 'keywarden-demo';
export const REPO_ID = 801234567;
export const TOKEN = `ghs_${'x'.repeat(8)}fake${'y'.repeat(24)}`;

const rng = seededRng(randomBytes(4).readUInt32LE(0));
/** A GitHub classic PAT with a valid checksum, made now (the built-in `github-pat` rule finds it). */
export function githubPat(): string {
  return expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: cwd,
      GIT_AUTHOR_NAME: 'CI',
      GIT_AUTHOR_EMAIL: 'ci@example.com',
      GIT_COMMITTER_NAME: 'CI',
      GIT_COMMITTER_EMAIL: 'ci@example.com',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Made for one test file and removed after it (the suite used to leave ~130 in /tmp). */
const madeDirs: string[] = [];
afterAll(() => {
  for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

/** The hosted repository plus a developer clone that pushes to it. */
export class Origin {
  readonly bare: string;
  readonly dev: TestRepo;

  constructor(root: string) {
    this.bare = join(root, 'origin.git');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', this.bare]);
    // GitHub serves any reachable commit by sha; so does this origin.
    git(this.bare, 'config', 'uploadpack.allowAnySHA1InWant', 'true');
    this.dev = new TestRepo(join(root, 'dev'));
    mkdirSync(this.dev.dir, { recursive: true });
    this.dev.git('init', '-q', '-b', 'main');
    this.dev.git('config', 'user.name', 'Ada Lovelace');
    this.dev.git('config', 'user.email', 'ada@example.com');
    this.dev.git('config', 'commit.gpgsign', 'false');
    this.dev.git('remote', 'add', 'origin', this.url);
  }

  get url(): string {
    return `file://${this.bare}`;
  }

  push(...refspecs: string[]): void {
    this.dev.git('push', '-q', '--force', 'origin', ...refspecs);
  }

  sha(ref: string): string {
    return git(this.bare, 'rev-parse', `${ref}^{commit}`).trim();
  }

  /**
   * What GitHub does for an open PR: refs/pull/N/head at the head, refs/pull/N/merge at a test merge
   * of the head into the base branch's tip. Returns the merge commit's sha.
   */
  openPull(n: number, headSha: string, base = 'main'): string {
    this.push(`${headSha}:refs/pull/${n}/head`);
    const work = mkdtempSync(join(dirname(this.bare), `merge-${n}-`));
    execFileSync('git', ['clone', '-q', this.url, work]);
    git(work, 'fetch', '-q', 'origin', `refs/pull/${n}/head`);
    git(work, 'checkout', '-q', '--detach', `origin/${base}`);
    git(work, 'merge', '-q', '--no-ff', '-m', `Merge ${headSha} into ${base}`, headSha);
    const merge = git(work, 'rev-parse', 'HEAD').trim();
    git(work, 'push', '-q', '--force', 'origin', `${merge}:refs/pull/${n}/merge`);
    return merge;
  }
}

/**
 * A workspace as actions/checkout@v4 leaves it with its defaults (fetch-depth: 1): `git init`, the
 * remote, one shallow fetch of `ref`, a detached checkout. `fetchDepth: 0` fetches every branch and tag.
 */
export function checkout(origin: Origin, ref: string, localRef: string, opts: { fetchDepth?: number } = {}): string {
  const ws = tempDir('kw-ws-');
  git(ws, 'init', '-q');
  git(ws, 'remote', 'add', 'origin', origin.url);
  if (opts.fetchDepth === 0) {
    git(
      ws,
      'fetch',
      '-q',
      '--prune',
      '--no-recurse-submodules',
      'origin',
      '+refs/heads/*:refs/remotes/origin/*',
      '+refs/tags/*:refs/tags/*',
    );
    git(ws, 'fetch', '-q', 'origin', `+${ref}:${localRef}`);
  } else {
    git(ws, 'fetch', '-q', '--no-tags', '--prune', '--no-recurse-submodules', '--depth=1', 'origin', `+${ref}:${localRef}`);
  }
  git(ws, 'checkout', '-q', '--force', localRef);
  return ws;
}

/**
 * The lines a RIGHT-side review comment may sit on: every line of every hunk of the PR's diff
 * (merge-base...head with 3 lines of context, as GitHub shows it), per path.
 */
export function commentableLines(repoDir: string, base: string, head: string): Map<string, Set<number>> {
  const mb = git(repoDir, 'merge-base', base, head).trim();
  const diff = git(repoDir, 'diff', '--no-color', '--no-renames', '-U3', mb, head);
  const out = new Map<string, Set<number>>();
  let path = '';
  for (const line of diff.split('\n')) {
    if (line.startsWith('+++ ')) {
      path = line === '+++ /dev/null' ? '' : line.slice(6);
      if (path) out.set(path, out.get(path) ?? new Set());
      continue;
    }
    const h = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (h && path) {
      const start = Number(h[1]);
      const count = h[2] === undefined ? 1 : Number(h[2]);
      for (let i = start; i < start + count; i++) out.get(path)!.add(i);
    }
  }
  return out;
}

const require = createRequire(import.meta.url);
type Example = { name: string; examples: Record<string, unknown>[] };

/** A payload GitHub sent once (webhooks-examples), for the fields this test does not set itself. */
export function examplePayload(event: string, action?: string): Record<string, unknown> {
  const all = require('@octokit/webhooks-examples/api.github.com/index.json') as Example[];
  const ex = all.find((e) => e.name === event)!.examples.find((e) => action === undefined || e.action === action)!;
  return structuredClone(ex);
}

export function repository(): Record<string, unknown> {
  const r = examplePayload('pull_request', 'synchronize').repository as Record<string, unknown>;
  return {
    ...r,
    id: REPO_ID,
    name: REPO,
    full_name: `${OWNER}/${REPO}`,
    html_url: `https://github.example/${OWNER}/${REPO}`,
    default_branch: 'main',
    owner: { ...(r.owner as object), login: OWNER },
  };
}

export interface PullPayload {
  number: number;
  baseSha: string;
  headSha: string;
  headRef: string;
  commits: number;
  action?: 'opened' | 'synchronize';
  before?: string;
  fork?: boolean;
}

/** A `pull_request` payload: the `synchronize` example with this PR's numbers and shas. */
export function pullRequestPayload(p: PullPayload): Record<string, unknown> {
  const ex = examplePayload('pull_request', 'synchronize') as {
    pull_request: Record<string, unknown> & { head: Record<string, unknown>; base: Record<string, unknown> };
  } & Record<string, unknown>;
  const repo = repository();
  const headRepo = p.fork
    ? {
        ...repo,
        id: REPO_ID + 1,
        full_name: `contributor/${REPO}`,
        fork: true,
        owner: { login: 'contributor', id: 99, type: 'User' },
      }
    : repo;
  const pr = ex.pull_request;
  return {
    ...ex,
    action: p.action ?? 'synchronize',
    number: p.number,
    ...(p.before ? { before: p.before, after: p.headSha } : {}),
    repository: repo,
    pull_request: {
      ...pr,
      number: p.number,
      state: 'open',
      commits: p.commits,
      url: `https://api.github.example/repos/${OWNER}/${REPO}/pulls/${p.number}`,
      head: {
        ...pr.head,
        sha: p.headSha,
        ref: p.headRef,
        label: `${p.fork ? 'contributor' : OWNER}:${p.headRef}`,
        repo: headRepo,
      },
      base: { ...pr.base, sha: p.baseSha, ref: 'main', label: `${OWNER}:main`, repo },
    },
  };
}

export function pushPayload(p: { ref: string; before: string; after: string; created: boolean }): Record<string, unknown> {
  const ex = examplePayload('push');
  return { ...ex, ...p, deleted: false, forced: false, base_ref: null, repository: repository() };
}

export interface RunnerRun {
  code: number | null;
  stdout: string;
  stderr: string;
  summary: string;
  outputs: Record<string, string>;
}

export interface RunnerEnvOptions {
  event: string;
  payload: Record<string, unknown>;
  workspace: string;
  apiUrl: string;
  sha: string;
  ref: string;
  home: string;
  inputs?: Record<string, string>;
  /** Variables the workflow adds (`env:`), e.g. KEYWARDEN_FINGERPRINT_KEY from a secret. */
  extraEnv?: Record<string, string>;
}

/**
 * The environment a runner gives a step: GITHUB_* (event, payload file, output and summary files),
 * RUNNER_*, and the inputs as INPUT_<NAME> with action.yml's defaults filled in.
 */
export function runnerEnv(o: RunnerEnvOptions): { env: Record<string, string>; files: { output: string; summary: string } } {
  const dir = tempDir('kw-runner-');
  const eventPath = join(dir, 'event.json');
  writeFileSync(eventPath, JSON.stringify(o.payload, null, 2));
  const output = join(dir, 'output');
  const summary = join(dir, 'step_summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  const inputs: Record<string, string> = {
    config: '',
    baseline: '',
    'fail-on': 'new',
    comment: 'both',
    sarif: 'keywarden.sarif',
    'github-token': TOKEN,
    ...o.inputs,
  };
  const base: Record<string, string> = {};
  // The runner's environment, not the test process's: no fingerprint key, no stray GITHUB_*.
  for (const k of ['PATH', 'LANG', 'TMPDIR', 'SystemRoot']) if (process.env[k]) base[k] = process.env[k]!;
  const env: Record<string, string> = {
    ...base,
    HOME: o.home,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTION: 'keywarden',
    GITHUB_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: o.event,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    GITHUB_REPOSITORY_ID: String(REPO_ID),
    GITHUB_REPOSITORY_OWNER: OWNER,
    GITHUB_WORKSPACE: o.workspace,
    GITHUB_SHA: o.sha,
    GITHUB_REF: o.ref,
    GITHUB_API_URL: o.apiUrl,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_GRAPHQL_URL: `${o.apiUrl.replace(/\/api\/v3$/, '/api')}/graphql`,
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path'),
    GITHUB_RUN_ID: '123456789',
    GITHUB_RUN_NUMBER: '42',
    GITHUB_JOB: 'keywarden',
    GITHUB_WORKFLOW: 'secrets',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_TEMP: join(dir, 'tmp'),
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  Object.assign(env, o.extraEnv);
  return { env, files: { output, summary } };
}

/**
 * `node bin/keywarden.js action` with that environment, from the workspace, as a runner step runs it.
 * Spawned asynchronously: the fake API answers from this same process.
 */
export async function runAction(o: RunnerEnvOptions): Promise<RunnerRun> {
  const { env, files } = runnerEnv(o);
  const r = await spawnAsync(process.execPath, [BIN, 'action'], { cwd: o.workspace, env });
  return { ...r, summary: readFileSync(files.summary, 'utf8'), outputs: parseOutputs(files.output) };
}

export function spawnAsync(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** GITHUB_OUTPUT's file-command format: `name<<DELIM`, value lines, `DELIM`. */
export function parseOutputs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (m) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!);
      out[m[1]!] = value.join('\n');
    } else if (lines[i]!.includes('=')) {
      const [k, ...v] = lines[i]!.split('=');
      out[k!] = v.join('=');
    }
  }
  return out;
}
