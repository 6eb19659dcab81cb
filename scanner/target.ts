// What a scanned repository (or dump) is called in the store: one name however the user spelled it,
// so `findings list --repo`, `GET /v1/findings?repo=` and the workers that record occurrences agree,
// and an incremental scan's state is found again. Used by workers, the API and the CLI.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isRemoteUrl } from './sources/git/remote.js';

/** Ports that say nothing about which repository it is: the protocol's default. */
const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };
/** Protocols whose port is the transport's, not the host's identity (ssh on 2222 serves the same repositories as https). */
const TRANSPORT_PORT = new Set(['ssh:', 'git+ssh:', 'ssh+git:', 'git:']);

/**
 * The canonical name of a repository given as a URL or a path (or of a dump given as a path).
 *
 * - URLs (`https://`, `http://`, `ssh://`, `git://`, `git+ssh://` and scp-style `user@host:path`)
 *   become `https://<host>[:port]/<path>`, whatever the transport: credentials dropped, host
 *   lowercased, the default port (80, 443) dropped and ssh/git ports always (they name the transport,
 *   not the server), query and fragment dropped, the path without `.git`, trailing or repeated `/`.
 *   The path keeps its case: only the host is case-insensitive everywhere. The result is itself a URL
 *   this function maps to itself, so a name copied from `findings list` can be given back.
 * - `file://` URLs and paths: the real path (symlinks resolved) when it exists; a directory inside a
 *   work tree names the work tree's root; a `.git` directory names its work tree; a bare repository,
 *   a file (a dump) or a path that does not exist names itself (absolute, normalized).
 */
export function targetOf(ref: string): string {
  if (/^file:\/\//i.test(ref)) return localTarget(decoded(ref.replace(/^file:\/\/(localhost)?/i, '')));
  if (!isRemoteUrl(ref)) return localTarget(ref);
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/\/)(.*)$/.exec(ref);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) return canonical(scp[1]!, '', scp[2]!);
  let u: URL;
  try {
    u = new URL(ref);
  } catch {
    return ref; // not a URL after all; nothing to normalise
  }
  const port = u.port === '' || TRANSPORT_PORT.has(u.protocol) || DEFAULT_PORT[u.protocol] === u.port ? '' : u.port;
  return canonical(u.hostname, port, decoded(u.pathname));
}

/** Percent-decoded, or as it is when it is not valid percent-encoding. */
function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function canonical(host: string, port: string, path: string): string {
  const clean = path
    .replace(/\/{2,}/g, '/')
    .replace(/^\/+/, '')
    .replace(/\/+$/, '')
    .replace(/\.git$/i, '')
    .replace(/\/+$/, '');
  return `https://${host.toLowerCase()}${port ? `:${port}` : ''}/${clean}`;
}

function localTarget(path: string): string {
  const abs = resolve(path);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    return abs;
  }
  if (!isDirectory(real)) return real;
  // A git dir (bare repository, or the `.git` of a work tree) has HEAD and objects/.
  if (existsSync(join(real, 'HEAD')) && isDirectory(join(real, 'objects'))) {
    const parent = dirname(real);
    return real.endsWith('/.git') && existsSync(join(parent, '.git')) ? parent : real;
  }
  // Inside a work tree: its root, the nearest directory holding `.git` (a directory, or a file for
  // worktrees and submodules), as `git rev-parse --show-toplevel` says.
  for (let dir = real; ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return real;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
