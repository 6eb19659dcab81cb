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

/** Files per batch and bytes per batch: per-file messages cost more than the scan of a small file. */
const BATCH_FILES = 256;
const BATCH_BYTES = 2 << 20;

export async function scanTree(opts: TreeScanOptions): Promise<ScanResult> {
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
  const walkOpts = { excludes: opts.excludes, maxFileSize: opts.maxFileSize, noIgnore: opts.noIgnore === true };

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
  return { findings: sortByLocation(mergeFindings(found)), stats };
}
