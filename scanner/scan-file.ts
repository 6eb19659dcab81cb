// One file's bytes → findings or a skip reason. Shared by the inline path and the worker threads so
// both behave identically.
import type { CompiledPack } from './engine/compile.js';
import { scanBuffer } from './engine/engine.js';
import type { Finding, SkipReason } from './finding.js';
import { toFindings } from './findings.js';
import { scanBinaryBytes } from './scan-dump.js';
import { looksBinary } from './sources/files.js';

export interface FileScanOptions {
  fingerprintKey: Buffer;
  showSecrets: boolean;
  /** Skip files that look binary; otherwise their string runs are scanned as a dump (scan-dump.ts). */
  skipBinary: boolean;
}

export type FileScanResult =
  | { status: 'scanned'; path: string; bytes: number; findings: Finding[] }
  | { status: 'skipped'; path: string; reason: SkipReason; code?: string; message?: string };

export function scanFileBytes(pack: CompiledPack, buf: Buffer, path: string, opts: FileScanOptions): FileScanResult {
  if (looksBinary(buf.subarray(0, 8000))) {
    if (opts.skipBinary) return { status: 'skipped', path, reason: 'binary' };
    return { status: 'scanned', path, bytes: buf.length, findings: scanBinaryBytes(pack, buf, path, opts) };
  }
  const matches = scanBuffer(pack, buf, { path });
  const findings = toFindings(pack, buf, matches, {
    path,
    source: { kind: 'file' },
    fingerprintKey: opts.fingerprintKey,
    showSecrets: opts.showSecrets,
  });
  return { status: 'scanned', path, bytes: buf.length, findings };
}
