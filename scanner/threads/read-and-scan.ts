// Read one file from disk and scan it; a read error becomes a counted skip, never an exception.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { CompiledPack } from '../engine/compile.js';
import { type FileScanOptions, type FileScanResult, scanFileBytes } from '../scan-file.js';

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
    buf = Buffer.allocUnsafe(st.size);
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
