// The whole decision for a job's `repo`: credentials in the URL refused, the scheme, the host and
// its addresses (hosts.ts), local paths and file:// under KEYWARDEN_REPO_ROOTS when set (paths.ts).
// The API runs it without touching the disk (`realPaths: false`) to answer 4xx at once; the worker
// runs it again with real paths and a fresh DNS answer right before it opens the repository.
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { KeywardenError } from '../errors/error.js';
import { type AllowedRemote, checkRemote, parseRepoRef, resolveAddresses, schemeRefused } from './hosts.js';
import { allowedRealPath, lexicallyUnder, pathNotAllowed } from './paths.js';
import type { AccessPolicy } from './policy.js';
import { urlHasCredentials } from './redact-url.js';

export type RepoAccess =
  | { kind: 'local'; path: string }
  | ({ kind: 'remote' } & AllowedRemote)
  | { kind: 'file'; path: string; url: string };

export interface RepoCheckOptions {
  /** Resolve symlinks and require the path to exist (the worker); false: judge the path as given (the API). */
  realPaths: boolean;
  resolve?: (host: string) => Promise<string[]>;
}

/** Why a job's repository URL is refused for carrying credentials, or null. */
export function credentialsInUrlProblem(ref: string): string | null {
  if (!urlHasCredentials(ref)) return null;
  // scp-like `git@host:path` names an ssh user, not a credential.
  if (/^[^@/:\s]+@[^:/\s]+:(?!\/\/)/.test(ref) && !/:\/\//.test(ref)) return null;
  if (/^ssh:\/\/[^:@/]+@/i.test(ref) || /^(git\+ssh|ssh\+git):\/\/[^:@/]+@/i.test(ref)) return null;
  return 'must not carry credentials (user:token@ or a token parameter): the job would keep them in Redis and show them; give the worker GIT_TOKEN and KEYWARDEN_GIT_CREDENTIAL_HOSTS instead';
}

export async function checkRepo(ref: string, policy: AccessPolicy, opts: RepoCheckOptions): Promise<RepoAccess> {
  const creds = credentialsInUrlProblem(ref);
  if (creds !== null) throw new KeywardenError('KW_JOB_INVALID', `repository URL ${creds}`);
  const parsed = parseRepoRef(ref);
  switch (parsed.kind) {
    case 'refused':
      throw schemeRefused(parsed);
    case 'remote':
      // The API (no real paths) lets a DNS failure through: the worker resolves again, and retries.
      return { kind: 'remote', ...(await checkRemote(parsed, policy, opts.resolve ?? resolveAddresses, !opts.realPaths)) };
    case 'file':
      if (!policy.gitAllowFile) throw schemeRefused({ scheme: 'file', url: parsed.url });
      return { kind: 'file', path: await localPath(parsed.path, policy, opts), url: parsed.url };
    case 'local':
      return { kind: 'local', path: await localPath(parsed.path, policy, opts) };
    default: {
      const never: never = parsed;
      return never;
    }
  }
}

async function localPath(path: string, policy: AccessPolicy, opts: RepoCheckOptions): Promise<string> {
  const roots = policy.repoRoots;
  if (roots === undefined) return opts.realPaths ? resolvePath(path) : path;
  if (!opts.realPaths) {
    if (!lexicallyUnder(path, roots)) throw pathNotAllowed('repository', path);
    return path;
  }
  return allowedRealPath('repository', isAbsolute(path) ? path : resolvePath(path), roots);
}

/** The API's and the worker's check of a dump path: under KEYWARDEN_DUMP_ROOTS (none by default: refused). */
export async function checkDumpPath(
  path: string,
  policy: AccessPolicy,
  opts: Pick<RepoCheckOptions, 'realPaths'>,
): Promise<string> {
  if (!opts.realPaths) {
    if (!lexicallyUnder(path, policy.dumpRoots)) throw pathNotAllowed('dump', path);
    return path;
  }
  return allowedRealPath('dump', path, policy.dumpRoots, { regularFile: true });
}
