// Log redaction of one batch of whole lines: the same lines out with every secret replaced by its
// marker (redact-spans.ts), JSON lines kept valid JSON (redact-json.ts), and the batch's findings
// through the scan pipeline. The engine runs once per batch (never per line): that is what makes it fast.
import type { Finding } from '../model/finding.js';
import { findingsIn, matchChunk, mergeFindings } from './pipeline.js';
import { allSpansInsideStrings, escapedLineStarts, redactJsonLine, suspectEscapedLines } from './redact-json.js';
import { mergeSpans, type Redactor, replaceSpans, type Span, spanOf } from './redact-spans.js';
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
  if (matches.length === 0 && (escaped === null || escaped.length === 0)) return { out: buf, findings: [] };

  const findings = findingsIn(r.pack, chunk, matches, { fingerprintKey: r.key, showSecrets: r.showSecrets ?? false });
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
  for (const m of matches) {
    const whole = spanOf(r, m);
    let s = m.start;
    while (s < m.end) {
      const { entry } = lineOf(s);
      const e = Math.min(m.end, entry.end);
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
      out = redactJsonLine(r, line, local, matches, lineNo, (f) => decoded.push(f)) ?? replaceSpans(line, local);
    } else {
      out = replaceSpans(line, local);
    }
    parts.push(out);
    cursor = le;
  }
  parts.push(buf.subarray(cursor));
  return { out: Buffer.concat(parts), findings: decoded.length === 0 ? findings : mergeFindings([...findings, ...decoded]) };
}

/** Newlines in `buf[from, to)`. */
export function countLines(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = buf.indexOf(NL, from); i !== -1 && i < to; i = buf.indexOf(NL, i + 1)) n++;
  return n;
}
