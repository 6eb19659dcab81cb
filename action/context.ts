// The Action's configuration: its inputs (`INPUT_<NAME>`, read with @actions/core as the runner sets
// them) and the `GITHUB_*` environment, validated once at start-up, every problem reported together,
// then frozen. Nothing else in action/ reads process.env.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import * as core from '@actions/core';
import { KeywardenError } from '../errors/error.js';

/** `fail-on`: which findings fail the check. */
export const FAIL_ON = ['new', 'any', 'none'] as const;
export type FailOn = (typeof FAIL_ON)[number];

/** `comment`: where findings are shown besides the job summary and SARIF. */
export const COMMENT_MODES = ['review', 'annotations', 'both', 'none'] as const;
export type CommentMode = (typeof COMMENT_MODES)[number];

/** The inputs of action.yml, with the defaults it declares (also applied when run outside action.yml). */
export interface ActionInputs {
  /** `config`: path of a `.keywarden.yaml`, relative to the workspace. @defaultValue none: `.keywarden.yaml` at the root */
  config: string | null;
  /** `baseline`: a previous JSON report; findings in it are not new. @defaultValue none */
  baseline: string | null;
  /** `fail-on`. @defaultValue `new` */
  failOn: FailOn;
  /** `comment`. @defaultValue `both` */
  comment: CommentMode;
  /** `sarif`: where the SARIF log is written, resolved against the workspace. @defaultValue `keywarden.sarif` */
  sarif: string;
  /** `github-token`, else `GITHUB_TOKEN`. @defaultValue `${{ github.token }}` */
  githubToken: string;
}

export interface ActionContext {
  inputs: ActionInputs;
  eventName: string;
  /** The parsed `GITHUB_EVENT_PATH` file; `{}` when the runner gives none. */
  payload: Record<string, unknown>;
  owner: string;
  repo: string;
  /** Absolute. */
  workspace: string;
  /** `GITHUB_API_URL` without a trailing slash (GitHub Enterprise Server: `https://HOST/api/v3`). */
  apiUrl: string;
  /** `GITHUB_SHA`: what the workspace is checked out at (a PR's merge commit). */
  sha: string | null;
  /** The fingerprint key and where it came from (see {@link actionFingerprintKey}). */
  fingerprintKey: Buffer;
  fingerprintKeyOrigin: 'env' | 'repository';
  /**
   * Incremental history state (schedule / workflow_dispatch): the CLI's default place,
   * `$XDG_STATE_HOME/keywarden/git-state.json` (else `~/.local/state/…`), which action.yml caches
   * between runs.
   */
  historyStateFile: string;
  /** `GITHUB_STEP_SUMMARY`: the job summary file; null outside a runner. */
  summaryFile: string | null;
  /** The environment git runs with (the runner's, as given). */
  env: NodeJS.ProcessEnv;
}

const DEFAULT_API_URL = 'https://api.github.com';

