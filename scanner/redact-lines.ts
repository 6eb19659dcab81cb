// Log redaction of one batch of whole lines: the same lines out with every secret replaced by its
// marker (redact-spans.ts), JSON lines kept valid JSON (redact-json.ts), and the batch's findings
// through the scan pipeline. What the rules find, what context says is secret (redact-context.ts)
// and what the stream has redacted before (redact-recent.ts) are all redacted, wherever in the batch
// they recur. The engine runs once per batch (never per line): that is what makes it fast.
import type { Finding } from '../model/finding.js';
import { findingsIn, matchChunk, mergeFindings } from './pipeline.js';
import { findContextSpans } from './redact-context.js';
import { allSpansInsideStrings, escapedLineStarts, redactJsonLine, suspectEscapedLines } from './redact-json.js';
import { RECENT_MIN_LENGTH, RecentSecrets } from './redact-recent.js';
import { contextMarker, mergeSpans, type Redactor, replaceSpans, type Span, spanOf } from './redact-spans.js';
import type { Chunk } from './sources/types.js';

const NL = 0x0a;

export interface RedactResult {
  /** The redacted text: the input buffer itself when nothing was found. */
  out: Buffer;
  /** One per fingerprint, log provenance (the redactor's stream), lines counted from the stream's `lineBase`. */
  findings: Finding[];
}

/**
 * Redacts a batch of whole lines (each ending in `\n`, except perhaps the last). With `json`, each
 * line that parses as JSON stays valid JSON with the same structure; other lines are redacted as
 * plain text. `lineBase` is the number of lines before this batch in the stream.
 */
export function redactLines(r: Redactor, buf: Buffer, json: boolean, lineBase = 0): RedactResult {
  const chunk: Chunk = { bytes: buf, provenance: { kind: 'log', stream: r.stream }, offset: 0, startLine: lineBase + 1 };
  const matches = matchChunk(r.pack, chunk);
  // A JSON-escaped secret (`\/` inside base64, `\u0041`) is invisible to the raw scan; only lines
  // that hold such an escape pay for a parse. Two memchr-speed searches over the batch.
  const escaped = json ? suspectEscapedLines(r, buf, escapedLineStarts(buf)) : null;
  const spans = batchSpans(r, buf, matches);
  if (spans.length === 0 && (escaped === null || escaped.length === 0)) return { out: buf, findings: [] };

  const findings =
    matches.length === 0
      ? []
      : findingsIn(r.pack, chunk, matches, { fingerprintKey: r.key, showSecrets: r.showSecrets ?? false });
  const decoded: Finding[] = [];

  // Spans per line, keyed by line start; a multi-line match is clipped to each line it touches so
  // that newlines (the line count) always survive.
  const byLine = new Map<number, { end: number; spans: Span[] }>();
  const lineOf = (at: number) => {
    const ls = at === 0 ? 0 : buf.lastIndexOf(NL, at - 1) + 1;
    let entry = byLine.get(ls);
    if (entry === undefined) {
      const nl = buf.indexOf(NL, ls);
      entry = { end: nl === -1 ? buf.length : nl, spans: [] };
      byLine.set(ls, entry);
    }
    return { ls, entry };
  };
  for (const whole of spans) {
    let s = whole.start;
    while (s < whole.end) {
      const { entry } = lineOf(s);
      const e = Math.min(whole.end, entry.end);
      if (e > s) entry.spans.push({ ...whole, start: s, end: e });
      s = entry.end + 1;
    }
  }
  if (escaped !== null) for (const ls of escaped) lineOf(ls);

  const starts = [...byLine.keys()].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let cursor = 0;
  let linesBefore = 0;
  let counted = 0;
  for (const ls of starts) {
    const { end: le, spans } = byLine.get(ls)!;
    parts.push(buf.subarray(cursor, ls));
    const line = buf.subarray(ls, le);
    const local = mergeSpans(spans.map((sp) => ({ ...sp, start: sp.start - ls, end: sp.end - ls })));
    let out: Buffer;
    if (json && (local.length === 0 || !allSpansInsideStrings(line, local))) {
      linesBefore += countLines(buf, counted, ls);
      counted = ls;
      const lineNo = lineBase + linesBefore + 1;
      out =
        redactJsonLine(r, line, local, matches, lineNo, (f) => decoded.push(f), knownOn(line, local)) ??
        replaceSpans(line, local);
    } else {
      out = replaceSpans(line, local);
    }
    parts.push(out);
    cursor = le;
  }
  parts.push(buf.subarray(cursor));
  return { out: Buffer.concat(parts), findings: decoded.length === 0 ? findings : mergeFindings([...findings, ...decoded]) };
}

