// Coordinates a directory scan: the walker feeds batches of files to worker threads (or scans inline
// when threads are unavailable), results are folded into findings and counted stats.
import { availableParallelism } from 'node:os';
import type { Finding } from '../model/finding.js';
import type { Rule } from '../rules/schema.js';
import { compilePack, type GlobalAllowlist } from './engine/compile.js';
import { countResult, mergeFindings, type ScanResult, scanEvent, sortByLocation } from './pipeline.js';
import { treeChunks, walkTree } from './sources/files.js';
import { countSkip, emptyStats, sortErrors } from './stats.js';
import { ScanPool, workersAvailable } from './threads/pool.js';
import { type FileScanOptions, treeBinaryPolicy } from './threads/read-and-scan.js';

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
  /** Occurrences found so far. */
  findings: number;
}

export interface TreeScanResult extends ScanResult {
  /** Files and directories a `.gitignore` dropped without a skip record (for the zero-files notice). */
  gitignored?: number;
}

/** Files per batch and bytes per batch: per-file messages cost more than the scan of a small file. */
const BATCH_FILES = 256;
const BATCH_BYTES = 2 << 20;

export async function scanTree(opts: TreeScanOptions): Promise<TreeScanResult> {
  const started = performance.now();
  const stats = emptyStats();
  const found: Finding[] = [];
  let occurrences = 0;
  const threads = opts.threads ?? availableParallelism();
  const progress = () => opts.onProgress?.({ files: stats.files, bytes: stats.bytes, findings: occurrences });
  const keep = (fs: Finding[]) => {
    for (const f of fs) {
      found.push(f);
      occurrences += f.occurrences.length;
    }
  };
  const fileOpts: FileScanOptions = {
    fingerprintKey: opts.fingerprintKey,
    showSecrets: opts.showSecrets,
    binary: treeBinaryPolicy(opts.skipBinary),
    maxFileSize: opts.maxFileSize,
  };
  const counts = { gitignored: 0 };
  const walkOpts = { counts, excludes: opts.excludes, maxFileSize: opts.maxFileSize, noIgnore: opts.noIgnore === true };

  if (threads === 0 || !workersAvailable()) {
    const pack = compilePack(opts.rules, opts.globalAllow);
    for await (const ev of treeChunks(opts.root, walkOpts)) {
      keep(scanEvent(pack, ev, fileOpts, stats));
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
          for (const r of outcome.results) keep(countResult(stats, r));
          progress();
        }),
      );
    };
    try {
      // The walk on this thread, reading and scanning in the workers (read-and-scan.ts): the reader
      // checks sizes on the open file, so the walking thread is spared a syscall per file.
      for await (const ev of walkTree(opts.root, { ...walkOpts, statFiles: false })) {
        if (ev.kind === 'skip') {
          countSkip(stats, ev);
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

  sortErrors(stats);
  stats.durationMs = Math.round(performance.now() - started);
  return { findings: sortByLocation(mergeFindings(found)), stats, gitignored: counts.gitignored };
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
