// A REPO given as a URL: cloned bare into a cache directory on first use, fetched on later runs.
// What may be fetched and where the worker's tokens may go is access/'s policy; this adapter makes git
// keep to it: a token (the URL's own, on the CLI, or the one access/credentials.ts grants for the
// host) reaches git only as an HTTP header in GIT_CONFIG_* variables scoped to that https origin,
// never in argv, the stored remote URL or a message; redirects are not followed (git would carry the
// header to the new host); only the allowed protocols run; a silent remote is killed (exec.ts).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Credential, credentialFor } from '../../../access/credentials.js';
import type { AccessPolicy } from '../../../access/policy.js';
import { redactUrl, withoutUserinfo } from '../../../access/redact-url.js';
import { KeywardenError } from '../../../errors/error.js';
import { firstLine, GitCommandError, gitEnv, redact, runGitWatched } from './exec.js';
import { type GitRepo, openRepo } from './repo.js';

/** True for `scheme://...`, `transport::address` and scp-like `user@host:path` targets; anything else is a local path. */
export function isRemoteUrl(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(target) || /^[\w.-]+@[\w.-]+:(?!\/\/)/.test(target);
}

export interface RemoteOptions {
  env: NodeJS.ProcessEnv;
  /** Where bare clones live. */
  cacheDir: string;
  /** Kills clone, fetch and every later git child when aborted (a worker's job time limit or shutdown). */
  signal?: AbortSignal;
  /** Where tokens may go, the timeouts, file:// (config/sections/access.ts). */
  access: AccessPolicy;
  /**
   * The service's transport rules (workers): https and ssh only (file:// when allowed), and https
   * pinned to `addresses` (the ones access/hosts.ts judged) so DNS cannot change between the check
   * and the fetch. Without it (the CLI on the user's own machine) git's own protocol rules apply.
   */
  service?: { addresses: readonly string[] };
}

export interface OpenedRemote {
  repo: GitRepo;
  /** The URL without credentials: safe to print, and the incremental state's key. */
  url: string;
  /** True when this run created the clone (false: fetched an existing one). */
  cloned: boolean;
}

export type Credentials = Pick<Credential, 'origin' | 'username' | 'token'>;

/**
 * Splits credentials off a URL. The URL's own userinfo (the CLI user typed it) goes to that URL's
 * origin only, and only over https; otherwise the token access/credentials.ts grants for the host.
 */
export function splitCredentials(target: string, access: AccessPolicy): { url: string; creds: Credentials | null } {
  if (!/^https?:\/\//i.test(target)) return { url: target, creds: null };
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    throw new KeywardenError('KW_USAGE', `not a valid repository URL: ${redactUrl(redact(target))}`);
  }
  const fromUrl = u.password ? decodeURIComponent(u.password) : u.username ? decodeURIComponent(u.username) : '';
  const urlUser = u.password ? decodeURIComponent(u.username) : '';
  const url = withoutUserinfo(target);
  if (fromUrl) {
    if (u.protocol !== 'https:')
      throw new KeywardenError('KW_HOST_NOT_ALLOWED', `refusing to send credentials over plain http: ${redactUrl(target)}`, [
        'use an https:// URL',
      ]);
    return { url, creds: { origin: `https://${u.host.toLowerCase()}/`, username: urlUser || 'x-access-token', token: fromUrl } };
  }
  return { url, creds: credentialFor(url, access) };
}

/** GIT_CONFIG_* variables for `entries`, after any the caller's environment set. */
export function configEnv(env: NodeJS.ProcessEnv, entries: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const n = Number.parseInt(env.GIT_CONFIG_COUNT ?? '0', 10) || 0;
  const out: Record<string, string> = { GIT_CONFIG_COUNT: String(n + entries.length) };
  entries.forEach(([k, v], i) => {
    out[`GIT_CONFIG_KEY_${n + i}`] = k;
    out[`GIT_CONFIG_VALUE_${n + i}`] = v;
  });
  return out;
}

/** An Authorization header for one origin (with an empty list for none: a header set by the user's config stays). */
export function authEntries(creds: Credentials | null): Array<[string, string]> {
  if (!creds) return [];
  const basic = Buffer.from(`${creds.username}:${creds.token}`).toString('base64');
  return [[`http.${creds.origin}.extraHeader`, `Authorization: Basic ${basic}`]];
}

/** GIT_CONFIG_* variables adding an Authorization header for one origin, after any the caller set. */
export function authEnv(env: NodeJS.ProcessEnv, creds: Credentials | null): Record<string, string> {
  return creds ? configEnv(env, authEntries(creds)) : {};
}

/** curl's `--resolve` for a pinned host: `host:port:addr,addr` (IPv6 in brackets). */
function resolveEntry(url: string, addresses: readonly string[]): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'https:' || addresses.length === 0) return null;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (/^[\d.]+$/.test(host) || host.includes(':')) return null; // an address already
  return `${host}:${u.port || '443'}:${addresses.map((a) => (a.includes(':') ? `[${a}]` : a)).join(',')}`;
}

/**
 * The git settings for a network operation: no redirects when a token rides along (in the service,
 * never), low-speed abort, and in the service only https and ssh (file:// when allowed) whatever the
 * repository's config or submodules ask for.
 */
