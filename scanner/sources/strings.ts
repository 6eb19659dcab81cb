// String runs of binary data: printable ASCII and UTF-16LE runs as text the engine can scan, with an
// offset map back to the input bytes. Apart from the dump source (dump.ts) because the tree scan's
// worker threads extract strings from binary files and need none of the dump reader's streams or gunzip.
import { KeywardenError } from '../../errors/error.js';
import type { TextMap } from './types.js';

/** Byte classes: 0 = ends a run, 1 = printable (0x20–0x7e, tab, CR), 2 = newline (printable, counts a line). */
const CLASS = new Uint8Array(256);
for (let b = 0x20; b < 0x7f; b++) CLASS[b] = 1;
CLASS[0x09] = 1;
CLASS[0x0d] = 1;
CLASS[0x0a] = 2;

const NL = 0x0a;
/** Runs up to this many bytes are copied by a JS loop (see writeAscii). */
const SMALL_RUN = 96;

export interface ExtractOptions {
  /** Shortest run kept, in characters (ASCII bytes or UTF-16 code units). @defaultValue 8 */
  minLength?: number;
}

export const DEFAULT_MIN_LENGTH = 8;

/**
 * Where extracted text came from: entry k covers text positions [textPos[k], textPos[k+1]) and maps
 * text position t to input offset `inPos + (t - textPos) * stride` (stride 1 for ASCII, 2 for UTF-16LE).
 * `line`/`col` are the input's line (1 + 0x0A bytes before) and byte column at `inPos`. A new entry
 * starts at every run and after every newline inside an ASCII run, so lines stay exact there.
 */
export class OffsetMap implements TextMap {
  // Parallel typed arrays (one entry per run and per line inside a run): pushes stay cheap and
  // offsets beyond 4 GiB stay exact (doubles hold integers to 2^53).
  textPos = new Float64Array(1024);
  inPos = new Float64Array(1024);
  line = new Float64Array(1024);
  col = new Float64Array(1024);
  stride = new Uint8Array(1024);
  length = 0;

  push(textPos: number, inPos: number, line: number, col: number, stride: number): void {
    let n = this.length;
    // A later entry at the same text position (a run that wrote nothing yet) replaces the earlier one.
    if (n > 0 && this.textPos[n - 1] === textPos) n--;
    else if (n === this.textPos.length) this.grow();
    this.textPos[n] = textPos;
    this.inPos[n] = inPos;
    this.line[n] = line;
    this.col[n] = col;
    this.stride[n] = stride;
    this.length = n + 1;
  }

  private grow(): void {
    const cap = this.textPos.length * 2;
    const f = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.textPos = f(this.textPos);
    this.inPos = f(this.inPos);
    this.line = f(this.line);
    this.col = f(this.col);
    const st = new Uint8Array(cap);
    st.set(this.stride);
    this.stride = st;
  }

