// A REPO given as a URL: cloned bare into a cache directory on first use, fetched on later runs.
// Credentials (from the URL's userinfo or GIT_TOKEN / GITHUB_TOKEN) reach git only as an HTTP header
// in GIT_CONFIG_* environment variables, scoped to the URL's origin: never in argv, in the stored
// remote URL, or in a message (every git error passes through `redact`).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KeywardenError } from '../../../errors/error.js';
import { firstLine, gitEnv, redact, simpleGitAt } from './exec.js';
import { type GitRepo, openRepo } from './repo.js';

/** True for `scheme://...` and scp-like `user@host:path` targets; anything else is a local path. */
export function isRemoteUrl(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(target) || /^[\w.-]+@[\w.-]+:(?!\/\/)/.test(target);
}

export interface RemoteOptions {
  env: NodeJS.ProcessEnv;
  /** Where bare clones live. */
  cacheDir: string;
}

export interface OpenedRemote {
  repo: GitRepo;
  /** The URL without credentials: safe to print, and the incremental state's key. */
  url: string;
  /** True when this run created the clone (false: fetched an existing one). */
  cloned: boolean;
}

export interface Credentials {
  /** Origin the header is scoped to, e.g. `https://github.com/`. */
  origin: string;
  username: string;
  token: string;
}

/** Splits credentials off a URL; the token comes from the URL's userinfo, else GIT_TOKEN / GITHUB_TOKEN. */
export function splitCredentials(target: string, env: NodeJS.ProcessEnv): { url: string; creds: Credentials | null } {
  if (!/^https?:\/\//i.test(target)) return { url: target, creds: null };
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    throw new KeywardenError('KW_USAGE', `not a valid repository URL: ${redact(target)}`);
  }
  const fromUrl = u.password ? decodeURIComponent(u.password) : u.username ? decodeURIComponent(u.username) : '';
  const urlUser = u.password ? decodeURIComponent(u.username) : '';
  u.username = '';
  u.password = '';
  const url = u.toString();
  const token = fromUrl || env.GIT_TOKEN || env.GITHUB_TOKEN || '';
  if (!token) return { url, creds: null };
  return {
    url,
    creds: { origin: `${u.protocol}//${u.host}/`, username: urlUser || env.GIT_USERNAME || 'x-access-token', token },
  };
}

/** GIT_CONFIG_* variables adding an Authorization header for one origin, after any the caller set. */
export function authEnv(env: NodeJS.ProcessEnv, creds: Credentials | null): Record<string, string> {
  if (!creds) return {};
  const n = Number.parseInt(env.GIT_CONFIG_COUNT ?? '0', 10) || 0;
  const basic = Buffer.from(`${creds.username}:${creds.token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: String(n + 1),
    [`GIT_CONFIG_KEY_${n}`]: `http.${creds.origin}.extraHeader`,
    [`GIT_CONFIG_VALUE_${n}`]: `Authorization: Basic ${basic}`,
  };
}

export function cachePathFor(cacheDir: string, url: string): string {
  const readable = url
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\.git$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(-80);
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 12);
  return join(cacheDir, `${readable}-${hash}.git`);
}

export async function openRemote(target: string, opts: RemoteOptions): Promise<OpenedRemote> {
  const { url, creds } = splitCredentials(target, opts.env);
  const secrets = creds
    ? [creds.token, encodeURIComponent(creds.token), Buffer.from(`${creds.username}:${creds.token}`).toString('base64')]
    : [];
  const extra = authEnv(opts.env, creds);
  const env = gitEnv(opts.env, extra);
  // ssh: fail instead of asking for a passphrase or host-key confirmation.
  if (!env.GIT_SSH_COMMAND) env.GIT_SSH_COMMAND = 'ssh -o BatchMode=yes';
  const dir = cachePathFor(opts.cacheDir, url);
  const fail = (what: string, err: unknown): never => {
    const text = err instanceof Error ? err.message : String(err);
    throw new KeywardenError('KW_SOURCE_READ', `cannot ${what} ${redact(url, secrets)}: ${firstLine(redact(text, secrets))}`);
  };
  let cloned = false;
  if (!existsSync(join(dir, 'HEAD'))) {
    mkdirSync(opts.cacheDir, { recursive: true });
    rmSync(dir, { recursive: true, force: true }); // a clone interrupted earlier
    try {
      await simpleGitAt(opts.cacheDir, env).clone(url, dir, ['--bare', '--quiet']);
      cloned = true;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      fail('clone', err);
    }
  } else {
    try {
      // Branches and tags, pruned, forced: the cache mirrors the remote (a force-push rewrites it).
      await simpleGitAt(dir, env).raw([
        'fetch',
        '--quiet',
        '--prune',
        '--no-write-fetch-head',
        'origin',
        '+refs/heads/*:refs/heads/*',
        '+refs/tags/*:refs/tags/*',
      ]);
    } catch (err) {
      fail('fetch', err);
    }
  }
  const repo = await openRepo(dir, opts.env, secrets, { ...extra, GIT_SSH_COMMAND: env.GIT_SSH_COMMAND });
  return { repo, url, cloned };
}
