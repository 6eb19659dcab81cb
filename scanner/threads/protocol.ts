// Messages between the scan coordinator and its worker threads (structured-clone safe).

import type { Rule } from '../../rules/schema.js';
import type { GlobalAllowlist } from '../engine/compile.js';
import type { ChunkResult } from '../pipeline.js';

export interface WorkerInit {
  rules: Rule[];
  globalAllow: GlobalAllowlist;
  fingerprintKey: Uint8Array;
  showSecrets: boolean;
  skipBinary: boolean;
  maxFileSize: number;
}

/** The first message a worker gets: it may have booted before the scan knew its rules (prestart). */
export interface InitRequest {
  kind: 'init';
  init: WorkerInit;
}

export interface BatchRequest {
  kind: 'batch';
  id: number;
  files: Array<{ path: string; absPath: string }>;
}

/**
 * Files scanned clean are only counted: structured-cloning one result object per file cost each
 * worker ~130 ms per 100 MB of small files.
 */
export interface BatchOutcome {
  /** Skipped files and files with findings. */
  results: ChunkResult[];
  cleanFiles: number;
  cleanBytes: number;
}

export interface BatchResponse extends BatchOutcome {
  id: number;
}
