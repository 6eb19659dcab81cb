// Log redaction as a stream: raw log bytes in, the same lines out with every secret replaced by its
// marker. Cuts the stream into batches of whole lines (redact-lines.ts does each batch in one engine
// pass) and over-long lines into bounded pieces. Used by `keywarden redact`; the HTTP intake and the
// pino transport call the batch directly.
import { Transform, type TransformCallback } from 'node:stream';
import type { Finding } from '../model/finding.js';
import { matchChunk } from './pipeline.js';
import { findContextSpans } from './redact-context.js';
import { countLines, redactLines } from './redact-lines.js';
import { contextMarker, findingOnLine, mergeSpans, type Redactor, replaceSpans, spanOf } from './redact-spans.js';

const NL = 0x0a;

/** @defaultValue 1 MiB: longer lines are redacted as plain text in bounded pieces. */
export const DEFAULT_MAX_LINE_LENGTH = 1 << 20;

/**
 * Redacts one line too long to hold, as plain text, in pieces: each scan sees the previous piece's
 * tail as context and keeps back `overlap` bytes, so a secret across a piece boundary is still
 * redacted whole. Memory stays under `piece + 2 * overlap`.
 */
export class LongLineRedactor {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes at the front of `buf` already emitted (context only). */
  private emitted = 0;
  /** Bytes of this line emitted before `buf` starts (for finding columns). */
  private offset = 0;
  private readonly overlap: number;

  constructor(
    private readonly r: Redactor,
    private readonly piece: number,
    private readonly lineNo: number,
    private readonly emit: (b: Buffer) => void,
    private readonly report: (f: Finding) => void,
  ) {
    this.overlap = r.pack.maxWindow;
  }

  write(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length - this.emitted >= this.piece + this.overlap) this.flush(false);
  }

  /** The rest of the line (without its newline). */
  end(): void {
    this.flush(true);
  }

  private flush(final: boolean): void {
    const { r, buf } = this;
    let limit = final ? buf.length : buf.length - this.overlap;
    // Matches starting in the bytes not emitted yet and before the kept-back overlap are this piece's.
    const matches = matchChunk(r.pack, {
      bytes: buf,
      provenance: { kind: 'log', stream: r.stream },
      offset: 0,
      startLine: this.lineNo,
      ownedStart: this.emitted,
      ownedEnd: limit,
    }).sort((a, b) => a.start - b.start);
    for (const m of matches) if (m.end > limit) limit = m.end;
    // Context secrets (redact-context.ts) starting in this piece; the stream's memory is not consulted
    // for pieces (a line this long is a dump, not a record).
    const context = findContextSpans(buf).filter((c) => c.start >= this.emitted && c.start < limit);
    for (const c of context) if (c.end > limit) limit = c.end;
    const spans = mergeSpans([
      ...matches.map((m) => spanOf(r, m, this.emitted)),
      ...context.map((c) => ({
        start: c.start - this.emitted,
        end: c.end - this.emitted,
        marker: contextMarker(r, c.kind, buf.toString('utf8', c.start, c.end)),
        rank: -1,
      })),
    ]);
    this.emit(replaceSpans(buf.subarray(this.emitted, limit), spans));
    for (const m of matches) {
      // A byte column: the line was never decoded whole.
      const column = this.offset + (m.start - this.emitted) + 1;
      this.report(findingOnLine(r, m, this.lineNo, column, column + (m.end - m.start)));
    }
    this.offset += limit - this.emitted;
    if (final) {
      this.buf = Buffer.alloc(0);
      this.emitted = 0;
      return;
    }
    // Keep up to `overlap` emitted bytes as context for keyword-before-value rules.
    const keepFrom = Math.max(0, limit - this.overlap);
    this.buf = Buffer.from(buf.subarray(keepFrom));
    this.emitted = limit - keepFrom;
  }
}

