// Coordinates a directory scan: the walker feeds batches of files to worker threads (or scans inline
// when threads are unavailable), results are folded into findings and counted stats.
import { availableParallelism } from 'node:os';
import type { Rule } from '../rules/schema.js';
import { compilePack, type GlobalAllowlist } from './engine/compile.js';
import type { Finding, ScanStats, SkipReason } from './finding.js';
import type { FileScanResult } from './scan-file.js';
import { walkTree } from './sources/files.js';
import { ScanPool, workersAvailable } from './threads/pool.js';
import { readAndScan } from './threads/read-and-scan.js';

export interface TreeScanOptions {
  root: string;
  rules: Rule[];
  globalAllow: GlobalAllowlist;
  excludes: string[];
  maxFileSize: number;
  /** Do not honour `.gitignore` files (ripgrep's `--no-ignore`). */
  noIgnore?: boolean;
  fingerprintKey: Buffer;
  showSecrets: boolean;
  skipBinary: boolean;
  /** Worker threads; 0 scans on the calling thread. Default: available cores. */
  threads?: number;
  onProgress?: (p: ScanProgress) => void;
}

export interface ScanProgress {
  files: number;
  bytes: number;
  findings: number;
}

export interface TreeScanResult {
  findings: Finding[];
  stats: ScanStats;
  /** Files and directories a `.gitignore` dropped without a skip record (for the zero-files notice). */
  gitignored?: number;
}

/** Files per batch and bytes per batch: per-file messages cost more than the scan of a small file. */
const BATCH_FILES = 256;
const BATCH_BYTES = 2 << 20;

export function emptyStats(): ScanStats {
  return { files: 0, bytes: 0, skipped: {} as Record<SkipReason, number>, durationMs: 0, errors: [] };
}

export function countResult(stats: ScanStats, findings: Finding[], r: FileScanResult): void {
  if (r.status === 'scanned') {
    stats.files++;
    stats.bytes += r.bytes;
    for (const f of r.findings) findings.push(f);
  } else {
    countSkip(stats, r.reason, r.path, r.code, r.message);
  }
}

export function countSkip(stats: ScanStats, reason: SkipReason, path: string, code?: string, message?: string): void {
  stats.skipped[reason] = (stats.skipped[reason] ?? 0) + 1;
  if (reason === 'unreadable') stats.errors.push({ path, code: code ?? 'EIO', message: message ?? 'unreadable' });
}

export async function scanTree(opts: TreeScanOptions): Promise<TreeScanResult> {
  const started = performance.now();
  const stats = emptyStats();
  const findings: Finding[] = [];
  const threads = opts.threads ?? availableParallelism();
  const progress = () => opts.onProgress?.({ files: stats.files, bytes: stats.bytes, findings: findings.length });
  const counts = { gitignored: 0 };
  const events = walkTree(opts.root, {
    counts,
    excludes: opts.excludes,
    maxFileSize: opts.maxFileSize,
    noIgnore: opts.noIgnore === true,
    // The reader checks sizes on the open file; the walking thread is spared a syscall per file.
    statFiles: false,
  });

  if (threads === 0 || !workersAvailable()) {
    const pack = compilePack(opts.rules, opts.globalAllow);
    for await (const ev of events) {
      if (ev.kind === 'skip') countSkip(stats, ev.reason, ev.path, ev.code, ev.message);
      else countResult(stats, findings, readAndScan(pack, ev.entry, opts));
      progress();
    }
  } else {
    const pool = new ScanPool(threads, {
      rules: opts.rules,
      globalAllow: opts.globalAllow,
      fingerprintKey: new Uint8Array(opts.fingerprintKey),
      showSecrets: opts.showSecrets,
      skipBinary: opts.skipBinary,
      maxFileSize: opts.maxFileSize,
    });
    const inFlight: Array<Promise<void>> = [];
    let batch: Array<{ path: string; absPath: string }> = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const { done } = await pool.submit(batch);
      batch = [];
      batchBytes = 0;
      inFlight.push(
        done.then((outcome) => {
          stats.files += outcome.cleanFiles;
          stats.bytes += outcome.cleanBytes;
          for (const r of outcome.results) countResult(stats, findings, r);
          progress();
        }),
      );
    };
    try {
      for await (const ev of events) {
        if (ev.kind === 'skip') {
          countSkip(stats, ev.reason, ev.path, ev.code, ev.message);
          continue;
        }
        batch.push({ path: ev.entry.path, absPath: ev.entry.absPath });
        batchBytes += Math.max(0, ev.entry.size);
        if (batch.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) await flush();
      }
      await flush();
      await Promise.all(inFlight);
    } finally {
      await pool.close();
    }
  }

  findings.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.line - b.line || a.column - b.column));
  stats.errors.sort((a, b) => (a.path < b.path ? -1 : 1));
  stats.durationMs = Math.round(performance.now() - started);
  return { findings, stats, gitignored: counts.gitignored };
}

/**
 * Why a scan read no file, for stderr (a silent zero looks like a clean tree): what the walk
 * ignored or skipped, with the flag that changes it. Null when files were read.
 */
export function zeroFilesNotice(result: TreeScanResult, root: string): string | null {
  if (result.stats.files > 0) return null;
  const why: string[] = [];
  const n = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
  if (result.gitignored) why.push(`${n(result.gitignored, 'path')} ignored by .gitignore (--no-ignore scans them)`);
  const s = result.stats.skipped;
  if (s.excluded) why.push(`${n(s.excluded, 'path')} matched the config's excludes`);
  if (s.binary) why.push(`${n(s.binary, 'binary file')} skipped (--skip-binary)`);
  if (s.tooLarge) why.push(`${n(s.tooLarge, 'file')} over the size limit (--max-file-size)`);
  if (s.symlink) why.push(`${n(s.symlink, 'symlink')} not followed`);
  if (s.unreadable) why.push(`${n(s.unreadable, 'path')} unreadable`);
  if (why.length === 0) why.push('it holds no regular file');
  return `scanned 0 files in ${root}: ${why.join('; ')}`;
}
