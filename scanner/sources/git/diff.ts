// What a range or the index changes: the head-side blob of every added/modified/renamed file
// (`git diff --raw -z`) and the head-side line ranges each adds (`git diff -U0` hunk headers), so a
// finding can be kept only when it sits on an added line and reported at its head-side path and line.
import { runGit } from './exec.js';
import type { GitRepo } from './repo.js';

export interface ChangedFile {
  /** Head-side path. */
  path: string;
  /** Head-side blob id. */
  sha: string;
  status: string;
}

/** Inclusive 1-based head-side line ranges added, per head-side path. */
export type AddedLines = Map<string, Array<[number, number]>>;

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** `diffArgs` selects the two sides: `[base, head]`, or `['--cached']` for the index against HEAD. */
export async function changedFiles(repo: GitRepo, diffArgs: readonly string[]): Promise<ChangedFile[]> {
  const out = await runGit(
    ['diff', '--raw', '-z', '--no-abbrev', '-M', '--no-ext-diff', '--no-textconv', '--ignore-submodules', ...diffArgs, '--'],
    {
      cwd: repo.cwd,
      env: repo.env,
      redact: repo.redact,
      signal: repo.signal,
    },
  );
  const tokens = splitNul(out);
  const files: ChangedFile[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const meta = tokens[i]!.toString('latin1');
    if (!meta.startsWith(':')) continue;
    const [, newMode = '', , sha = '', status = ''] = meta.slice(1).split(' ');
    const twoPaths = status.startsWith('R') || status.startsWith('C');
    const path = utf8.decode(tokens[twoPaths ? i + 2 : i + 1] ?? Buffer.alloc(0));
    i += twoPaths ? 2 : 1;
    if (status.startsWith('D') || /^0+$/.test(sha) || !(newMode.startsWith('100') || newMode === '120000')) continue;
    files.push({ path, sha, status: status.charAt(0) });
  }
  return files;
}

export async function addedLines(repo: GitRepo, diffArgs: readonly string[], paths?: readonly string[]): Promise<AddedLines> {
  const out = await runGit(
    [
      'diff',
      '-U0',
      '--no-color',
      '-M',
      '--no-ext-diff',
      '--no-textconv',
      '--ignore-submodules',
      '--src-prefix=a/',
      '--dst-prefix=b/',
      ...diffArgs,
      '--',
      ...(paths ?? []),
    ],
    { cwd: repo.cwd, env: repo.env, redact: repo.redact, signal: repo.signal },
  );
  return parseAddedLines(out);
}

/**
 * Parses a `-U0` patch (plain or combined `@@@`) into added head-side line ranges. Only hunk headers
 * are read; with no context, each header's `+start,count` is exactly the lines that side adds.
 */
export function parseAddedLines(patch: Buffer): AddedLines {
  const result: AddedLines = new Map();
  let current: Array<[number, number]> | null = null;
  let inHeader = false;
  let pos = 0;
  while (pos < patch.length) {
    let nl = patch.indexOf(0x0a, pos);
    if (nl === -1) nl = patch.length;
    const c0 = patch[pos];
    if (c0 === 0x64 /* d */ && patch.toString('latin1', pos, pos + 5) === 'diff ') {
      inHeader = true;
      current = null;
    } else if (inHeader && c0 === 0x2b /* + */ && patch.toString('latin1', pos, pos + 4) === '+++ ') {
      const name = unquote(patch.subarray(pos + 4, nl));
      if (name.startsWith('b/')) {
        current = [];
        result.set(name.slice(2), current);
      } else {
        current = null; // /dev/null: a deletion adds nothing
      }
    } else if (c0 === 0x40 /* @ */) {
      inHeader = false;
      const line = patch.toString('latin1', pos, nl);
      const m = /\+(\d+)(?:,(\d+))? @@/.exec(line);
      if (m && current) {
        const start = Number(m[1]);
        const count = m[2] === undefined ? 1 : Number(m[2]);
        if (count > 0) current.push([start, start + count - 1]);
      }
    }
    pos = nl + 1;
  }
  return result;
}

/** True when any line of [from, to] was added. */
export function touchesAdded(ranges: ReadonlyArray<[number, number]> | undefined, from: number, to: number): boolean {
  if (!ranges) return false;
  for (const [a, b] of ranges) if (from <= b && to >= a) return true;
  return false;
}

/** Undoes git's C-style path quoting (`"b/tab\there"`, octal escapes for bytes). */
export function unquote(raw: Buffer): string {
  if (raw[0] !== 0x22 || raw[raw.length - 1] !== 0x22) return utf8.decode(raw.subarray(0, trimEnd(raw)));
  const bytes: number[] = [];
  const esc: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '"': 34, '\\': 92 };
  for (let i = 1; i < raw.length - 1; i++) {
    const c = raw[i]!;
    if (c !== 0x5c) {
      bytes.push(c);
      continue;
    }
    const next = String.fromCharCode(raw[i + 1] ?? 0);
    if (/[0-7]/.test(next)) {
      bytes.push(Number.parseInt(raw.toString('latin1', i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(esc[next] ?? raw[i + 1]!);
      i += 1;
    }
  }
  return utf8.decode(Buffer.from(bytes));
}

function trimEnd(raw: Buffer): number {
  // git appends a tab after names containing spaces in ---/+++ lines.
  let e = raw.length;
  while (e > 0 && (raw[e - 1] === 0x09 || raw[e - 1] === 0x0d)) e--;
  return e;
}

function splitNul(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let s = 0;
  for (let z = buf.indexOf(0, s); z !== -1; z = buf.indexOf(0, s)) {
    out.push(buf.subarray(s, z));
    s = z + 1;
  }
  if (s < buf.length) out.push(buf.subarray(s));
  return out;
}

/**
 * Lines one commit added, per path (against its parent; for a merge, against every parent). Renames
 * are detected over the whole commit, so a moved file's old lines do not count as added.
 */
export async function addedLinesInCommit(repo: GitRepo, commit: string): Promise<AddedLines> {
  const out = await runGit(
    [
      'show',
      '--format=',
      '-U0',
      '-c',
      '-M',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
      '--src-prefix=a/',
      '--dst-prefix=b/',
      commit,
      '--',
    ],
    { cwd: repo.cwd, env: repo.env, redact: repo.redact, signal: repo.signal },
  );
  return parseAddedLines(out);
}