export function transportEntries(url: string, opts: RemoteOptions, creds: Credentials | null): Array<[string, string]> {
  const idleSeconds = Math.max(1, Math.ceil(opts.access.gitIdleTimeout / 1000));
  const entries: Array<[string, string]> = [
    ['http.lowSpeedLimit', '1'],
    ['http.lowSpeedTime', String(idleSeconds)],
  ];
  if (creds || opts.service) entries.push(['http.followRedirects', 'false']);
  if (opts.service) {
    entries.push(['protocol.allow', 'never'], ['protocol.https.allow', 'always'], ['protocol.ssh.allow', 'always']);
    if (opts.access.gitAllowFile) entries.push(['protocol.file.allow', 'always']);
    const pin = resolveEntry(url, opts.service.addresses);
    if (pin) entries.push(['http.curloptResolve', pin]);
  }
  return entries;
}

/** ssh that never prompts, gives up connecting after the connect timeout and notices a dead peer. */
export function sshCommand(access: AccessPolicy): string {
  const connect = Math.max(1, Math.ceil(access.gitConnectTimeout / 1000));
  const alive = Math.max(1, Math.ceil(access.gitIdleTimeout / 3000));
  return `ssh -o BatchMode=yes -o ConnectTimeout=${connect} -o ServerAliveInterval=${alive} -o ServerAliveCountMax=3`;
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

/** Git's answers that say the credentials were refused or missing: retrying asks the same again. */
const AUTH_REFUSED =
  /Authentication failed|could not read (Username|Password)|terminal prompts disabled|Permission denied \(publickey|HTTP 40[13]|returned error: 40[13]/i;

/** git with http.followRedirects=false, answered with a redirect. */
const REDIRECTED = /returned error: 30[12378]/;

export async function openRemote(target: string, opts: RemoteOptions): Promise<OpenedRemote> {
  const { url, creds } = splitCredentials(target, opts.access);
  const secrets = creds
    ? [creds.token, encodeURIComponent(creds.token), Buffer.from(`${creds.username}:${creds.token}`).toString('base64')]
    : [];
  const extra = configEnv(opts.env, [...transportEntries(url, opts, creds), ...authEntries(creds)]);
  const env = gitEnv(opts.env, extra);
  // Only what the service allows, even where a repository's config or a submodule names another protocol.
  if (opts.service) env.GIT_PROTOCOL_FROM_USER = '0';
  if (!env.GIT_SSH_COMMAND) env.GIT_SSH_COMMAND = sshCommand(opts.access);
  const shown = redactUrl(redact(url, secrets));
  const dir = cachePathFor(opts.cacheDir, url);
  const watch = { env, redact: secrets, idleMs: opts.access.gitIdleTimeout, signal: opts.signal };
  const fail = (what: string, err: unknown): never => {
    if (err instanceof KeywardenError && err.code === 'KW_GIT_TIMEOUT') throw err;
    const text = err instanceof GitCommandError ? err.stderr : err instanceof Error ? err.message : String(err);
    const line = firstLine(redactUrl(redact(text, secrets)));
    if (REDIRECTED.test(text))
      throw new KeywardenError(
        'KW_HOST_NOT_ALLOWED',
        `cannot ${what} ${shown}: the remote redirects, and redirects are not followed`,
        ['a redirect could take the request (and a token) to another host: give the URL it redirects to'],
      );
    // A refused credential fails the same way on every retry; anything else (network) may pass next time.
    const code = AUTH_REFUSED.test(text) ? 'KW_GIT_COMMAND' : 'KW_SOURCE_READ';
    throw new KeywardenError(code, `cannot ${what} ${shown}: ${line}`);
  };
  let cloned = false;
  if (!existsSync(join(dir, 'HEAD'))) {
    mkdirSync(opts.cacheDir, { recursive: true });
    rmSync(dir, { recursive: true, force: true }); // a clone interrupted earlier
    try {
      // --progress: the watchdog's sign of life (exec.ts); `--` so no URL is read as an option.
      await runGitWatched(['clone', '--bare', '--progress', '--', url, dir], {
        ...watch,
        cwd: opts.cacheDir,
        what: `clone ${shown}`,
      });
      cloned = true;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      fail('clone', err);
    }
  } else {
    try {
      // Branches and tags, pruned, forced: the cache mirrors the remote (a force-push rewrites it).
      await runGitWatched(
        [
          'fetch',
          '--progress',
          '--prune',
          '--no-write-fetch-head',
          'origin',
          '+refs/heads/*:refs/heads/*',
          '+refs/tags/*:refs/tags/*',
        ],
        { ...watch, cwd: dir, what: `fetch ${shown}` },
      );
    } catch (err) {
      fail('fetch', err);
    }
  }
  const repo = await openRepo(
    dir,
    opts.env,
    secrets,
    {
      ...extra,
      GIT_SSH_COMMAND: env.GIT_SSH_COMMAND,
      ...(opts.service ? { GIT_PROTOCOL_FROM_USER: '0' } : {}),
    },
    opts.signal,
  );
  return { repo, url, cloned };
}
