// The stream source (stdin, or any byte stream): fixed-size chunks that overlap, so memory stays
// bounded and a secret across a chunk boundary lies whole inside one chunk that owns it.
import { KeywardenError } from '../../errors/error.js';

export interface ChunkOptions {
  /** Bytes per chunk (the last may be shorter). Must exceed `overlap`. */
  chunkSize: number;
  /**
   * Bytes each chunk repeats from the start of the next one. A match of up to `overlap` bytes that
   * starts in a chunk's owned part ends inside that chunk. Pass the longest match the consumer can
   * produce (the engine's `maxWindow`).
   */
  overlap: number;
}

export interface StreamChunk {
  buf: Buffer;
  /** Byte offset of `buf[0]` in the stream. */
  offset: number;
  /**
   * Matches starting at or after this index in `buf` belong to the next chunk, which begins at
   * `offset + ownedEnd`. The last chunk owns everything (`ownedEnd === buf.length`).
   */
  ownedEnd: number;
}

/**
 * Splits `stream` into chunks of `chunkSize` bytes; each chunk starts where the previous one's owned
 * part ends, so consecutive chunks share `overlap` bytes and the owned parts tile the stream exactly.
 * A consumer that keeps matches with `start < ownedEnd` sees every match once. An empty stream
 * yields nothing. A stream error becomes KW_SOURCE_READ.
 */
export async function* readChunks(stream: NodeJS.ReadableStream, opts: ChunkOptions): AsyncIterable<StreamChunk> {
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
        yield { buf: all.subarray(start, start + chunkSize), offset, ownedEnd: ownedPerChunk };
        start += ownedPerChunk;
        offset += ownedPerChunk;
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
    yield { buf: last, offset, ownedEnd: last.length };
  }
}
