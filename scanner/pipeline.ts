// The scan pipeline every source feeds: a chunk in, the engine's matches it owns, then findings with
// positions in the whole content's coordinates, keyed fingerprints and redacted previews. The only
// place a secret turns into something that may leave the process, and only redacted unless asked.
import type { Finding, Occurrence, Provenance, Span } from '../model/finding.js';
import { pathOf } from '../model/occurrence.js';
import { BINARY_SNIFF_BYTES, looksBinary } from './binary.js';
import { contextOfProvenance } from './context.js';
import type { CompiledPack } from './engine/compile.js';
import { scanBuffer, scanPathRules } from './engine/engine.js';
import type { RawMatch, ScanContext } from './engine/types.js';
import { fingerprint } from './fingerprint.js';
import { locateOffsets } from './locate.js';
import { redactPreview } from './redact.js';
import type { ScanStats } from './report.js';
import { extractStrings } from './sources/strings.js';
import type { Chunk, Skip, SourceEvent } from './sources/types.js';
import { countError, countSkip } from './stats.js';

export interface FindingOptions {
  /** Must be the same wherever fingerprints are compared (KEYWARDEN_FINGERPRINT_KEY). */
  fingerprintKey: Buffer;
  /** `--show-secrets`: the only way a secret reaches a finding. */
  showSecrets: boolean;
}

export interface PipelineOptions extends FindingOptions {
  /**
   * Content that looks binary (a NUL or a magic number in its first 8000 bytes): `skip` counts it as
   * `binary`; `strings` scans its string runs as a dump (scanner/sources/dump.ts); `scan` takes the
   * bytes as they are (streams and log batches, which are never sniffed).
   */
  binary: 'skip' | 'strings' | 'scan';
  /**
   * false: the caller applies path allowlists itself, per place the content was seen (one git blob
   * at an allowed and at a reported path). @defaultValue true
   */
  pathAllowlists?: boolean;
}

export type ChunkResult = { kind: 'scanned'; bytes: number; findings: Finding[] } | Skip;

/** One chunk through the whole pipeline: path rules, binary policy, engine, findings. */
export function scanChunk(pack: CompiledPack, chunk: Chunk, opts: PipelineOptions): ChunkResult {
  const { bytes } = chunk;
  // Files that are credentials by their path (a keystore, a PKCS#12 bundle) are reported without
  // their content, binary or not, even where binaries are skipped (git blobs, --skip-binary): only
  // whole files and blobs, never a window of a stream or dump.
  const whole = chunk.provenance.kind === 'file' || chunk.provenance.kind === 'git';
  const byPath = whole ? scanPathRules(pack, bytes, scanContext(chunk, opts)) : [];
  if (opts.binary !== 'scan' && looksBinary(bytes.subarray(0, BINARY_SNIFF_BYTES))) {
    if (opts.binary === 'skip') {
      if (byPath.length === 0) return { kind: 'skip', path: pathOf(chunk.provenance), reason: 'binary' };
      return { kind: 'scanned', bytes: bytes.length, findings: findingsIn(pack, chunk, byPath, opts) };
    }
    const strings = scanStrings(pack, chunk, opts);
    const findings = byPath.length > 0 ? [...findingsIn(pack, chunk, byPath, opts), ...strings] : strings;
    return { kind: 'scanned', bytes: bytes.length, findings };
  }
  const matches = matchChunk(pack, chunk, opts);
  const all = byPath.length > 0 ? [...byPath, ...matches] : matches;
  return { kind: 'scanned', bytes: bytes.length, findings: findingsIn(pack, chunk, all, opts) };
}

/**
 * The engine's view of where a chunk came from. Its path selects path-gated rules (`paths`) always;
 * path allowlists apply here unless the caller applies them per place (git blobs, `pathAllowlists`).
 */
function scanContext(chunk: Chunk, opts: { pathAllowlists?: boolean }): ScanContext {
  const path = pathOf(chunk.provenance);
  return opts.pathAllowlists === false ? { gatePath: path } : { path };
}

/**
 * A whole-content chunk's result (a file, a blob) counted into `stats`: one file of its bytes, or a
 * skip under its reason. Returns its findings. (Windows of one stream or dump count their file once,
 * so their coordinators count themselves.)
 */
