// The JSON-line decoder of log redaction: keeps a redacted NDJSON line valid JSON with the same
// structure, and finds secrets hidden behind JSON escapes (`\/` inside base64, `\u0041`) that the
// raw scan cannot see. Used by the batch (redact-lines.ts); no I/O.
import type { Finding } from '../model/finding.js';
import { scanBuffer } from './engine/engine.js';
import type { RawMatch } from './engine/types.js';
import { findingOnLine, markerFor, mergeSpans, type Redactor, replaceSpans, type Span, spanOf } from './redact-spans.js';

const NL = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** The longest JSON escape (`\uXXXX`) is 6 bytes: a span this close after a backslash may cut one. */
const ESCAPE_REACH = 5;

/** Starts of the lines that contain `\/` or `\u` (escapes that can hide a secret from the raw scan). */
export function escapedLineStarts(buf: Buffer): number[] {
  const out: number[] = [];
  for (const needle of ['\\/', '\\u']) {
    for (let i = buf.indexOf(needle); i !== -1; ) {
      const ls = i === 0 ? 0 : buf.lastIndexOf(NL, i - 1) + 1;
      out.push(ls);
      const nl = buf.indexOf(NL, i);
      if (nl === -1) break;
      i = buf.indexOf(needle, nl + 1);
    }
  }
  return out;
}

/**
 * Of the lines holding an escape, those whose decoded strings contain a match. The decoded strings of
 * all of them are joined and scanned in one engine call: per-line scans made a log where every line
 * has a `\u00e9` ten times slower than one without (measured: ~10 MB/s against ~120 MB/s).
 */
export function suspectEscapedLines(r: Redactor, buf: Buffer, starts: number[]): number[] {
  if (starts.length === 0) return starts;
  const uniq = [...new Set(starts)].sort((a, b) => a - b);
  const texts: string[] = [];
  const segStart: number[] = [];
  const owner: number[] = [];
  let off = 0;
  const collect = (v: unknown, into: string[]): void => {
    if (typeof v === 'string') into.push(v);
    else if (Array.isArray(v)) for (const x of v) collect(x, into);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        into.push(k);
        collect(x, into);
      }
    }
  };
  for (const ls of uniq) {
    const nl = buf.indexOf(NL, ls);
    let v: unknown;
    try {
      v = JSON.parse(buf.toString('utf8', ls, nl === -1 ? buf.length : nl));
    } catch {
      continue; // not JSON: its bytes are its text, and the raw scan has seen them
    }
    const strings: string[] = [];
    collect(v, strings);
    const text = `${strings.join('\n')}\n`;
    segStart.push(off);
    owner.push(ls);
    texts.push(text);
    off += Buffer.byteLength(text, 'utf8');
  }
  if (texts.length === 0) return [];
  const hits = scanBuffer(r.pack, Buffer.from(texts.join(''), 'utf8'), { path: r.stream });
  const out = new Set<number>();
  for (const m of hits) {
    // The last segment that starts at or before the match owns it.
    let lo = 0;
    let hi = segStart.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segStart[mid]! <= m.start) lo = mid;
      else hi = mid - 1;
    }
    out.add(owner[lo]!);
  }
  return [...out];
}

/**
 * True when every span lies inside the content of one JSON string and no escape sequence is in or
 * just before it: then swapping the bytes for the marker (which has no `"` or `\`) keeps the line
 * exactly as valid as it was, and means the same as redacting the decoded string. The common case,
 * and the one that needs no parse.
 */
export function allSpansInsideStrings(line: Buffer, spans: readonly Span[]): boolean {
  let si = 0;
  let i = 0;
  const n = line.length;
  while (i < n && si < spans.length) {
    const q = line.indexOf(QUOTE, i);
    if (q === -1) return false;
    // Spans that start before this string opens are outside any string.
    if (spans[si]!.start <= q) return false;
    // Find the closing quote, skipping escapes.
    let j = q + 1;
    while (j < n) {
      const c = line[j]!;
      if (c === BACKSLASH) j += 2;
      else if (c === QUOTE) break;
      else j++;
    }
    if (j >= n) return false;
    while (si < spans.length && spans[si]!.start < j) {
      const sp = spans[si]!;
      if (sp.end > j) return false;
      const from = Math.max(q + 1, sp.start - ESCAPE_REACH);
      const bs = line.indexOf(BACKSLASH, from);
      if (bs !== -1 && bs < sp.end) return false;
      si++;
    }
    i = j + 1;
  }
  return si === spans.length;
}

/**
 * The slow path for one line: parse, redact every string (keys too) by scanning its decoded text and
 * by removing the secrets the raw scan found, re-serialize. Null when the line is not JSON (the caller
 * then redacts it as plain text). Findings for secrets only the decoded scan sees go to `report`, at
 * line `lineNo` and column 1 (a decoded string has no column in the line).
 */
export function redactJsonLine(
  r: Redactor,
  line: Buffer,
  spans: readonly Span[],
  rawMatches: readonly RawMatch[],
  lineNo: number,
  report: (f: Finding) => void,
  /** Secrets that context or the stream's memory found on this line (text → marker). */
  contextKnown: ReadonlyMap<string, string> = new Map(),
): Buffer | null {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return null;
  }
  // Secrets the raw scan found on this line, as text to remove wherever they appear decoded.
  const known = new Map<string, string>();
  const markers = new Set(spans.map((s) => s.marker));
  for (const m of rawMatches) {
    const marker = markerFor(r, m.ruleIndex, m.secret);
    if (markers.has(marker) && m.encoding === undefined) known.set(m.secret, marker);
  }
  for (const [secret, marker] of contextKnown) if (!known.has(secret)) known.set(secret, marker);
  const seen = new Set<string>(markers);
  let changed = false;
  const redactString = (s: string): string => {
    let out = s;
    for (const [secret, marker] of known) {
      if (!out.includes(secret)) continue;
      // A short context secret (a 4-letter password) goes only as a whole word, not inside others.
      const next = secret.length >= 6 ? out.split(secret).join(marker) : out.replace(wholeWord(secret), marker);
      if (next !== out) changed = true;
      out = next;
    }
    const b = Buffer.from(out, 'utf8');
    // A marker already in place is no secret: a keyword-before-value rule would match its tail.
    const ms = scanBuffer(r.pack, b, { path: r.stream }).filter((m) => !insideMarker(b, m.start));
    if (ms.length === 0) return out;
    changed = true;
    const local: Span[] = [];
    for (const m of ms) {
      const sp = spanOf(r, m);
      local.push(sp);
      if (!seen.has(sp.marker)) {
        seen.add(sp.marker);
        report(findingOnLine(r, m, lineNo));
      }
    }
    return replaceSpans(b, mergeSpans(local)).toString('utf8');
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactString(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[redactString(k)] = walk(x);
      return o;
    }
    return v;
  };
  const redacted = walk(value);
  // Nothing found in the decoded text (an escape that hid nothing): keep the line byte for byte.
  if (!changed) return spans.length === 0 ? line : null;
  return Buffer.from(JSON.stringify(redacted), 'utf8');
}

function wholeWord(s: string): RegExp {
  return new RegExp(`(?<![A-Za-z0-9_])${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_])`, 'g');
}

const MARKER_OPEN = Buffer.from('[REDACTED:');

/** True when byte `at` of `b` lies inside a `[REDACTED:…]` marker. */
function insideMarker(b: Buffer, at: number): boolean {
  const open = b.lastIndexOf(MARKER_OPEN, at);
  if (open === -1) return false;
  const close = b.indexOf(0x5d, open);
  return close === -1 || close >= at;
}
