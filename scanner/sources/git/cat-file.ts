// The blob source: blob contents out of one long-lived `git cat-file --batch`. Ids go in on stdin as
// they are discovered, each with the provenance its chunk is to carry; `<sha> blob <size>\n<bytes>\n`
// records come back and are yielded one at a time as chunks (or counted skips). Memory is bounded by
// the largest blob kept (maxSize) plus a few queued ones; larger blobs are read through and discarded.
// A blob git cannot inflate is an `unreadable` skip and the batch is restarted after it.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { KeywardenError } from '../../../errors/error.js';
import type { Provenance } from '../../../model/finding.js';
import { pathOf } from '../../../model/occurrence.js';
import type { SourceEvent } from '../types.js';
import { firstLine, GitCommandError, redact } from './exec.js';
import type { GitRepo } from './repo.js';

export interface BlobSource extends AsyncIterable<SourceEvent> {
  /**
   * Queues a blob id; its event comes later, in request order: a chunk (`id` = the sha, `provenance`
   * as given) or a skip at the provenance's path (`tooLarge`, or `unreadable` with KW_GIT_OBJECT).
   */
  request(sha: string, provenance: Provenance): void;
  /** No more requests: the iteration ends after the last requested blob (or throws git's error). */
  finish(): void;
}

/** Events queued before git's stdout is paused: the consumer scans as the stream arrives, never much behind. */
const QUEUE_HIGH = 64;

/** Opens the batch reader. Iterate it once. */
export function openBlobSource(repo: GitRepo, maxSize: number): BlobSource {
  // Ids written but not answered yet, oldest first: when git dies on a corrupt object, the oldest is
  // the one it choked on, and the rest are asked again of a fresh process.
  let pending: Array<{ sha: string; provenance: Provenance }> = [];
  let head = 0;
  let ended = false;
  let restarts = 0;
  let failed: Error | null = null;
  let outcome: { error: Error | null } | null = null;
  // Events not yet taken by the consumer, and its wake-up when it waits for one.
  let queue: (SourceEvent | undefined)[] = [];
  /** The consumer stopped iterating: git is killed, and its exit is not a failure to restart from. */
  let stopped = false;
  let queueHead = 0;
  let wake: (() => void) | null = null;
  let paused = false;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  type Answer = { kind: 'blob'; data: Buffer } | { kind: 'tooLarge' } | { kind: 'missing'; reason: string };
  const emit = (sha: string, answer: Answer) => {
    const asked = pending[head];
    // cat-file answers in request order; anything else is a bug here, not bad input.
    if (asked === undefined || asked.sha !== sha)
      failed ??= new KeywardenError('KW_INTERNAL', `git cat-file answered ${sha} out of order`);
    head++;
    if (head > 4096 && head * 2 > pending.length) {
      pending = pending.slice(head);
      head = 0;
    }
    if (asked === undefined) return;
    const path = pathOf(asked.provenance);
    queue.push(
      answer.kind === 'blob'
        ? { kind: 'chunk', chunk: { bytes: answer.data, provenance: asked.provenance, offset: 0, startLine: 1, id: sha } }
        : answer.kind === 'tooLarge'
          ? { kind: 'skip', path, reason: 'tooLarge' }
          : { kind: 'skip', path, reason: 'unreadable', code: 'KW_GIT_OBJECT', message: `blob ${sha}: ${answer.reason}` },
    );
    // Backpressure: while the consumer is behind, git's pipe fills and git waits.
    if (queue.length - queueHead >= QUEUE_HIGH && !paused) {
      paused = true;
      current.stdout.pause();
    }
    notify();
  };
  const end = (error: Error | null) => {
    outcome = { error };
    notify();
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
          emit(sha, { kind: 'tooLarge' });
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
        emit(sha, { kind: 'missing', reason: `object is a ${parts[1]}, not a blob` });
        return;
      }
      // `<sha> missing` / `<sha> ambiguous`: no body follows.
      emit(sha, { kind: 'missing', reason: parts.slice(1).join(' ') || 'unreadable' });
    };

    const finishBody = () => {
      const data = body!;
      body = null;
      needNewline = true;
      emit(bodySha, { kind: 'blob', data });
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
      if (stopped) return end(null);
      if (failed) return end(failed);
      const stderr = redact(Buffer.concat(err).toString('utf8'), repo.redact);
      if (code === 0) return end(null);
      // git dies (`fatal: unable to stream <sha>`) on an object whose bytes do not inflate: report
      // that one as unreadable and go on with the rest. Capped, so a git that cannot run at all
      // fails the scan instead of marking every blob unreadable.
      if (head < pending.length && restarts < MAX_RESTARTS) {
        restarts++;
        emit(pending[head]!.sha, { kind: 'missing', reason: firstLine(stderr) || `git cat-file exited ${code}` });
        if (failed) return end(failed);
        current = start();
        for (let k = head; k < pending.length; k++) current.stdin.write(`${pending[k]!.sha}\n`);
        paused = false;
        if (ended) current.stdin.end();
        return;
      }
      end(new GitCommandError('cat-file', code ?? -1, stderr));
    });
    return child;
  };
  let current = start();

  return {
    request(sha, provenance) {
      pending.push({ sha, provenance });
      current.stdin.write(`${sha}\n`);
    },
    finish() {
      ended = true;
      current.stdin.end();
    },
    async *[Symbol.asyncIterator]() {
      try {
        yield* drain();
      } finally {
        // The consumer stopped early (an error of its own): git has nothing more to do.
        if (!outcome) {
          stopped = true;
          current.kill();
        }
      }
    },
  };

  async function* drain(): AsyncGenerator<SourceEvent> {
    for (;;) {
      while (queueHead < queue.length) {
        const ev = queue[queueHead]!;
        queue[queueHead++] = undefined; // let the blob be collected
        if (queueHead > 1024 && queueHead * 2 > queue.length) {
          queue = queue.slice(queueHead);
          queueHead = 0;
        }
        if (paused && queue.length - queueHead < QUEUE_HIGH / 2) {
          paused = false;
          current.stdout.resume();
        }
        yield ev;
      }
      if (outcome) {
        if (outcome.error) throw outcome.error;
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  }
}

/** How many times a batch reader restarts git after it died on a corrupt object. */
const MAX_RESTARTS = 100;
