// Makes the commits a scan needs present in the runner's clone. `actions/checkout` fetches one commit
// by default (a PR's merge commit); the range merge-base..head needs the whole history behind it, so
// a shallow clone is deepened here and any commit still missing is fetched by sha or ref.

import { KeywardenError } from '../errors/error.js';
import { firstLine, redact, runGit } from '../scanner/sources/git/exec.js';
import { authEnv } from '../scanner/sources/git/remote.js';
import { existingCommits, type GitRepo, shallowInfo } from '../scanner/sources/git/repo.js';

export interface Wanted {
  /** Commits the scan resolves. */
  commits: string[];
  /** Commits the scan would rather have, with a fallback when they cannot be had (a force-pushed `before`). */
  optional?: string[];
  /** Refspecs that bring them when a bare sha cannot be fetched (`+refs/pull/N/head:…`). */
  refspecs: string[];
  /** Refs the scan names (`refs/remotes/origin/main`), each with the refspec that fetches it. */
  refs?: { name: string; refspec: string; optional?: boolean }[];
}

export interface PreparedHistory {
  /** What was done, for the summary (`deepened a shallow clone: 1 → 57 commits`). */
  notes: string[];
  /** Optional commits and refs that could not be had. */
  unavailable: Set<string>;
}

/**
 * Unshallows the clone when it is shallow (a partial history gives a wrong merge base and misses the
 * commits in between), then fetches whatever is still missing. Plain `git fetch` first: checkout's
 * persisted credentials serve it; only if that fails is the token added as an `Authorization`
 * header for the origin (in GIT_CONFIG_* env vars, never argv), since a second header would make
 * GitHub reject the first attempt.
 */
export async function prepareHistory(repo: GitRepo, wanted: Wanted, token: string): Promise<PreparedHistory> {
  const notes: string[] = [];
  const origin = await originUrl(repo);
  const shallow = await shallowInfo(repo);
  if (shallow.shallow) {
    if (origin === null) throw missingHistory('the clone is shallow and has no origin remote to deepen it from');
    await fetch(repo, origin, token, { flags: ['--unshallow'], refspecs: [] });
    const after = Number.parseInt((await runGit(['rev-list', '--count', 'HEAD'], gitOpts(repo))).toString().trim(), 10);
    notes.push(`deepened a shallow clone (HEAD reached ${shallow.depth} commit${shallow.depth === 1 ? '' : 's'}, now ${after})`);
  }
  const all = [...wanted.commits, ...(wanted.optional ?? [])];
  let missing = await missingCommits(repo, all);
  if (missing.length > 0 && origin !== null) {
    // GitHub serves any reachable sha; failing that, a ref that points at it (refs/pull/N/head also
    // covers a fork's head). One refspec at a time: one that does not exist fails the whole fetch.
    for (const refspecs of [missing, ...wanted.refspecs.map((r) => [r])]) {
      await fetch(repo, origin, token, { flags: [], refspecs, tolerant: true });
      missing = await missingCommits(repo, all);
      if (missing.length === 0) break;
    }
    if (missing.length < all.length) notes.push('fetched commits the checkout lacked');
  }
  const unavailable = new Set(missing.filter((s) => !wanted.commits.includes(s)));
  const required = missing.filter((s) => wanted.commits.includes(s));
  if (required.length > 0)
    throw missingHistory(
      `commit${required.length === 1 ? '' : 's'} ${required.map((s) => s.slice(0, 12)).join(', ')} not in the clone`,
    );
  for (const ref of wanted.refs ?? []) {
    if (await refExists(repo, ref.name)) continue;
    if (origin !== null) {
      await fetch(repo, origin, token, { flags: [], refspecs: [ref.refspec], tolerant: ref.optional === true });
      if (await refExists(repo, ref.name)) {
        notes.push(`fetched ${ref.name}`);
        continue;
      }
    }
    if (!ref.optional) throw missingHistory(`${ref.name} does not exist and cannot be fetched from origin`);
    unavailable.add(ref.name);
  }
  return { notes, unavailable };
}

async function missingCommits(repo: GitRepo, shas: readonly string[]): Promise<string[]> {
  const present = new Set(await existingCommits(repo, shas));
  return shas.filter((s) => !present.has(s));
}

async function originUrl(repo: GitRepo): Promise<string | null> {
  try {
    return (await runGit(['remote', 'get-url', 'origin'], gitOpts(repo))).toString('utf8').trim() || null;
  } catch {
    return null;
  }
}

async function refExists(repo: GitRepo, name: string): Promise<boolean> {
  try {
    await runGit(['rev-parse', '--verify', '--quiet', '--end-of-options', `${name}^{commit}`], gitOpts(repo));
    return true;
  } catch {
    return false;
  }
}

function gitOpts(repo: GitRepo) {
  return { cwd: repo.cwd, env: repo.env, redact: repo.redact };
}

interface FetchArgs {
  flags: string[];
  refspecs: string[];
  /** Swallow a failure: the caller checks afterwards what arrived (one of several refspecs may not exist). */
  tolerant?: boolean;
}

async function fetch(repo: GitRepo, origin: string, token: string, args: FetchArgs): Promise<void> {
  const argv = ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', ...args.flags, 'origin', ...args.refspecs];
  const tolerant = args.tolerant === true;
  const secrets = token ? [token, Buffer.from(`x-access-token:${token}`).toString('base64')] : [];
  try {
    await runGit(argv, gitOpts(repo));
    return;
  } catch (first) {
    const creds = httpOrigin(origin);
    if (token && creds) {
      try {
        await runGit(argv, {
          cwd: repo.cwd,
          env: { ...repo.env, ...authEnv(repo.env, { origin: creds, username: 'x-access-token', token }) },
          redact: [...repo.redact, ...secrets],
        });
        return;
      } catch (second) {
        if (tolerant) return; // the caller checks what arrived
        throw fetchFailed(second, secrets);
      }
    }
    if (tolerant) return;
    throw fetchFailed(first, secrets);
  }
}

function httpOrigin(url: string): string | null {
  try {
    const u = new URL(url);
    return /^https?:$/.test(u.protocol) ? `${u.protocol}//${u.host}/` : null;
  } catch {
    return null;
  }
}

function fetchFailed(err: unknown, secrets: string[]): KeywardenError {
  const text = err instanceof Error ? err.message : String(err);
  return new KeywardenError('KW_SOURCE_READ', `cannot fetch history from origin: ${firstLine(redact(text, secrets))}`, [
    'the Action needs the history between the base and the head: use actions/checkout with fetch-depth: 0',
  ]);
}

function missingHistory(why: string): KeywardenError {
  return new KeywardenError('KW_GIT_UNKNOWN_REF', `the history to scan is not available: ${why}`, [
    'use actions/checkout (fetch-depth: 0 saves a fetch) before this Action',
  ]);
}
