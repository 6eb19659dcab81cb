// Scans one binary artefact (core file, minidump, heap snapshot, hprof, any binary): the dump source
// (scanner/sources/dump.ts) yields its string runs in overlapping windows, the pipeline maps every
// match back to its byte offset in the original (for gzip: decompressed) input. Memory stays bounded.

import type { KeywardenError } from '../errors/error.js';
import type { Finding } from '../model/finding.js';
import type { CompiledPack } from './engine/compile.js';
import { type FindingOptions, findingsIn, matchChunk, mergeFindings, type ScanResult } from './pipeline.js';
import { type DumpReadOptions, DumpSource } from './sources/dump.js';
import type { ExtractOptions } from './sources/strings.js';
import { countError, countSkip, emptyStats } from './stats.js';

export interface DumpScanOptions extends ExtractOptions, FindingOptions, Pick<DumpReadOptions, 'maxBytes' | 'signal'> {
  /** Bytes per read and (roughly) per engine window over the extracted text. @defaultValue 4 MiB */
  chunkSize?: number;
}

export interface DumpScanResult extends ScanResult {
  /** Set when reading stopped early (corrupt gzip, read error, byte limit, abort): findings and stats cover what was read. */
  error?: KeywardenError;
}

/**
 * Findings with `{kind:'dump', path, offset}` provenance, in offset order. Line is 1 + the 0x0A bytes
 * before the secret in the input; column is 1 + bytes since the last 0x0A (byte columns: a dump has
 * no character encoding). Stats count the file (unless it failed) and the input bytes read.
 */
export async function scanDumpFile(
  pack: CompiledPack,
  absPath: string,
  path: string,
  opts: DumpScanOptions,
): Promise<DumpScanResult> {
  const source = new DumpSource(absPath, path, { ...opts, context: pack.maxWindow });
  const stats = emptyStats();
  const found: Finding[] = [];
  let error: KeywardenError | undefined;
  for await (const ev of source) {
    // Windows of one file: scanned here, the file counted once below.
    if (ev.kind === 'chunk') found.push(...findingsIn(pack, ev.chunk, matchChunk(pack, ev.chunk), opts));
    else if (ev.kind === 'skip') countSkip(stats, ev);
    else {
      countError(stats, ev);
      error = ev.error;
    }
  }
  stats.bytes = source.bytesRead;
  if (!error) stats.files = 1;
  // Windows come in text order and each window's findings in offset order: no sort needed.
  return { findings: mergeFindings(found), stats, ...(error ? { error } : {}) };
}
