// The dump source: any binary (core file, minidump, heap snapshot, hprof) → printable ASCII and
// UTF-16LE string runs, as text the engine can scan, plus an offset map back to the input bytes.
// Streaming: the extractor keeps its state between pieces, so runs may cross piece boundaries, and
// `DumpSource` yields the text in overlapping windows, each a chunk mapped back through the offset map.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { isKeywardenError, KeywardenError } from '../../errors/error.js';
import { type ExtractOptions, StringExtractor } from './strings.js';
import type { SourceEvent } from './types.js';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** True when `head` starts with the gzip magic number. */
export function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

export interface DumpReadOptions {
  /** Bytes per read (and per gunzip output piece). @defaultValue 4 MiB */
  chunkSize?: number;
  /**
   * Input bytes (after gunzip) read before the stream ends with KW_LIMIT_EXCEEDED; the bytes up to
   * the limit are still yielded. `/dev/zero` and a gzip bomb stop here. @defaultValue no limit
   */
  maxBytes?: number;
  /** Aborting ends the stream between pieces, with the signal's reason as the error. */
  signal?: AbortSignal;
}

export const DEFAULT_DUMP_CHUNK = 4 << 20;

/**
 * The raw bytes of a dump file as a stream of pieces, gunzipped when the file starts with the gzip
 * magic (offsets are then in the decompressed stream). Errors: KW_SOURCE_READ (open/read),
 * KW_DUMP_CORRUPT (bad or truncated gzip), KW_LIMIT_EXCEEDED (over `maxBytes`), or the reason of an
 * aborted `signal`.
 */
export async function* readDump(absPath: string, opts: DumpReadOptions = {}): AsyncIterable<Buffer> {
  const chunkSize = opts.chunkSize ?? DEFAULT_DUMP_CHUNK;
  const { maxBytes, signal } = opts;
  signal?.throwIfAborted();
  let head = Buffer.alloc(2);
  try {
    const fd = openSync(absPath, 'r');
    try {
      head = head.subarray(0, readSync(fd, head, 0, 2, 0));
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new KeywardenError('KW_SOURCE_READ', `cannot read ${absPath}: ${e.code ?? e.message}`, [], { cause: err });
  }
  const gz = isGzip(head);
  const file = createReadStream(absPath, { highWaterMark: chunkSize });
  const stream = gz ? file.pipe(createGunzip({ chunkSize: Math.max(64, Math.min(chunkSize, 1 << 20)) })) : file;
  if (gz) file.on('error', (e) => stream.destroy(e));
  let total = 0;
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      // Checked once per piece (4 MiB by default): cheap, and a stuck job stops within one read.
      signal?.throwIfAborted();
      if (maxBytes !== undefined && total + piece.length > maxBytes) {
        if (maxBytes > total) yield piece.subarray(0, maxBytes - total);
        throw new KeywardenError(
          'KW_LIMIT_EXCEEDED',
          `${absPath}: larger than the dump limit of ${maxBytes} bytes (KEYWARDEN_DUMP_MAX_BYTES); the first ${maxBytes} bytes were scanned`,
        );
      }
      total += piece.length;
      yield piece;
    }
  } catch (err) {
    if (isKeywardenError(err)) throw err;
    if (signal?.aborted) throw signal.reason;
    const e = err as NodeJS.ErrnoException;
    if (gz && (e.code?.startsWith('Z_') || /unexpected end of file|incorrect header|invalid/i.test(e.message))) {
      throw new KeywardenError(
        'KW_DUMP_CORRUPT',
        `${absPath}: gzip stream is corrupt or truncated (${e.code ?? e.message})`,
        [],
        {
          cause: err,
        },
      );
    }
    throw new KeywardenError('KW_SOURCE_READ', `reading ${absPath} failed: ${e.code ?? e.message}`, [], { cause: err });
  } finally {
    file.destroy();
  }
}

export interface DumpSourceOptions extends ExtractOptions, DumpReadOptions {
  /**
   * Bytes of extracted text each window repeats from its neighbours on both sides: the longest match
   * the consumer can produce (the engine's `maxWindow`), so a secret across a window boundary lies
   * whole in the one window that owns its start, with context before it for keyword-before-value rules.
   */
  context: number;
}

/**
 * One dump file as a source: pieces → string extraction → text windows of about `chunkSize` bytes.
 * Each window is a chunk whose owned range excludes the context on its sides; owned ranges tile the
 * text, so a secret across any boundary is reported exactly once. Chunks share the offset map, which
 * is pruned after the consumer has had the chunk: scan each chunk before asking for the next. A read
 * or gzip error ends the source with an `error` event after the windows of what was read.
 */
export class DumpSource implements AsyncIterable<SourceEvent> {
  private readonly ex: StringExtractor;

  constructor(
    private readonly absPath: string,
    /** The path findings name. */
    private readonly path: string,
    private readonly opts: DumpSourceOptions,
  ) {
    this.ex = new StringExtractor(opts);
  }

  /** Input bytes read (decompressed, for gzip), including those before an error. */
  get bytesRead(): number {
    return this.ex.consumed;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SourceEvent> {
    const size = this.opts.chunkSize ?? DEFAULT_DUMP_CHUNK;
    const ctx = this.opts.context;
    const ex = this.ex;
    const path = this.path;
    // Extracted text from `winStart` on (absolute text positions); matches starting before `ownStart`
    // belong to an earlier window.
    let parts: Buffer[] = [];
    let partsBytes = 0;
    let winStart = 0;
    let ownStart = 0;

    function* window(final: boolean): Generator<SourceEvent> {
      const win = parts.length === 1 ? parts[0]! : Buffer.concat(parts, partsBytes);
      parts = [win];
      const winEnd = winStart + win.length;
      const ownEnd = final ? winEnd : winEnd - ctx;
      if (ownEnd <= ownStart) return;
      const from = Math.max(winStart, ownStart - ctx);
      yield {
        kind: 'chunk',
        chunk: {
          bytes: win.subarray(from - winStart),
          provenance: { kind: 'dump', path, offset: 0 },
          offset: from,
          startLine: 1,
          ownedStart: ownStart - from,
          ownedEnd: ownEnd - from,
          map: ex.map,
        },
      };
      ownStart = ownEnd;
      // Keep `ctx` bytes before the next owned range as its leading context.
      const keepFrom = Math.max(winStart, ownStart - ctx);
      parts = [Buffer.from(win.subarray(keepFrom - winStart))];
      partsBytes = parts[0]!.length;
      winStart = keepFrom;
      ex.map.pruneBefore(keepFrom);
    }
    function* add(text: Buffer): Generator<SourceEvent> {
      if (text.length === 0) return;
      parts.push(text);
      partsBytes += text.length;
      if (winStart + partsBytes - ownStart >= size + ctx) yield* window(false);
    }

    let error: KeywardenError | undefined;
    try {
      const { maxBytes, signal } = this.opts;
      for await (const piece of readDump(this.absPath, { chunkSize: size, maxBytes, signal })) yield* add(ex.push(piece));
    } catch (err) {
      // What was read before the failure is still scanned; the consumer decides the exit code.
      error = isKeywardenError(err) ? err : new KeywardenError('KW_SOURCE_READ', `reading ${path} failed`, [], { cause: err });
    }
    yield* add(ex.end());
    yield* window(true);
    if (error) yield { kind: 'error', path, error };
  }
}
