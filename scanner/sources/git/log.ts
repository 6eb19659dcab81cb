// Enumerates history: one streamed `git log --raw -c` over the chosen revisions yields each commit's
// metadata and the blob every commit introduced at each path (new or changed file; for a merge, only
// files that differ from every parent, i.e. what the merge itself introduced). Nothing is buffered
// beyond the current stdout piece. Not content: the history source (history.ts) turns these entries
// into blob requests and provenance.
import { spawn } from 'node:child_process';
import { KeywardenError } from '../../../errors/error.js';
import { GitCommandError, redact } from './exec.js';
import type { GitRepo } from './repo.js';

/** The commit fields a finding's `git` provenance carries. */
export interface CommitMeta {
  sha: string;
  author: string;
  email: string;
  /** Author date, ISO 8601. */
  date: string;
  /** Subject line. */
  message: string;
}

/** A commit as the log reads it: its metadata and its whole message (scanned, then dropped). */
export interface CommitRecord extends CommitMeta {
  /** The raw message, subject and body (`%B`); never kept past the scan of it. */
  body: string;
}

export interface LogRange {
  /** Commits to start from (tips). */
  include: readonly string[];
  /** Commits whose ancestry is excluded (`--since-commit`, the last incremental run's tips). */
  exclude: readonly string[];
}

/**
 * One step of the log, in log order (newest first, parents after children): a commit, then the blobs
 * it introduced, each at its `path` (`mode` is git's octal file mode).
 */
export type LogEntry = { kind: 'commit'; meta: CommitRecord } | { kind: 'blob'; sha: string; path: string; mode: string };

const FIELD = '\x1f';
const HEADER = '\x01';
// The whole message last (`%B`): free text that may hold the field separator, so it is everything
// after the fourth one, and the subject is derived from it as git's `%s` is.
export const LOG_FORMAT = `${HEADER}%H${FIELD}%an${FIELD}%ae${FIELD}%aI${FIELD}%B`;
const ZERO = /^0+$/;
const utf8 = new TextDecoder('utf-8', { fatal: false });

export function parseHeader(text: string): CommitRecord {
  const [sha = '', author = '', email = '', date = '', ...rest] = text.split(FIELD);
  const body = rest.join(FIELD).replace(/\n+$/, '');
  return { sha, author, email, date, message: subjectOf(body), body };
}

/** git's `%s`: the message's first paragraph, its lines joined by a space. */
export function subjectOf(body: string): string {
  const para = body.replace(/^\s*\n/, '').split(/\n[ \t]*\n/, 1)[0] ?? '';
  return para
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

/**
 * Streams `git log` over `range`. `--date-order` puts every commit before its parents, so the last
 * commit that announces a blob is the earliest one that introduced it. Ends with git's error
 * (GitCommandError) if git fails; stopping the iteration early stops git.
 */
export async function* readLog(repo: GitRepo, range: LogRange): AsyncGenerator<LogEntry> {
  if (range.include.length === 0) return;
  const args = [
    'log',
    '--stdin',
    '--date-order',
    '--raw',
    '-c', // merges: raw lines only for paths that differ from every parent
    '--no-renames', // a rename is the old blob at a new path: already attributed to its introducer
    '--no-abbrev',
    '--root',
    '-z',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '--no-show-signature',
    '--encoding=UTF-8',
    `--format=${LOG_FORMAT}`,
  ];
  const input = `${[...range.include, ...range.exclude.map((s) => `^${s}`)].join('\n')}\n`;
  const child = spawn('git', args, {
    cwd: repo.cwd,
    env: repo.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(repo.signal ? { signal: repo.signal } : {}),
  });
  let spawnError: Error | null = null;
  let exited = false;
  const closed = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      exited = true;
      resolve(code);
    });
    child.on('error', (e) => {
      spawnError = e;
      resolve(null);
    });
  });
  const err: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.on('error', () => {});
  child.stdin.end(input);

  /** Entries parsed from the current stdout piece, handed out before the next is read. */
  const out: LogEntry[] = [];
  /** A raw line (`:mode ... status`) waits for the path token that follows it. */
  let pendingMeta: string | null = null;
  const token = (buf: Buffer, s: number, e: number) => {
    // After a header, git puts a newline before the first raw line; skip it.
    if (buf[s] === 0x0a) s++;
    if (s >= e) return;
    if (pendingMeta !== null) {
      const meta = pendingMeta;
      pendingMeta = null;
      onRaw(meta, utf8.decode(buf.subarray(s, e)));
      return;
    }
    const first = buf[s];
    if (first === 0x01) out.push({ kind: 'commit', meta: parseHeader(buf.toString('utf8', s + 1, e)) });
    else if (first === 0x3a /* : */) pendingMeta = buf.toString('latin1', s, e);
  };
  const onRaw = (meta: string, path: string) => {
    // `:old new oldsha newsha S` or, for an n-parent merge, `::...` with n+1 modes and shas.
    let n = 0;
    while (meta.charCodeAt(n) === 0x3a) n++;
    const fields = meta.slice(n).split(' ');
    const mode = fields[n] ?? '';
    const sha = fields[2 * n + 1] ?? '';
    // Deleted (all-zero sha), submodule commits (160000) and anything else that is not a blob.
    if (ZERO.test(sha) || !(mode.startsWith('100') || mode === '120000')) return;
    out.push({ kind: 'blob', sha, path, mode });
  };

  try {
    let carry: Buffer | null = null;
    for await (const piece of child.stdout as AsyncIterable<Buffer>) {
      const buf: Buffer = carry ? Buffer.concat([carry, piece]) : piece;
      carry = null;
      let s = 0;
      for (let z = buf.indexOf(0, s); z !== -1; z = buf.indexOf(0, s)) {
        token(buf, s, z);
        s = z + 1;
      }
      if (s < buf.length) carry = Buffer.from(buf.subarray(s));
      yield* out;
      out.length = 0;
    }
    if (carry && carry.length > 0) token(carry, 0, carry.length);
    yield* out;
    const code = await closed;
    if (spawnError) {
      const e = spawnError as Error;
      throw new KeywardenError('KW_SOURCE_READ', `cannot run git: ${e.message}`, [], { cause: e });
    }
    if (code !== 0) throw new GitCommandError('log', code ?? -1, redact(Buffer.concat(err).toString('utf8'), repo.redact));
  } finally {
    if (!exited) child.kill();
  }
}

/** Metadata of a few commits, by sha (for findings attributed outside a log walk). */
export async function commitMetas(repo: GitRepo, shas: readonly string[]): Promise<Map<string, CommitRecord>> {
  const out = new Map<string, CommitRecord>();
  const unique = [...new Set(shas)];
  if (unique.length === 0) return out;
  const text = await repo.git.raw([
    'show',
    '-s',
    '--no-show-signature',
    '--encoding=UTF-8',
    `--format=${LOG_FORMAT}%x00`,
    ...unique,
  ]);
  for (const rec of text.split('\0')) {
    const i = rec.indexOf(HEADER);
    if (i === -1) continue;
    const meta = parseHeader(rec.slice(i + 1));
    out.set(meta.sha, meta);
  }
  return out;
}
