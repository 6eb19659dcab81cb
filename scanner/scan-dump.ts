// Scans binary artefacts (core files, minidumps, heap snapshots, hprof, any binary): the dump source
// extracts string runs, the engine scans the text in overlapping windows, and every match is mapped
// back to its byte offset in the original (for gzip: decompressed) input. Memory stays bounded.

import { isKeywardenError, KeywardenError } from '../errors/error.js';
import type { CompiledPack } from './engine/compile.js';
import { scanBuffer } from './engine/engine.js';
import type { RawMatch } from './engine/types.js';
import type { Finding } from './finding.js';
import { toFindings } from './findings.js';
import { type ExtractOptions, extractStrings, type OffsetMap, readDump, StringExtractor } from './sources/dump.js';

export interface DumpScanOptions extends ExtractOptions {
  fingerprintKey: Buffer;
  showSecrets: boolean;
  /** Bytes per read and (roughly) per engine window over the extracted text. @defaultValue 4 MiB */
  chunkSize?: number;
}

export interface DumpScanResult {
  findings: Finding[];
  /** Input bytes scanned (decompressed, for gzip), including those before an error. */
  bytes: number;
  /** Set when reading stopped early (corrupt gzip, read error): findings cover what was read. */
  error?: KeywardenError;
}

/**
 * Findings for matches in extracted `text` (positions relative to `textBase`), each with
 * `source: {kind:'dump', offset}`. Line is 1 + the 0x0A bytes before the secret in the input;
 * column is 1 + bytes since the last 0x0A (byte columns: a dump has no character encoding).
 */
function mapFindings(
  pack: CompiledPack,
  text: Buffer,
  textBase: number,
  matches: readonly RawMatch[],
  map: OffsetMap,
  path: string,
  opts: DumpScanOptions,
): Finding[] {
  const out: Finding[] = [];
  for (const m of matches) {
    const from = map.locate(textBase + m.start);
    const last = map.locate(textBase + Math.max(m.start, m.end - 1));
    const [f] = toFindings(pack, text, [m], {
      path,
      source: { kind: 'dump', offset: from.offset },
      fingerprintKey: opts.fingerprintKey,
      showSecrets: opts.showSecrets,
    });
    if (!f) continue;
    f.line = from.line;
    f.column = from.column;
    f.endLine = last.line;
    f.endColumn = last.column + last.stride;
    out.push(f);
  }
  return out;
}

/** The tree scanner's path for a binary file already in memory (bounded by --max-file-size). */
export function scanBinaryBytes(pack: CompiledPack, buf: Buffer, path: string, opts: DumpScanOptions): Finding[] {
  const { text, map } = extractStrings(buf, opts);
  if (text.length === 0) return [];
  return sortByOffset(mapFindings(pack, text, 0, scanBuffer(pack, text, { path }), map, path, opts));
}

/**
 * Streams one dump file: pieces → string extraction → text windows. Each window is scanned with
 * `pack.maxWindow` bytes of context on both sides but keeps only matches starting in its owned
 * range; owned ranges tile the text, so a secret across any boundary is reported exactly once.
 */
export async function scanDumpFile(
  pack: CompiledPack,
  absPath: string,
  path: string,
  opts: DumpScanOptions,
): Promise<DumpScanResult> {
  const chunk = opts.chunkSize ?? 4 << 20;
  const ctx = pack.maxWindow;
  const ex = new StringExtractor(opts);
  const findings: Finding[] = [];
  // Extracted text from `winStart` on (absolute text positions); matches starting before `ownStart`
  // were reported by an earlier window.
  let parts: Buffer[] = [];
  let partsBytes = 0;
  let winStart = 0;
  let ownStart = 0;

  const scanWindow = (final: boolean) => {
    const win = parts.length === 1 ? parts[0]! : Buffer.concat(parts, partsBytes);
    parts = [win];
    const winEnd = winStart + win.length;
    const ownEnd = final ? winEnd : winEnd - ctx;
    if (ownEnd <= ownStart) return;
    const from = Math.max(winStart, ownStart - ctx);
    const text = win.subarray(from - winStart);
    const matches = scanBuffer(pack, text, { path }).filter((m) => {
      const t = from + m.start;
      return t >= ownStart && t < ownEnd;
    });
    if (matches.length > 0) findings.push(...mapFindings(pack, text, from, matches, ex.map, path, opts));
    ownStart = ownEnd;
    // Keep `ctx` bytes before the next owned range as its leading context.
    const keepFrom = Math.max(winStart, ownStart - ctx);
    parts = [Buffer.from(win.subarray(keepFrom - winStart))];
    partsBytes = parts[0]!.length;
    winStart = keepFrom;
    ex.map.pruneBefore(keepFrom);
  };
  const add = (text: Buffer) => {
    if (text.length === 0) return;
    parts.push(text);
    partsBytes += text.length;
    if (winStart + partsBytes - ownStart >= chunk + ctx) scanWindow(false);
  };

  let error: KeywardenError | undefined;
  try {
    for await (const piece of readDump(absPath, { chunkSize: chunk })) add(ex.push(piece));
  } catch (err) {
    // Report what was read before the failure; the caller decides the exit code.
    error = isKeywardenError(err) ? err : new KeywardenError('KW_SOURCE_READ', `reading ${path} failed`, [], { cause: err });
  }
  add(ex.end());
  scanWindow(true);
  return { findings: sortByOffset(findings), bytes: ex.consumed, ...(error ? { error } : {}) };
}

function sortByOffset(fs: Finding[]): Finding[] {
  const off = (f: Finding) => (f.source.kind === 'dump' ? f.source.offset : 0);
  return fs.sort((a, b) => off(a) - off(b) || a.ruleId.localeCompare(b.ruleId));
}
