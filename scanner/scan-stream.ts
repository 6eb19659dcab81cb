// Scans a byte stream (stdin) in overlapping chunks (scanner/sources/stdin.ts): memory stays bounded
// and a secret that straddles a chunk boundary is still found, exactly once. Lines and columns count
// from the stream's start.
import type { Finding } from '../model/finding.js';
import type { Rule } from '../rules/schema.js';
import { compilePack, type GlobalAllowlist } from './engine/compile.js';
import { mergeFindings, type ScanResult, scanChunk } from './pipeline.js';
import { readChunks } from './sources/stdin.js';
import { countSkip, emptyStats } from './stats.js';

export interface StreamScanOptions {
  rules: Rule[];
  globalAllow: GlobalAllowlist;
  fingerprintKey: Buffer;
  showSecrets: boolean;
  /** Bytes per chunk. @defaultValue 1 MiB */
  chunkSize?: number;
}

export async function scanStream(stream: NodeJS.ReadableStream, opts: StreamScanOptions): Promise<ScanResult> {
  const started = performance.now();
  const pack = compilePack(opts.rules, opts.globalAllow);
  const stats = emptyStats();
  const found: Finding[] = [];
  const pipe = { fingerprintKey: opts.fingerprintKey, showSecrets: opts.showSecrets, binary: 'scan' } as const;
  for await (const chunk of readChunks(stream, { chunkSize: opts.chunkSize ?? 1 << 20, overlap: pack.maxWindow })) {
    const r = scanChunk(pack, chunk, pipe);
    if (r.kind === 'skip') countSkip(stats, r);
    else found.push(...r.findings);
    stats.bytes = chunk.offset + (chunk.ownedEnd ?? chunk.bytes.length);
  }
  stats.files = 1;
  stats.durationMs = Math.round(performance.now() - started);
  // In stream order: chunks arrive in it, and each chunk's findings are in it.
  return { findings: mergeFindings(found), stats };
}
