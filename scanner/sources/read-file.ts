// One walked file as its chunk: the reader the tree scan's worker threads run (scanner/threads). Apart
// from the walk (files.ts) so that a worker loads none of what walking needs (fs/promises, the
// gitignore matcher): each worker thread boots with the modules it imports, on the scan's clock.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ChunkEvent, FileEntry, Skip } from './types.js';

export function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
}

export function unreadable(path: string, err: unknown): Skip {
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'skip', path, reason: 'unreadable', code: errCode(err), message };
}

/**
 * Files up to this size are read into one reused buffer: a fresh allocation per file cost a thread
 * ~100 ms per 100 MB in page faults and GC. Safe because the scan of a chunk is synchronous and
 * findings copy what they keep (strings); larger files get their own buffer so the scratch never pins one.
 */
const SCRATCH_MAX = 8 << 20;
let scratch = Buffer.allocUnsafe(1 << 20);

function bufferFor(size: number): Buffer {
  if (size > SCRATCH_MAX) return Buffer.allocUnsafe(size);
  if (size > scratch.length) scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(size, scratch.length * 2)));
  return scratch.subarray(0, size);
}

/**
 * A walked file as its chunk (provenance `{kind:'file', path}`), or a counted skip: a read error is a
 * value, never an exception. The chunk's bytes may be a reused buffer: scan them before the next call.
 */
export function readFileChunk(file: Pick<FileEntry, 'path' | 'absPath'>, maxFileSize: number): ChunkEvent | Skip {
  let buf: Buffer;
  let fd: number | undefined;
  try {
    // The walker does not stat each file (it would cost its thread a syscall per file), and neither
    // does this, mostly: one read into the scratch buffer settles nearly every file, because a
    // regular file reads short only at its end. Only a read that fills it asks fstat for the size
    // (and whether this is still a regular file: the walk saw one, but it may have been replaced).
    fd = openSync(file.absPath, 'r');
    const want = Math.min(scratch.length, maxFileSize + 1);
    const got = readSync(fd, scratch, 0, want, null);
    if (got < want) buf = scratch.subarray(0, got);
    else {
      const st = fstatSync(fd);
      if (!st.isFile())
        return { kind: 'skip', path: file.path, reason: 'unreadable', code: 'ENOTFILE', message: 'not a regular file' };
      if (st.size > maxFileSize) return { kind: 'skip', path: file.path, reason: 'tooLarge' };
      const head = scratch;
      buf = bufferFor(Math.max(st.size, got));
      if (buf.buffer !== head.buffer) head.copy(buf, 0, 0, got);
      let at = got;
      while (at < buf.length) {
        const n = readSync(fd, buf, at, buf.length - at, null);
        if (n === 0) break; // shrank while we read
        at += n;
      }
      if (at < buf.length) buf = buf.subarray(0, at);
    }
  } catch (err) {
    return unreadable(file.path, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return { kind: 'chunk', chunk: { bytes: buf, provenance: { kind: 'file', path: file.path }, offset: 0, startLine: 1 } };
}
