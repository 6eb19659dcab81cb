// Where a worker may read local files: dumps only under KEYWARDEN_DUMP_ROOTS (none by default:
// scan-dump by path is refused until an operator names a directory), local repositories under
// KEYWARDEN_REPO_ROOTS when it is set. Judged on the real path (symlinks resolved, the roots' too),
// and "not allowed" and "not there" are one answer, so a caller cannot probe the worker's disk.
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, normalize, sep } from 'node:path';
import { KeywardenError } from '../errors/error.js';

/** What is being opened, for the message and the setting it names. */
export type PathUse = 'dump' | 'repository';

const SETTING: Record<PathUse, string> = { dump: 'KEYWARDEN_DUMP_ROOTS', repository: 'KEYWARDEN_REPO_ROOTS' };

/** True when `path` is `root` or inside it (both absolute; compared as normalized text). Pure. */
export function isUnder(path: string, root: string): boolean {
  const p = normalize(path);
  const r = normalize(root).replace(/[/\\]+$/, '') || sep;
  if (r === sep) return isAbsolute(p);
  return p === r || p.startsWith(`${r}${sep}`);
}

/** True when `path` is absolute and under one of `roots`, read as given (the API's early check). Pure. */
export function lexicallyUnder(path: string, roots: readonly string[]): boolean {
  return isAbsolute(path) && roots.some((r) => isUnder(path, r));
}

/** The one error for a path outside the roots, or absent: the same message either way. */
export function pathNotAllowed(use: PathUse, path: string): KeywardenError {
  return new KeywardenError('KW_PATH_NOT_ALLOWED', `${use} path ${JSON.stringify(path)} is not allowed or not there`, [
    `${SETTING[use]} lists the directories a worker may read ${use === 'dump' ? 'dumps' : 'repositories'} under`,
  ]);
}

/**
 * The real path of `path` when it exists and lies under a root (each root's own real path), else
 * KW_PATH_NOT_ALLOWED. With `regularFile`, anything but a regular file (a directory, /dev/zero, a
 * FIFO) is refused too. The worker opens the returned path, never the given one.
 */
export async function allowedRealPath(
  use: PathUse,
  path: string,
  roots: readonly string[],
  opts: { regularFile?: boolean } = {},
): Promise<string> {
  if (!isAbsolute(path) || roots.length === 0) throw pathNotAllowed(use, path);
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw pathNotAllowed(use, path);
  }
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => null)));
  if (!realRoots.some((r) => r !== null && isUnder(real, r))) throw pathNotAllowed(use, path);
  if (opts.regularFile) {
    const s = await stat(real).catch(() => null);
    if (s === null || !s.isFile()) throw pathNotAllowed(use, path);
  }
  return real;
}