export function countResult(stats: ScanStats, r: ChunkResult): Finding[] {
  if (r.kind === 'skip') {
    countSkip(stats, r);
    return [];
  }
  stats.files++;
  stats.bytes += r.bytes;
  return r.findings;
}

/** One source event of whole-content chunks through the pipeline into `stats`; returns the chunk's findings. */
export function scanEvent(pack: CompiledPack, ev: SourceEvent, opts: PipelineOptions, stats: ScanStats): Finding[] {
  switch (ev.kind) {
    case 'chunk':
      return countResult(stats, scanChunk(pack, ev.chunk, opts));
    case 'skip':
      countSkip(stats, ev);
      return [];
    case 'error':
      countError(stats, ev);
      return [];
    default: {
      const never: never = ev;
      return never;
    }
  }
}

/** The engine's matches that start in the chunk's owned range. Hold secrets: never log them. */
export function matchChunk(pack: CompiledPack, chunk: Chunk, opts: { pathAllowlists?: boolean } = {}): RawMatch[] {
  const matches = scanBuffer(pack, chunk.bytes, scanContext(chunk, opts));
  const from = chunk.ownedStart ?? 0;
  const to = chunk.ownedEnd ?? chunk.bytes.length;
  if (from === 0 && to >= chunk.bytes.length) return matches;
  return matches.filter((m) => m.start >= from && m.start < to);
}

/**
 * Findings for `matches` (offsets into `chunk.bytes`): one per fingerprint, occurrences in position
 * order, findings in order of their first occurrence. Lines and columns are computed only here, for
 * matches (never for the whole chunk).
 */
export function findingsIn(pack: CompiledPack, chunk: Chunk, matches: readonly RawMatch[], opts: FindingOptions): Finding[] {
  if (matches.length === 0) return [];
  const ordered = [...matches].sort(
    (a, b) => a.start - b.start || pack.rules[a.ruleIndex]!.rule.id.localeCompare(pack.rules[b.ruleIndex]!.rule.id),
  );
  const places = chunk.map ? mappedPlaces(chunk, ordered) : textPlaces(chunk, ordered);
  const byFp = new Map<string, Finding>();
  ordered.forEach((m, i) => {
    const { provenance, span } = places[i]!;
    const occ = occurrenceAt(provenance, span, m);
    const fp = fingerprint(opts.fingerprintKey, pack.rules[m.ruleIndex]!.rule.id, m.secret);
    const seen = byFp.get(fp);
    if (seen) seen.occurrences.push(occ);
    else byFp.set(fp, newFinding(pack, m, fp, occ, opts));
  });
  return [...byFp.values()];
}

/** The finding of one match seen at one place the caller worked out (a secret found in decoded text). */
export function findingAt(pack: CompiledPack, m: RawMatch, provenance: Provenance, span: Span, opts: FindingOptions): Finding {
  const occ = occurrenceAt(provenance, span, m);
  return newFinding(pack, m, fingerprint(opts.fingerprintKey, pack.rules[m.ruleIndex]!.rule.id, m.secret), occ, opts);
}

function occurrenceAt(provenance: Provenance, span: Span, m: RawMatch): Occurrence {
  const occ: Occurrence = { provenance, span };
  if (m.encoding) occ.encoding = m.encoding;
  const context = contextOfProvenance(provenance);
  if (context !== undefined) occ.context = context;
  return occ;
}

/**
 * `occ` seen at another place (a blob's finding at each commit and path that introduced it): the
 * same span and encoding, that place's provenance, and the context its path gives.
 */
export function placed(occ: Occurrence, provenance: Provenance): Occurrence {
  const { context: _old, ...rest } = occ;
  const out: Occurrence = { ...rest, provenance };
  const context = contextOfProvenance(provenance);
  if (context !== undefined) out.context = context;
  return out;
}

