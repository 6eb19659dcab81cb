// One tree file: read it (scanner/sources/read-file.ts) and put its chunk through the pipeline. Shared by
// the worker threads and the inline path so both behave identically.
import type { CompiledPack } from '../engine/compile.js';
import { type ChunkResult, type PipelineOptions, scanChunk } from '../pipeline.js';
import { readFileChunk } from '../sources/read-file.js';

export interface FileScanOptions extends PipelineOptions {
  /** Bytes; a larger file is a `tooLarge` skip, checked on the open file. */
  maxFileSize: number;
}

/** The pipeline's binary policy for tree files: `--skip-binary`, else their string runs as dumps. */
export function treeBinaryPolicy(skipBinary: boolean): PipelineOptions['binary'] {
  return skipBinary ? 'skip' : 'strings';
}

export function readAndScan(pack: CompiledPack, file: { path: string; absPath: string }, opts: FileScanOptions): ChunkResult {
  const ev = readFileChunk(file, opts.maxFileSize);
  return ev.kind === 'skip' ? ev : scanChunk(pack, ev.chunk, opts);
}
