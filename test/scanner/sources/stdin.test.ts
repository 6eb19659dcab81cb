import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isKeywardenError } from '../../../errors/error.js';
import { readChunks } from '../../../scanner/sources/stdin.js';
import type { Chunk } from '../../../scanner/sources/types.js';

/** A stream delivering `data` in pieces of the given sizes (cycled), as a pipe would. */
function streamOf(data: Buffer, pieceSizes: number[]): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0, k = 0; i < data.length; k++) {
    const n = pieceSizes[k % pieceSizes.length]!;
    pieces.push(data.subarray(i, i + n));
    i += n;
  }
  return Readable.from(pieces);
}

async function collect(stream: NodeJS.ReadableStream, chunkSize: number, overlap: number): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const c of readChunks(stream, { chunkSize, overlap })) out.push({ ...c, bytes: Buffer.from(c.bytes) });
  return out;
}

/** Where the consumer (scan-stream.ts) finds `needle`: in each chunk, starts before ownedEnd only. */
function found(chunks: Chunk[], needle: Buffer): number[] {
  const hits: number[] = [];
  for (const c of chunks) {
    for (let i = c.bytes.indexOf(needle); i !== -1; i = c.bytes.indexOf(needle, i + 1))
      if (i < c.ownedEnd!) hits.push(c.offset + i);
  }
  return hits;
}

describe('readChunks', () => {
  it('finds a secret placed across every boundary position exactly once, at its true offset', async () => {
    const chunkSize = 64;
    const overlap = 16;
    // A 16-byte secret: as long as the overlap allows. Filler is '.', which the secret never contains.
    const secret = Buffer.from('SECRETabcdef0123');
    const length = 300; // several chunks
    for (const pieces of [[1], [7, 3, 50], [1000]]) {
      for (let pos = 0; pos + secret.length <= length; pos++) {
        const data = Buffer.alloc(length, '.');
        secret.copy(data, pos);
        const chunks = await collect(streamOf(data, pieces), chunkSize, overlap);
        expect(found(chunks, secret), `secret at ${pos}, pieces ${pieces}`).toEqual([pos]);
      }
    }
  });

  it('tiles the stream: owned parts are contiguous and reassemble it, every chunk but the last is full', async () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const chunks = await collect(streamOf(data, [13, 200, 1]), 100, 30);
    let next = 0;
    const owned: Buffer[] = [];
    chunks.forEach((c, i) => {
      expect(c.offset).toBe(next);
      expect(c.bytes.equals(data.subarray(c.offset, c.offset + c.bytes.length))).toBe(true);
      if (i < chunks.length - 1) {
        expect(c.bytes.length).toBe(100);
        expect(c.ownedEnd).toBe(70);
      } else {
        expect(c.ownedEnd).toBe(c.bytes.length);
      }
      owned.push(c.bytes.subarray(0, c.ownedEnd));
      next += c.ownedEnd!;
    });
    expect(Buffer.concat(owned).equals(data)).toBe(true);
  });

  it('starts each chunk at its line and UTF-16 column in the stream, counting only the owned part', async () => {
    // 'é' is 2 bytes and 1 code unit; lines end at every 7th byte.
    const data = Buffer.from('aé\nbcdé\nxyzzy\n'.repeat(8), 'utf8');
    const chunks = await collect(streamOf(data, [5]), 24, 8);
    for (const c of chunks) {
      const before = data.subarray(0, c.offset).toString('utf8');
      const lines = before.split('\n');
      expect([c.startLine, c.startColumn], `chunk at ${c.offset}`).toEqual([lines.length, lines.at(-1)!.length]);
      expect(c.provenance).toEqual({ kind: 'stdin' });
    }
  });

  it('yields one chunk owning everything when the stream is no longer than a chunk', async () => {
    for (const n of [1, 99, 100]) {
      const chunks = await collect(streamOf(Buffer.alloc(n, 'a'), [7]), 100, 30);
      expect(chunks.map((c) => [c.offset, c.bytes.length, c.ownedEnd])).toEqual([[0, n, n]]);
    }
  });

  it('yields nothing for an empty stream', async () => {
    expect(await collect(Readable.from([]), 100, 30)).toEqual([]);
  });

  it('accepts string pieces (a stream with an encoding set)', async () => {
    const chunks = await collect(Readable.from(['héllo ', 'wörld']), 100, 10);
    expect(Buffer.concat(chunks.map((c) => c.bytes)).toString('utf8')).toBe('héllo wörld');
  });

  it('rejects a chunk size not larger than the overlap', async () => {
    const err = await collect(Readable.from([Buffer.from('x')]), 10, 10).catch((e: unknown) => e);
    expect(isKeywardenError(err) && err.code).toBe('KW_INTERNAL');
  });

  it('turns a stream error into KW_SOURCE_READ', async () => {
    const s = new Readable({
      read() {
        this.destroy(Object.assign(new Error('boom'), { code: 'EPIPE' }));
      },
    });
    const err = await collect(s, 100, 10).catch((e: unknown) => e);
    expect(isKeywardenError(err) && err.code).toBe('KW_SOURCE_READ');
  });
});