/** Reads and validates everything the runner gives; throws KW_USAGE listing every problem. */
export function readActionContext(env: NodeJS.ProcessEnv): ActionContext {
  const problems: string[] = [];
  const input = (name: string): string => core.getInput(name);

  const failOn = input('fail-on') || 'new';
  if (!(FAIL_ON as readonly string[]).includes(failOn))
    problems.push(`input fail-on: expected one of ${FAIL_ON.join(', ')}; got ${JSON.stringify(failOn)}`);
  const comment = input('comment') || 'both';
  if (!(COMMENT_MODES as readonly string[]).includes(comment))
    problems.push(`input comment: expected one of ${COMMENT_MODES.join(', ')}; got ${JSON.stringify(comment)}`);

  const eventName = env.GITHUB_EVENT_NAME ?? '';
  if (!eventName) problems.push('GITHUB_EVENT_NAME is not set (run this command as a GitHub Actions step)');
  const full = env.GITHUB_REPOSITORY ?? '';
  const [owner = '', repo = '', ...rest] = full.split('/');
  if (!owner || !repo || rest.length > 0) problems.push(`GITHUB_REPOSITORY: expected owner/name, got ${JSON.stringify(full)}`);
  const workspaceEnv = env.GITHUB_WORKSPACE ?? '';
  if (!workspaceEnv) problems.push('GITHUB_WORKSPACE is not set');
  const apiUrl = (env.GITHUB_API_URL || DEFAULT_API_URL).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(apiUrl)) problems.push(`GITHUB_API_URL: not an http(s) URL: ${JSON.stringify(apiUrl)}`);

  let payload: Record<string, unknown> = {};
  const eventPath = env.GITHUB_EVENT_PATH ?? '';
  if (eventPath) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(eventPath, 'utf8'));
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) payload = parsed as Record<string, unknown>;
      else problems.push(`GITHUB_EVENT_PATH ${eventPath}: not a JSON object`);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? 'not JSON';
      problems.push(`GITHUB_EVENT_PATH ${eventPath}: cannot read the event payload (${why})`);
    }
  }

  let key: { key: Buffer; origin: 'env' | 'repository' } = { key: Buffer.alloc(0), origin: 'repository' };
  try {
    key = actionFingerprintKey(env, full, payload);
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }

  if (problems.length > 0)
    throw new KeywardenError(
      'KW_USAGE',
      `the Action cannot start (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      problems,
    );

  const workspace = resolve(workspaceEnv);
  const inputs: ActionInputs = {
    config: input('config') ? resolve(workspace, input('config')) : null,
    baseline: input('baseline') ? resolve(workspace, input('baseline')) : null,
    failOn: failOn as FailOn,
    comment: comment as CommentMode,
    sarif: resolvePath(workspace, input('sarif') || 'keywarden.sarif'),
    githubToken: input('github-token') || env.GITHUB_TOKEN || '',
  };
  return Object.freeze({
    inputs: Object.freeze(inputs),
    eventName,
    payload,
    owner,
    repo,
    workspace,
    apiUrl,
    sha: env.GITHUB_SHA || null,
    fingerprintKey: key.key,
    fingerprintKeyOrigin: key.origin,
    historyStateFile: join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'keywarden', 'git-state.json'),
    summaryFile: env.GITHUB_STEP_SUMMARY || null,
    env,
  });
}

function resolvePath(root: string, p: string): string {
  return isAbsolute(p) ? p : resolve(root, p);
}

/** Minimum length of `KEYWARDEN_FINGERPRINT_KEY`, as for the CLI (scanner/fingerprint.ts). */
const MIN_KEY_CHARS = 16;

/**
 * The key every fingerprint of this run is hashed with. `KEYWARDEN_FINGERPRINT_KEY` when it is set
 * and not empty (a repository secret). Otherwise a key derived from the repository's id: a runner
 * is a fresh machine each time, so the CLI's machine-local key would change every run and no
 * comment marker, baseline or `.keywardenignore` line would ever match again. Empty counts as unset
 * here (unlike the CLI) because a pull request from a fork gets no secrets: `${{ secrets.X }}`
 * expands to '' there, and the job must still run.
 *
 * The derived key is public, so anyone can test a guessed secret against a fingerprint. In this
 * setting that reveals nothing new: every fingerprint the Action publishes (comments, SARIF,
 * summary) belongs to a secret that sits in the repository those readers can already read.
 */
export function actionFingerprintKey(
  env: NodeJS.ProcessEnv,
  repository: string,
  payload: Record<string, unknown>,
): { key: Buffer; origin: 'env' | 'repository' } {
  const fromEnv = env.KEYWARDEN_FINGERPRINT_KEY;
  if (fromEnv !== undefined && fromEnv !== '') {
    const chars = Array.from(fromEnv).length;
    if (chars < MIN_KEY_CHARS)
      throw new Error(`KEYWARDEN_FINGERPRINT_KEY is ${chars} characters long; a fingerprint key needs at least ${MIN_KEY_CHARS}`);
    return { key: Buffer.from(fromEnv, 'utf8'), origin: 'env' };
  }
  // The id survives a rename; the name is the fallback for runners that set neither.
  const repoObj = payload.repository as { id?: unknown } | undefined;
  const id = env.GITHUB_REPOSITORY_ID || (typeof repoObj?.id === 'number' ? String(repoObj.id) : '');
  const identity = id ? `id:${id}` : `name:${repository.toLowerCase()}`;
  return { key: Buffer.from(`keywarden-action/v1 ${identity}`, 'utf8'), origin: 'repository' };
}
