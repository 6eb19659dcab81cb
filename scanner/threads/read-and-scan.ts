// Read one file from disk and scan it; a read error becomes a counted skip, never an exception.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { CompiledPack } from '../engine/compile.js';
import { type FileScanOptions, type FileScanResult, scanFileBytes } from '../scan-file.js';

/**
 * Files up to this size are read into one reused buffer: a fresh allocation per file cost a thread
 * ~100 ms per 100 MB in page faults and GC. Safe because the scan is synchronous and findings copy
 * what they keep (strings); larger files get their own buffer so the scratch never pins one.
 */
const SCRATCH_MAX = 8 << 20;
let scratch = Buffer.allocUnsafe(1 << 20);

function bufferFor(size: number): Buffer {
  if (size > SCRATCH_MAX) return Buffer.allocUnsafe(size);
  if (size > scratch.length) scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(size, scratch.length * 2)));
  return scratch.subarray(0, size);
}

export function readAndScan(
  pack: CompiledPack,
  file: { path: string; absPath: string },
  opts: FileScanOptions & { maxFileSize: number },
): FileScanResult {
  let buf: Buffer;
  let fd: number | undefined;
  try {
    // open + fstat + read, as readFileSync does, but the size limit is checked before reading: the
    // walker does not stat each file (it would cost its thread a syscall per file).
    fd = openSync(file.absPath, 'r');
    const st = fstatSync(fd);
    // Replaced by something else since the walk (a FIFO would block): nothing to read.
    if (!st.isFile())
      return { status: 'skipped', path: file.path, reason: 'unreadable', code: 'ENOTFILE', message: 'not a regular file' };
    if (st.size > opts.maxFileSize) return { status: 'skipped', path: file.path, reason: 'tooLarge' };
    buf = bufferFor(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break; // shrank while we read
      got += n;
    }
    if (got < buf.length) buf = buf.subarray(0, got);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { status: 'skipped', path: file.path, reason: 'unreadable', code: e.code ?? 'EIO', message: e.message };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return scanFileBytes(pack, buf, file.path, opts);
}