  /** Input offset, line and byte column of text position `t` (which must be >= the first entry). */
  locate(t: number): { offset: number; line: number; column: number; stride: number } {
    const tp = this.textPos;
    let lo = 0;
    let hi = this.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (tp[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    const d = (t - tp[lo]!) * this.stride[lo]!;
    return { offset: this.inPos[lo]! + d, line: this.line[lo]!, column: this.col[lo]! + d, stride: this.stride[lo]! };
  }

  /** Drops entries wholly before text position `t` (the one covering `t` stays). */
  pruneBefore(t: number): void {
    const tp = this.textPos;
    let k = 0;
    while (k + 1 < this.length && tp[k + 1]! <= t) k++;
    if (k === 0) return;
    for (const a of [this.textPos, this.inPos, this.line, this.col, this.stride]) a.copyWithin(0, k, this.length);
    this.length -= k;
  }
}

/**
 * Streaming string extractor. `push(piece)` returns the text extracted so far (runs separated by
 * '\n'), appending entries to `map` with absolute text positions; `end()` flushes the last runs.
 * One byte loop over the input; a run is copied out when it ends (or when a piece ends inside it).
 */
export class StringExtractor {
  readonly map = new OffsetMap();
  private readonly min: number;
  /** Input bytes consumed before the current piece. */
  private base = 0;
  /** Text bytes produced before the current output. */
  private textTotal = 0;
  /** 0x0A bytes seen, and the input offset of the last one (-1: none yet). */
  private nl = 0;
  private lastNl = -1;
  /** Last byte of the previous piece (a UTF-16 pair may straddle pieces). */
  private prevByte = 0;

  // ASCII run in progress: its input start (-1: none), line/lastNl at its start, bytes held from
  // earlier pieces while shorter than `min`, and whether it was already written (long run, cut by a piece end).
  private aStart = -1;
  private aNl = 0;
  private aLastNl = -1;
  private aHeld: Buffer | null = null;
  private aWritten = false;

  // UTF-16LE run in progress: input offset of its first char (-1: none), where its next NUL must be,
  // chars held until `min` is reached, and whether it has been written (then chars stream straight out).
  private uStart = -1;
  private uNextNul = 0;
  private uHeld: Uint8Array;
  private uLen = 0;
  private uWritten = false;
  private uNl = 0;
  private uLastNl = -1;

  private out: Buffer = Buffer.alloc(0);
  /** Bytes written to `out` in the current call. */
  private o = 0;

  constructor(opts: ExtractOptions = {}) {
    const min = opts.minLength ?? DEFAULT_MIN_LENGTH;
    if (!(Number.isInteger(min) && min >= 4 && min <= 4096)) {
      throw new KeywardenError('KW_USAGE', `minimum string length must be an integer 4..4096; got ${min}`);
    }
    this.min = min;
    this.uHeld = new Uint8Array(min);
  }

  /** Input bytes consumed so far. */
  get consumed(): number {
    return this.base;
  }

  push(piece: Buffer): Buffer {
    const n = piece.length;
    // A plain Uint8Array view: V8 keeps the loop monomorphic; indexing a Buffer subclass measured
    // ~2x slower (70-90 vs 170-200 MB/s for a bare run-finding loop over random bytes).
    const buf = new Uint8Array(piece.buffer, piece.byteOffset, n);
    // Worst case: every byte kept, a separator per `min` bytes, plus held bytes from before.
    this.begin(n + Math.ceil(n / this.min) + 2 * this.min + 64 + (this.aHeld?.length ?? 0) + this.uLen);
    const C = CLASS;
    const base = this.base;
    const min = this.min;
    this.pieceNl = this.nl;
    this.pieceLastNl = this.lastNl;
    // Hot counters live in locals; fields are synced before anything that reads them.
    let nl = this.nl;
    let lastNl = this.lastNl;
    let i = 0;
    while (i < n) {
      const b = buf[i]!;
      const c = C[b]!;
      if (c !== 0) {
        // Printable: a tight inner loop to the end of the run (or the piece).
        const nl0 = nl;
        const last0 = lastNl;
        let j = i;
        let cj = c;
        for (;;) {
          if (cj === 2) {
            nl++;
            lastNl = base + j;
          }
          j++;
          if (j >= n) break;
          cj = C[buf[j]!]!;
          if (cj === 0) break;
        }
        if (this.aStart < 0) {
          // Most runs in binary data are a few bytes long and end inside the piece: nothing to keep.
          if (j < n && j - i < min) {
            i = j;
            continue;
          }
          this.aStart = base + i;
          this.aNl = nl0;
          this.aLastNl = last0;
        }
        i = j;
        continue;
      }
      // A run-ending byte at absolute offset p.
      const p = base + i;
      if (this.uStart >= 0 && p > this.uNextNul) this.endUtf16();
      if (this.aStart >= 0) this.endAscii(piece, i);
      if (b === 0) {
        const prev = i > 0 ? buf[i - 1]! : this.prevByte;
        if (p > 0 && C[prev] !== 0) {
          // (prev, NUL) is one UTF-16LE code unit in the ASCII range.
          if (this.uStart >= 0 && p === this.uNextNul) this.addUtf16(prev);
          else {
            if (this.uStart >= 0) this.endUtf16();
            this.uStart = p - 1;
            // The newline counter already includes `prev` when it is 0x0A; the column is then approximate.
            this.uNl = prev === NL ? nl - 1 : nl;
            this.uLastNl = prev === NL ? p - 2 : lastNl;
            this.uLen = 0;
            this.uWritten = false;
            this.addUtf16(prev);
          }
          this.uNextNul = p + 2;
        } else if (this.uStart >= 0) {
          this.endUtf16();
        }
      }
      i++;
      // The rest of a non-printable stretch (zero pages): no run or UTF-16 pair can start in it,
      // since a pair needs a printable byte before its NUL.
      while (i < n && C[buf[i]!] === 0) i++;
    }
    this.nl = nl;
    this.lastNl = lastNl;
    // An ASCII run still open at the piece end: keep it (short) or write what we have (long).
    if (this.aStart >= 0) this.holdAscii(piece);
    if (n > 0) this.prevByte = buf[n - 1]!;
    this.base += n;
    return this.finish();
  }

  /** Flushes runs still open at the end of input. */
  end(): Buffer {
    this.begin(this.min * 4 + (this.aHeld?.length ?? 0) + this.uLen + 64);
    if (this.uStart >= 0) this.endUtf16();
    if (this.aStart >= 0) this.endAscii(Buffer.alloc(0), 0);
    return this.finish();
  }

  private begin(capacity: number): void {
    if (this.out.length < capacity) this.out = Buffer.allocUnsafe(capacity);
    this.o = 0;
  }

  private finish(): Buffer {
    const text = Buffer.from(this.out.subarray(0, this.o));
    this.textTotal += this.o;
    return text;
  }

  private ensure(extra: number): void {
    if (this.o + extra <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.o + extra));
    this.out.copy(bigger, 0, 0, this.o);
    this.out = bigger;
  }

  /** Writes input bytes [from, to) of `src` (input offset `inStart` of `src[from]`), with map entries. */
  private writeAscii(src: Buffer, from: number, to: number, inStart: number, line: number, lastNl: number): void {
    this.ensure(to - from + 1);
    const textPos = this.textTotal + this.o;
    this.map.push(textPos, inStart, line, inStart - lastNl, 1);
    // One entry after each newline in the run, so the line stays exact (indexOf is memchr, bounded
    // to the run: searching the rest of the piece for every run was quadratic).
    if (to - from <= SMALL_RUN) {
      // Short runs dominate binary data: a JS loop beats subarray + indexOf + copy (native-call overhead).
      const out = this.out;
      let o = this.o;
      for (let k = from; k < to; k++) {
        const b = src[k]!;
        out[o++] = b;
        if (b === NL) this.map.push(textPos + (k - from) + 1, inStart + (k - from) + 1, ++line, 1, 1);
      }
      this.o = o;
      return;
    }
    const run = src.subarray(from, to);
    for (let k = run.indexOf(NL); k !== -1; k = run.indexOf(NL, k + 1)) {
      line++;
      this.map.push(textPos + k + 1, inStart + k + 1, line, 1, 1);
    }
    src.copy(this.out, this.o, from, to);
    this.o += to - from;
  }

  /** Ends the ASCII run at buf index `end` (exclusive). */
  private endAscii(buf: Buffer, end: number): void {
    if (this.aWritten) {
      // The earlier part is already out; continue the same text run from the piece start.
      if (end > 0) this.writeAscii(buf, 0, end, this.base, this.pieceNl + 1, this.pieceLastNl);
      this.sep();
    } else {
      const held = this.aHeld;
      const from = held ? 0 : this.aStart - this.base;
      if ((held?.length ?? 0) + end - from >= this.min) {
        this.writeHeldAndPiece(held, buf, from, end);
        this.sep();
      }
    }
    this.aStart = -1;
    this.aHeld = null;
    this.aWritten = false;
  }

  /** The piece ended inside an ASCII run: write it out if long enough, else hold its bytes. */
  private holdAscii(buf: Buffer): void {
    const n = buf.length;
    if (this.aWritten) {
      this.writeAscii(buf, 0, n, this.base, this.pieceNl + 1, this.pieceLastNl);
      return;
    }
    const held = this.aHeld;
    const from = held ? 0 : this.aStart - this.base;
    if ((held?.length ?? 0) + n - from >= this.min) {
      this.writeHeldAndPiece(held, buf, from, n);
      this.aWritten = true;
      this.aHeld = null;
    } else {
      this.aHeld = held ? Buffer.concat([held, buf.subarray(from)]) : Buffer.from(buf.subarray(from));
    }
  }

  /** Held bytes (from earlier pieces, starting at `aStart`) then `buf[from, to)`, as one text run. */
  private writeHeldAndPiece(held: Buffer | null, buf: Buffer, from: number, to: number): void {
    // A UTF-16 run cannot survive an ASCII run this long (its next NUL would be inside it); close
    // it first so the text keeps input order whatever the piece boundaries.
    if (this.uStart >= 0) this.endUtf16();
    if (held) {
      this.writeAscii(held, 0, held.length, this.aStart, this.aNl + 1, this.aLastNl);
      // A map entry at the piece start keeps offsets exact across the seam.
      if (to > 0) this.writeAscii(buf, 0, to, this.base, this.pieceNl + 1, this.pieceLastNl);
    } else {
      this.writeAscii(buf, from, to, this.aStart, this.aNl + 1, this.aLastNl);
    }
  }

  /** Newline count and last newline offset at the start of the current piece. */
  private pieceNl = 0;
  private pieceLastNl = -1;

  private addUtf16(ch: number): void {
    if (this.uWritten) {
      this.ensure(1);
      this.out[this.o++] = ch;
      return;
    }
    this.uHeld[this.uLen++] = ch;
    if (this.uLen >= this.min) {
      this.ensure(this.uLen + 1);
      const startIn = this.uStart;
      this.map.push(this.textTotal + this.o, startIn, this.uNl + 1, startIn - this.uLastNl, 2);
      for (let k = 0; k < this.uLen; k++) this.out[this.o++] = this.uHeld[k]!;
      this.uLen = 0;
      this.uWritten = true;
    }
  }

  private endUtf16(): void {
    if (this.uWritten) this.sep();
    this.uStart = -1;
    this.uLen = 0;
    this.uWritten = false;
  }

  private sep(): void {
    this.ensure(1);
    this.out[this.o++] = NL;
  }
}

/** Extracts every string run of a whole in-memory buffer (the tree scanner's binary files). */
export function extractStrings(buf: Buffer, opts: ExtractOptions = {}): { text: Buffer; map: OffsetMap } {
  const ex = new StringExtractor(opts);
  const a = ex.push(buf);
  const b = ex.end();
  return { text: b.length === 0 ? a : Buffer.concat([a, b]), map: ex.map };
}