export interface RedactStreamOptions {
  json: boolean;
  /** Bytes; a longer line is redacted as plain text in pieces of this size. */
  maxLineLength?: number;
  onFinding?: (f: Finding) => void;
}

/**
 * A Transform from raw log bytes to redacted log bytes. Splits at `\n` only (a `\r\n` line keeps its
 * `\r`); every line in is one line out, in order. Backpressure is the stream machinery's own.
 */
export class RedactTransform extends Transform {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private lines = 0;
  private long: LongLineRedactor | null = null;
  private readonly max: number;
  private readonly report: (f: Finding) => void;

  constructor(
    private readonly r: Redactor,
    private readonly opts: RedactStreamOptions,
  ) {
    super();
    this.max = opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.report = opts.onFinding ?? (() => {});
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (this.long !== null) {
        this.long.end();
        this.long = null;
      } else if (this.pendingLen > 0) {
        this.batch(Buffer.concat(this.pending, this.pendingLen));
      }
      this.pending = [];
      this.pendingLen = 0;
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    if (this.long !== null) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) {
        this.long.write(chunk);
        return;
      }
      this.long.write(chunk.subarray(0, nl));
      this.long.end();
      this.push(Buffer.from('\n'));
      this.long = null;
      this.lines++;
      pos = nl + 1;
    }
    const lastNl = chunk.lastIndexOf(NL);
    if (lastNl < pos) {
      this.hold(chunk.subarray(pos));
      return;
    }
    if (this.pendingLen > 0) {
      // Only the line begun in an earlier chunk is copied; the rest of this chunk is scanned in
      // place (copying whole 1 MiB chunks showed as ~3% of the profile).
      const firstNl = chunk.indexOf(NL, pos);
      const head = Buffer.concat([...this.pending, chunk.subarray(pos, firstNl + 1)]);
      this.pending = [];
      this.pendingLen = 0;
      this.wholeLines(head);
      pos = firstNl + 1;
    }
    if (lastNl + 1 > pos) this.wholeLines(chunk.subarray(pos, lastNl + 1));
    this.hold(chunk.subarray(lastNl + 1));
  }

  /** Whole lines: batched, unless some line in them is over the limit. */
  private wholeLines(whole: Buffer): void {
    if (whole.length > this.max) this.splitLong(whole);
    else this.batch(whole);
  }

  /** Keeps a partial line; once it passes the limit, it streams out in pieces instead. */
  private hold(rest: Buffer): void {
    if (rest.length === 0) return;
    this.pending.push(rest);
    this.pendingLen += rest.length;
    if (this.pendingLen > this.max) {
      const partial = Buffer.concat(this.pending, this.pendingLen);
      this.pending = [];
      this.pendingLen = 0;
      this.long = this.newLong();
      this.long.write(partial);
    }
  }

  private newLong(): LongLineRedactor {
    return new LongLineRedactor(this.r, this.max, this.lines + 1, (b) => this.push(b), this.report);
  }

  /** A run of whole lines bigger than the limit: normal lines batch, over-long ones go in pieces. */
  private splitLong(whole: Buffer): void {
    let runStart = 0;
    let ls = 0;
    while (ls < whole.length) {
      const nl = whole.indexOf(NL, ls);
      const le = nl === -1 ? whole.length : nl;
      if (le - ls > this.max) {
        if (ls > runStart) this.batch(whole.subarray(runStart, ls));
        const long = this.newLong();
        long.write(whole.subarray(ls, le));
        long.end();
        if (nl !== -1) {
          this.push(Buffer.from('\n'));
          this.lines++;
        }
        runStart = le + 1;
      }
      ls = le + 1;
    }
    if (runStart < whole.length) this.batch(whole.subarray(runStart));
  }

  private batch(buf: Buffer): void {
    const { out, findings } = redactLines(this.r, buf, this.opts.json, this.lines);
    for (const f of findings) this.report(f);
    this.lines += countLines(buf, 0, buf.length);
    this.push(out);
  }
}
