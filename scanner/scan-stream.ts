// Scans a byte stream (stdin) in overlapping chunks: memory stays bounded and a secret that straddles
// a chunk boundary is still found, exactly once. Lines and columns count from the stream's start.
import type { Rule } from '../rules/schema.js';
import { compilePack, type GlobalAllowlist } from './engine/compile.js';
import { scanBuffer } from './engine/engine.js';
import type { Finding } from './finding.js';
import { toFindings } from './findings.js';
import { emptyStats, type TreeScanResult } from './scan-tree.js';
import { readChunks } from './sources/stdin.js';

export interface StreamScanOptions {
  rules: Rule[];
  globalAllow: GlobalAllowlist;
  fingerprintKey: Buffer;
  showSecrets: boolean;
  /** Name used as the finding path. */
  path: string;
  chunkSize?: number;
}

const NL = 0x0a;

export async function scanStream(stream: NodeJS.ReadableStream, opts: StreamScanOptions): Promise<TreeScanResult> {
  const started = performance.now();
  const pack = compilePack(opts.rules, opts.globalAllow);
  const stats = emptyStats();
  const findings: Finding[] = [];
  // Newlines before the current chunk, and the UTF-16 length of the partial line it starts inside.
  let linesBefore = 0;
  let consumed = 0;
  /** UTF-16 length of the partial line the next chunk starts inside. */
  let carryColumns = 0;
  for await (const chunk of readChunks(stream, { chunkSize: opts.chunkSize ?? 1 << 20, overlap: pack.maxWindow })) {
    const { buf, offset, ownedEnd } = chunk;
    if (offset !== consumed) throw new Error(`stream chunk at ${offset}, expected ${consumed}`); // readChunks is contiguous
    const matches = scanBuffer(pack, buf, { path: opts.path }).filter((m) => m.start < ownedEnd);
    const local = toFindings(pack, buf, matches, {
      path: opts.path,
      source: { kind: 'stdin' },
      fingerprintKey: opts.fingerprintKey,
      showSecrets: opts.showSecrets,
    });
    // Columns on the chunk's first line continue the line begun in earlier chunks.
    for (const f of local) {
      if (f.line === 1) f.column += carryColumns;
      if (f.endLine === 1) f.endColumn += carryColumns;
      f.line += linesBefore;
      f.endLine += linesBefore;
      findings.push(f);
    }
    // Count lines in the owned part only; the lookahead overlap belongs to the next chunk.
    let lastNl = -1;
    for (let i = buf.indexOf(NL); i !== -1 && i < ownedEnd; i = buf.indexOf(NL, i + 1)) {
      linesBefore++;
      lastNl = i;
    }
    const tailColumns = buf.toString('utf8', lastNl + 1, ownedEnd).length;
    carryColumns = lastNl === -1 ? carryColumns + tailColumns : tailColumns;
    consumed = offset + ownedEnd;
    stats.bytes = consumed;
  }
  stats.files = 1;
  stats.durationMs = Math.round(performance.now() - started);
  return { findings, stats };
}
