// One file's bytes → findings or a skip reason. Shared by the inline path and the worker threads so
// both behave identically.
import type { CompiledPack } from './engine/compile.js';
import { scanBuffer, scanPathRules } from './engine/engine.js';
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
  const ctx = { path, source: { kind: 'file' } as const, fingerprintKey: opts.fingerprintKey, showSecrets: opts.showSecrets };
  // Files that are credentials by their path (keystores): reported without reading their content,
  // binary or not, even under --skip-binary.
  const byPath = scanPathRules(pack, buf, { path });
  if (looksBinary(buf.subarray(0, 8000))) {
    if (opts.skipBinary && byPath.length === 0) return { status: 'skipped', path, reason: 'binary' };
    const findings = opts.skipBinary ? [] : scanBinaryBytes(pack, buf, path, opts);
    findings.unshift(...toFindings(pack, buf, byPath, ctx));
    return { status: 'scanned', path, bytes: buf.length, findings };
  }
  const matches = scanBuffer(pack, buf, { path });
  const findings = toFindings(pack, buf, byPath.length > 0 ? [...byPath, ...matches] : matches, ctx);
  return { status: 'scanned', path, bytes: buf.length, findings };
}
