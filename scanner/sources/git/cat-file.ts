// Streams blob contents out of one long-lived `git cat-file --batch`: ids go in on stdin as they are
// discovered, `<sha> blob <size>\n<bytes>\n` records come back and are handed out one at a time.
// Memory is bounded by the largest blob kept (maxSize); larger blobs are read through and discarded.
import { spawn } from 'node:child_process';
import { KeywardenError } from '../../errors.js';
import { GitCommandError, redact } from './exec.js';
import type { GitRepo } from './repo.js';

export type BlobEvent =
  | { kind: 'blob'; sha: string; data: Buffer }
  | { kind: 'tooLarge'; sha: string; size: number }
  | { kind: 'missing'; sha: string; reason: string };

export interface BlobReader {
  /** Queues a blob id; its event arrives later, in request order. */
  request(sha: string): void;
  /** No more requests; resolves when every requested blob has been handed out. */
  finish(): Promise<void>;
}

/**
 * Opens the batch reader. `onBlob` runs synchronously inside the stdout handler: while it scans, Node
 * reads nothing more, the pipe fills and git waits, which is the backpressure that bounds memory.
 */
export function openBlobReader(repo: GitRepo, maxSize: number, onBlob: (ev: BlobEvent) => void): BlobReader {
  // --buffer: git flushes when its stdio buffer fills instead of after every object (fewer syscalls).
  const child = spawn('git', ['cat-file', '--batch', '--buffer'], {
    cwd: repo.cwd,
    env: repo.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const err: Buffer[] = [];
  let header: Buffer | null = null; // partial header line
  let body: Buffer | null = null;
  let bodySha = '';
  let filled = 0;
  let discard = 0; // bytes of a too-large blob still to skip
  let needNewline = false; // the '\n' that ends every record
  let failed: Error | null = null;
  const failure = (e: unknown) => {
    failed ??= e instanceof Error ? e : new Error(String(e));
    child.kill();
  };

  const onHeader = (line: string) => {
    const parts = line.split(' ');
    const sha = parts[0] ?? '';
    if (parts.length === 3 && parts[1] === 'blob') {
      const size = Number(parts[2]);
      if (size > maxSize) {
        onBlob({ kind: 'tooLarge', sha, size });
        discard = size;
      } else {
        body = Buffer.allocUnsafe(size);
        bodySha = sha;
        filled = 0;
        if (size === 0) finishBody();
        return;
      }
      needNewline = true;
      return;
    }
    if (parts.length === 3) {
      // Not a blob (a corrupt or misdirected id): skip its bytes, report it.
      discard = Number(parts[2]) || 0;
      needNewline = true;
      onBlob({ kind: 'missing', sha, reason: `object is a ${parts[1]}, not a blob` });
      return;
    }
    // `<sha> missing` / `<sha> ambiguous`: no body follows.
    onBlob({ kind: 'missing', sha, reason: parts.slice(1).join(' ') || 'unreadable' });
  };

  const finishBody = () => {
    const data = body!;
    body = null;
    needNewline = true;
    onBlob({ kind: 'blob', sha: bodySha, data });
  };

  child.stdout.on('data', (chunk: Buffer) => {
    if (failed) return;
    try {
      let i = 0;
      const n = chunk.length;
      while (i < n) {
        if (body !== null) {
          const take = Math.min(body.length - filled, n - i);
          chunk.copy(body, filled, i, i + take);
          filled += take;
          i += take;
          if (filled === body.length) finishBody();
        } else if (discard > 0) {
          const take = Math.min(discard, n - i);
          discard -= take;
          i += take;
        } else if (needNewline) {
          i++; // the record terminator
          needNewline = false;
        } else {
          const nl = chunk.indexOf(0x0a, i);
          if (nl === -1) {
            header = header ? Buffer.concat([header, chunk.subarray(i)]) : Buffer.from(chunk.subarray(i));
            i = n;
          } else {
            const part = chunk.subarray(i, nl);
            const line = (header ? Buffer.concat([header, part]) : part).toString('latin1');
            header = null;
            i = nl + 1;
            onHeader(line);
          }
        }
      }
    } catch (e) {
      failure(e);
    }
  });
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.on('error', () => {});

  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e) => reject(new KeywardenError('KW_SOURCE_READ', `cannot run git: ${e.message}`, [], { cause: e })));
    child.on('close', (code) => {
      if (failed) reject(failed);
      else if (code === 0) resolve();
      else reject(new GitCommandError('cat-file', code ?? -1, redact(Buffer.concat(err).toString('utf8'), repo.redact)));
    });
  });
  // Keep an early failure from surfacing as an unhandled rejection before finish() is awaited.
  done.catch(() => {});

  return {
    request(sha) {
      child.stdin.write(`${sha}\n`);
    },
    finish() {
      child.stdin.end();
      return done;
    },
  };
}
