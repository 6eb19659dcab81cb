// Streams blob contents out of one long-lived `git cat-file --batch`: ids go in on stdin as they are
// discovered, `<sha> blob <size>\n<bytes>\n` records come back and are handed out one at a time.
// Memory is bounded by the largest blob kept (maxSize); larger blobs are read through and discarded.
// A blob git cannot inflate is reported as missing and the batch restarted after it.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { KeywardenError } from '../../../errors/error.js';
import { firstLine, GitCommandError, redact } from './exec.js';
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
  // Ids written but not answered yet, oldest first: when git dies on a corrupt object, the oldest is
  // the one it choked on, and the rest are asked again of a fresh process.
  let pending: string[] = [];
  let head = 0;
  let ended = false;
  let restarts = 0;
  let failed: Error | null = null;
  let settle: { resolve: () => void; reject: (e: Error) => void } | null = null;
  let outcome: { error: Error | null } | null = null;
  const emit = (ev: BlobEvent) => {
    head++;
    if (head > 4096 && head * 2 > pending.length) {
      pending = pending.slice(head);
      head = 0;
    }
    onBlob(ev);
  };
  const end = (error: Error | null) => {
    outcome = { error };
    if (settle) error ? settle.reject(error) : settle.resolve();
  };

  const start = (): ChildProcessWithoutNullStreams => {
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
          emit({ kind: 'tooLarge', sha, size });
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
        emit({ kind: 'missing', sha, reason: `object is a ${parts[1]}, not a blob` });
        return;
      }
      // `<sha> missing` / `<sha> ambiguous`: no body follows.
      emit({ kind: 'missing', sha, reason: parts.slice(1).join(' ') || 'unreadable' });
    };

    const finishBody = () => {
      const data = body!;
      body = null;
      needNewline = true;
      emit({ kind: 'blob', sha: bodySha, data });
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
    child.on('error', (e) => {
      failed ??= new KeywardenError('KW_SOURCE_READ', `cannot run git: ${e.message}`, [], { cause: e });
    });
    child.on('close', (code) => {
      if (outcome) return;
      if (failed) return end(failed);
      const stderr = redact(Buffer.concat(err).toString('utf8'), repo.redact);
      if (code === 0) return end(null);
      // git dies (`fatal: unable to stream <sha>`) on an object whose bytes do not inflate: report
      // that one as unreadable and go on with the rest. Capped, so a git that cannot run at all
      // fails the scan instead of marking every blob unreadable.
      if (head < pending.length && restarts < MAX_RESTARTS) {
        restarts++;
        emit({ kind: 'missing', sha: pending[head]!, reason: firstLine(stderr) || `git cat-file exited ${code}` });
        if (failed) return end(failed);
        current = start();
        for (let k = head; k < pending.length; k++) current.stdin.write(`${pending[k]}\n`);
        if (ended) current.stdin.end();
        return;
      }
      end(new GitCommandError('cat-file', code ?? -1, stderr));
    });
    return child;
  };
  let current = start();

  const done = new Promise<void>((resolve, reject) => {
    if (outcome) return outcome.error ? reject(outcome.error) : resolve();
    settle = { resolve, reject };
  });
  // Keep an early failure from surfacing as an unhandled rejection before finish() is awaited.
  done.catch(() => {});

  return {
    request(sha) {
      pending.push(sha);
      current.stdin.write(`${sha}\n`);
    },
    finish() {
      ended = true;
      current.stdin.end();
      return done;
    },
  };
}

/** How many times a batch reader restarts git after it died on a corrupt object. */
const MAX_RESTARTS = 100;
