// Opening a local repository and resolving what the user named in it (refs, merge bases, ref tips),
// through simple-git. Bad input becomes a typed error here: not a repo, unknown ref.
import type { SimpleGit } from 'simple-git';
import { KeywardenError } from '../../../errors/error.js';
import { firstLine, gitEnv, redact, runGit, simpleGitAt } from './exec.js';

export interface GitRepo {
  /** Directory git commands run in (the work tree, or the git dir of a bare repository). */
  cwd: string;
  /** Absolute git directory: the identity the incremental state is keyed by for local repos. */
  gitDir: string;
  /** Work tree root; null for a bare repository. */
  workTree: string | null;
  env: Record<string, string>;
  git: SimpleGit;
  /** Strings cut out of error messages (a token). */
  redact: readonly string[];
}

export interface ShallowInfo {
  shallow: boolean;
  /** Commits reachable from HEAD in this clone (how deep the history goes). */
  depth: number;
}

export async function openRepo(
  dir: string,
  env: NodeJS.ProcessEnv,
  redactList: readonly string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<GitRepo> {
  const e = gitEnv(env, extraEnv);
  let gitDir: string;
  let workTree: string | null;
  try {
    const out = (
      await runGit(['rev-parse', '--path-format=absolute', '--git-dir', '--is-bare-repository'], {
        cwd: dir,
        env: e,
        redact: redactList,
      })
    ).toString('utf8');
    const [dirLine = '', bare = 'false'] = out.split('\n');
    gitDir = dirLine.trim();
    // --show-toplevel fails in a bare repository, so ask only when there is a work tree.
    workTree =
      bare.trim() === 'true'
        ? null
        : (await runGit(['rev-parse', '--show-toplevel'], { cwd: dir, env: e, redact: redactList })).toString('utf8').trim() ||
          null;
  } catch (err) {
    const reason =
      err instanceof Error && 'stderr' in err
        ? firstLine(String((err as { stderr: string }).stderr))
        : err instanceof Error
          ? err.message
          : String(err);
    throw new KeywardenError('KW_GIT_NOT_A_REPO', `${dir} is not a git repository (${reason})`, [], { cause: err });
  }
  const cwd = workTree ?? gitDir;
  return { cwd, gitDir, workTree, env: e, git: simpleGitAt(cwd, e), redact: redactList };
}

/** Resolves a ref (branch, tag, sha, `HEAD~2`) to a commit sha, or throws KW_GIT_UNKNOWN_REF. */
export async function resolveCommit(repo: GitRepo, ref: string): Promise<string> {
  if (ref.startsWith('-')) throw new KeywardenError('KW_GIT_UNKNOWN_REF', `not a ref: ${JSON.stringify(ref)}`);
  try {
    const sha = (await repo.git.revparse(['--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim();
    if (/^[0-9a-f]{40,64}$/.test(sha)) return sha;
  } catch {
    // fall through to the typed error
  }
  throw new KeywardenError('KW_GIT_UNKNOWN_REF', `unknown git ref ${JSON.stringify(ref)} in ${repo.cwd}`);
}

/** The best common ancestor of two commits, or null when their histories are unrelated. */
export async function mergeBase(repo: GitRepo, a: string, b: string): Promise<string | null> {
  try {
    const sha = (await repo.git.raw(['merge-base', a, b])).trim();
    return sha === '' ? null : sha;
  } catch {
    return null;
  }
}

/**
 * Every ref's tip commit (branches, tags, remotes, plus a detached HEAD), as `refname → sha`: what
 * `--all` means, captured once so the incremental state records exactly what was scanned.
 */
export async function refTips(repo: GitRepo, branch?: string): Promise<Map<string, string>> {
  const tips = new Map<string, string>();
  if (branch !== undefined) {
    tips.set(branch, await resolveCommit(repo, branch));
    return tips;
  }
  // %(*objectname) is the peeled commit of an annotated tag; tags of trees or blobs are skipped.
  const out = await repo.git.raw([
    'for-each-ref',
    '--format=%(objectname) %(objecttype) %(*objectname) %(*objecttype) %(refname)',
  ]);
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [sha, type, peeled, peeledType, ...name] = line.split(' ');
    const ref = name.join(' ');
    if (type === 'commit' && sha) tips.set(ref, sha);
    else if (type === 'tag' && peeledType === 'commit' && peeled) tips.set(ref, peeled);
  }
  try {
    const head = (await repo.git.revparse(['--verify', '--quiet', 'HEAD^{commit}'])).trim();
    if (head && ![...tips.values()].includes(head)) tips.set('HEAD', head);
  } catch {
    // an empty repository has no HEAD commit
  }
  return tips;
}

export async function shallowInfo(repo: GitRepo): Promise<ShallowInfo> {
  const shallow = (await repo.git.revparse(['--is-shallow-repository'])).trim() === 'true';
  if (!shallow) return { shallow, depth: 0 };
  let depth = 0;
  try {
    depth = Number.parseInt((await repo.git.raw(['rev-list', '--count', 'HEAD'])).trim(), 10) || 0;
  } catch {
    depth = 0;
  }
  return { shallow, depth };
}

/** Author fields of the commit that last touched a line, via `git blame` bounded to a range. */
export async function blameLine(repo: GitRepo, range: string, path: string, line: number): Promise<string | null> {
  try {
    const out = await runGit(['blame', '--porcelain', '-L', `${line},${line}`, range, '--', path], {
      cwd: repo.cwd,
      env: repo.env,
      redact: repo.redact,
    });
    const sha = out.toString('utf8', 0, 40);
    return /^[0-9a-f]{40}$/.test(sha) ? sha : null;
  } catch {
    return null;
  }
}

/**
 * Which of `secrets` occur anywhere in `commit`'s tree. The secrets go to `git grep` on stdin
 * (`-f -`), never in argv, where other users could read them.
 */
export async function secretsPresentAt(repo: GitRepo, commit: string, secrets: readonly string[]): Promise<Set<string>> {
  const wanted = [...new Set(secrets.filter((s) => s.length > 0 && !s.includes('\n')))];
  if (wanted.length === 0) return new Set();
  try {
    const out = await runGit(['grep', '-I', '-h', '-o', '-F', '--no-color', '-f', '-', commit, '--'], {
      cwd: repo.cwd,
      env: repo.env,
      input: `${wanted.join('\n')}\n`,
      redact: repo.redact,
    });
    const found = new Set(out.toString('utf8').split('\n'));
    return new Set(wanted.filter((s) => found.has(s)));
  } catch {
    return new Set(); // exit 1: no match
  }
}

export { redact };

/** The subset of `shas` that name commits present in the repository (old tips may be gone). */
export async function existingCommits(repo: GitRepo, shas: readonly string[]): Promise<string[]> {
  if (shas.length === 0) return [];
  const out = await runGit(['cat-file', '--batch-check=%(objectname) %(objecttype)'], {
    cwd: repo.cwd,
    env: repo.env,
    input: `${shas.join('\n')}\n`,
    redact: repo.redact,
  });
  const present = new Set<string>();
  for (const line of out.toString('utf8').split('\n')) {
    const [sha, type] = line.split(' ');
    if (type === 'commit' && sha) present.add(sha);
  }
  return shas.filter((s) => present.has(s));
}