function newFinding(pack: CompiledPack, m: RawMatch, fp: string, occ: Occurrence, opts: FindingOptions): Finding {
  const compiled = pack.rules[m.ruleIndex]!;
  const rule = compiled.rule;
  const f: Finding = {
    fingerprint: fp,
    ruleId: rule.id,
    description: rule.description,
    // Hashes must be cracked and public keys grant nothing: reported, but as `info`.
    confidence: compiled.kind === 'credential' ? rule.confidence : 'info',
    redacted: redactPreview(m.secret),
    entropy: Math.round(m.entropy * 1000) / 1000,
    state: 'detected',
    occurrences: [occ],
  };
  if (opts.showSecrets) {
    f.secret = m.secret;
    if (m.parts) f.parts = { ...m.parts };
  }
  return f;
}

interface Place {
  provenance: Provenance;
  span: Span;
}

/** Text: line and UTF-16 column from the bytes, shifted by where the chunk starts in its content. */
function textPlaces(chunk: Chunk, matches: readonly RawMatch[]): Place[] {
  const offsets: number[] = [];
  for (const m of matches) offsets.push(m.start, m.end);
  const pos = locateOffsets(chunk.bytes, offsets);
  const lineBase = chunk.startLine - 1;
  const col0 = chunk.startColumn ?? 0;
  return matches.map((_, i) => {
    const from = pos[2 * i]!;
    const to = pos[2 * i + 1]!;
    return {
      provenance: chunk.provenance,
      span: {
        line: lineBase + from.line,
        column: from.line === 1 ? col0 + from.column : from.column,
        endLine: lineBase + to.line,
        endColumn: to.line === 1 ? col0 + to.column : to.column,
      },
    };
  });
}

/**
 * Extracted text: the map gives the input offset, line (1 + the 0x0A bytes before) and byte column of
 * each end, and a dump's provenance takes the secret's offset.
 */
function mappedPlaces(chunk: Chunk, matches: readonly RawMatch[]): Place[] {
  const map = chunk.map!;
  return matches.map((m) => {
    const from = map.locate(chunk.offset + m.start);
    const last = map.locate(chunk.offset + Math.max(m.start, m.end - 1));
    const p = chunk.provenance;
    return {
      provenance: p.kind === 'dump' ? { ...p, offset: from.offset } : p,
      span: { line: from.line, column: from.column, endLine: last.line, endColumn: last.column + last.stride },
    };
  });
}

/** A binary already in memory (bounded by --max-file-size): its string runs as a dump. */
function scanStrings(pack: CompiledPack, chunk: Chunk, opts: PipelineOptions): Finding[] {
  const { text, map } = extractStrings(chunk.bytes);
  if (text.length === 0) return [];
  const path = pathOf(chunk.provenance);
  const strings: Chunk = { bytes: text, provenance: { kind: 'dump', path, offset: 0 }, offset: 0, startLine: 1, map };
  return findingsIn(pack, strings, matchChunk(pack, strings, opts), opts);
}

/**
 * One finding per fingerprint across many chunks, in order of first appearance, each with every
 * occurrence in input order. The inputs are not modified.
 */
export function mergeFindings(findings: Iterable<Finding>): Finding[] {
  const byFp = new Map<string, Finding>();
  for (const f of findings) {
    const seen = byFp.get(f.fingerprint);
    if (seen) seen.occurrences.push(...f.occurrences);
    else byFp.set(f.fingerprint, { ...f, occurrences: [...f.occurrences] });
  }
  return [...byFp.values()];
}

/** What a scan returns: its findings (one per fingerprint) and its counted summary. */
export interface ScanResult {
  findings: Finding[];
  stats: ScanStats;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Occurrences by path, line, column: the order a tree's report lists them in. */
export function byLocation(a: Occurrence, b: Occurrence): number {
  return (
    cmp(pathOf(a.provenance), pathOf(b.provenance)) ||
    a.span.line - b.span.line ||
    a.span.column - b.span.column ||
    (a.provenance.kind === 'dump' && b.provenance.kind === 'dump' ? a.provenance.offset - b.provenance.offset : 0)
  );
}

/**
 * Each finding's occurrences in location order, findings by their first occurrence (then rule id), so
 * a scan's result does not depend on which thread or chunk finished first. Sorts in place.
 */
export function sortByLocation(findings: Finding[]): Finding[] {
  for (const f of findings) f.occurrences.sort(byLocation);
  return findings.sort((a, b) => byLocation(a.occurrences[0]!, b.occurrences[0]!) || a.ruleId.localeCompare(b.ruleId));
}