/** Spans ranked below any rule's: where a rule and context claim the same bytes, the rule names them. */
const CONTEXT_RANK = -1;

/** Each remembering redactor (one per stream: the CLI's, the pino transport's, each intake stream's) has its own. */
const recentByRedactor = new WeakMap<Redactor, RecentSecrets>();

/** The stream's remembered secrets (redact-recent.ts), made on first use. */
export function recentSecretsOf(r: Redactor): RecentSecrets {
  let c = recentByRedactor.get(r);
  if (c === undefined) {
    c = new RecentSecrets();
    recentByRedactor.set(r, c);
  }
  return c;
}

/**
 * Every span to redact in the batch, in batch offsets: the rules' matches, context secrets, and
 * every occurrence of a secret found in this batch or remembered from earlier ones. This batch's
 * secrets are remembered first, so their repeats anywhere in it (earlier lines too) are found.
 */
function batchSpans(r: Redactor, buf: Buffer, matches: ReturnType<typeof matchChunk>): Span[] {
  const out: Span[] = [];
  for (const m of matches) out.push(spanOf(r, m));
  for (const c of findContextSpans(buf)) {
    out.push({
      start: c.start,
      end: c.end,
      marker: contextMarker(r, c.kind, buf.toString('utf8', c.start, c.end)),
      rank: CONTEXT_RANK,
    });
  }
  // Without `remember`, repeats are still found within this batch, by a memory that ends with it.
  const recent = r.remember === true ? recentSecretsOf(r) : new RecentSecrets();
  for (const sp of out) {
    if (sp.end - sp.start >= RECENT_MIN_LENGTH) recent.add(buf, sp.start, sp.end, sp.marker);
    else repeatsOnLine(buf, sp, out);
  }
  recent.scan(buf, 0, buf.length, (h) => out.push({ start: h.start, end: h.end, marker: h.marker, rank: CONTEXT_RANK }));
  return out;
}

/** A short context secret (3-5 bytes, too short to remember) recurring as a whole word on its own line. */
function repeatsOnLine(buf: Buffer, sp: Span, out: Span[]): void {
  const ls = sp.start === 0 ? 0 : buf.lastIndexOf(NL, sp.start - 1) + 1;
  const nl = buf.indexOf(NL, sp.end);
  const le = nl === -1 ? buf.length : nl;
  const needle = buf.subarray(sp.start, sp.end);
  for (let i = buf.indexOf(needle, ls); i !== -1 && i + needle.length <= le; i = buf.indexOf(needle, i + 1)) {
    if (i === sp.start) continue;
    if (isWordByte(buf[i - 1]) || isWordByte(buf[i + needle.length])) continue;
    out.push({ ...sp, start: i, end: i + needle.length });
  }
}

function isWordByte(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f);
}

/** The bytes of a line's spans as text to remove wherever they appear decoded (redact-json.ts). */
function knownOn(line: Buffer, local: readonly Span[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const sp of local) if (sp.rank === CONTEXT_RANK) m.set(line.toString('utf8', sp.start, sp.end), sp.marker);
  return m;
}

/** Newlines in `buf[from, to)`. */
export function countLines(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = buf.indexOf(NL, from); i !== -1 && i < to; i = buf.indexOf(NL, i + 1)) n++;
  return n;
}
