// The stream source (stdin, or any byte stream): fixed-size chunks that overlap, so memory stays
// bounded and a secret across a chunk boundary lies whole inside one chunk that owns it. Each chunk
// knows the line and column it starts at, so findings count from the stream's start.

import { KeywardenError } from '../../errors/error.js';
import type { Provenance } from '../../model/finding.js';
import type { Chunk } from './types.js';

export interface ChunkOptions {
  /** Bytes per chunk (the last may be shorter). Must exceed `overlap`. */
  chunkSize: number;
  /**
   * Bytes each chunk repeats from the start of the next one. A match of up to `overlap` bytes that
   * starts in a chunk's owned part ends inside that chunk. Pass the longest match the consumer can
   * produce (the engine's `maxWindow`).
   */
  overlap: number;
  /** What the chunks' findings name. @defaultValue `{kind: 'stdin'}` */
  provenance?: Provenance;
}

const NL = 0x0a;

/**
 * Splits `stream` into chunks of `chunkSize` bytes; each chunk starts where the previous one's owned
 * part ends, so consecutive chunks share `overlap` bytes and the owned parts tile the stream exactly.
 * Matches starting at or after a chunk's `ownedEnd` belong to the next chunk, which begins at
 * `offset + ownedEnd`; the last chunk owns everything. A consumer that keeps matches with
 * `start < ownedEnd` (scanner/pipeline.ts does) sees every match once. An empty stream yields
 * nothing. A stream error becomes KW_SOURCE_READ and ends the scan: the stream is the whole input.
 */
export async function* readChunks(stream: NodeJS.ReadableStream, opts: ChunkOptions): AsyncIterable<Chunk> {
  const { chunkSize, overlap } = opts;
  if (!(Number.isInteger(chunkSize) && Number.isInteger(overlap) && overlap >= 0 && chunkSize > overlap)) {
    throw new KeywardenError(
      'KW_INTERNAL',
      `readChunks: need integers with chunkSize > overlap >= 0; got ${chunkSize}, ${overlap}`,
    );
  }
  const ownedPerChunk = chunkSize - overlap;
  // Pieces received but not yet emitted; concatenated only when a chunk is cut, so each byte is
  // copied about once (plus the overlap, once per chunk).
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = 0;
  const provenance: Provenance = opts.provenance ?? { kind: 'stdin' };
  // Newlines before the next chunk, and the UTF-16 length of the partial line it starts inside.
  let linesBefore = 0;
  let carryColumns = 0;
  const chunk = (bytes: Buffer, ownedEnd: number): Chunk => ({
    bytes,
    provenance,
    offset,
    startLine: linesBefore + 1,
    startColumn: carryColumns,
    ownedEnd,
  });
  // Lines are counted in the owned part only; the overlap belongs to the next chunk.
  const advance = (bytes: Buffer, ownedEnd: number) => {
    let lastNl = -1;
    for (let i = bytes.indexOf(NL); i !== -1 && i < ownedEnd; i = bytes.indexOf(NL, i + 1)) {
      linesBefore++;
      lastNl = i;
    }
    const tail = bytes.toString('utf8', lastNl + 1, ownedEnd).length;
    carryColumns = lastNl === -1 ? carryColumns + tail : tail;
    offset += ownedEnd;
  };
  try {
    for await (const piece of stream as AsyncIterable<Buffer | string>) {
      const buf = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
      if (buf.length === 0) continue;
      pending.push(buf);
      pendingBytes += buf.length;
      // Strictly more than a chunk: only cut when at least one byte follows, so the last chunk
      // always carries new bytes rather than just the previous chunk's overlap.
      if (pendingBytes <= chunkSize) continue;
      const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      let start = 0;
      while (all.length - start > chunkSize) {
        const bytes = all.subarray(start, start + chunkSize);
        yield chunk(bytes, ownedPerChunk);
        advance(bytes, ownedPerChunk);
        start += ownedPerChunk;
      }
      // Copy the tail (at most one chunk) so the emitted chunks' memory can be collected.
      pending = [Buffer.from(all.subarray(start))];
      pendingBytes = all.length - start;
    }
  } catch (err) {
    if (err instanceof KeywardenError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new KeywardenError(
      'KW_SOURCE_READ',
      `reading the input stream failed at byte ${offset + pendingBytes}: ${e.code ?? e.message}`,
      [],
      {
        cause: err,
      },
    );
  }
  if (pendingBytes > 0) {
    const last = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    yield chunk(last, last.length);
  }
}
