// The source contract: every source is an async iterable of `SourceEvent`s, each a `Chunk` of content
// that knows where it starts, a counted skip, or an error that stopped the source part-way. The scan
// pipeline (scanner/pipeline.ts) turns chunks into findings; the coordinators count the rest.

import type { KeywardenError } from '../../errors/error.js';
import type { Provenance } from '../../model/finding.js';
import type { SkipReason } from '../report.js';

/**
 * Bytes to scan and where they came from. Holds secrets: never log it. Positions of findings in it
 * are reported in the coordinates of the whole content `provenance` names, from `offset`,
 * `startLine` and `startColumn` (or through `map`, for text extracted from a binary).
 */
export interface Chunk {
  bytes: Buffer;
  provenance: Provenance;
  /** Byte offset of `bytes[0]` in the content (for extracted text: its text position, see `map`). */
  offset: number;
  /** 1-based line of `bytes[0]` in the content. */
  startLine: number;
  /** UTF-16 code units before `bytes[0]` on `startLine` (a window that starts mid-line). @defaultValue 0 */
  startColumn?: number;
  /**
   * Chunks of one stream overlap by the longest match, so a secret across a boundary lies whole in
   * one of them: only matches starting in [ownedStart, ownedEnd) belong to this chunk.
   * @defaultValue 0 and `bytes.length`
   */
  ownedStart?: number;
  ownedEnd?: number;
  /** The content's own identity, when the source knows one (a git blob id): what is seen at many places is scanned once. */
  id?: string;
  /** For text extracted from a binary (scanner/sources/dump.ts): text positions back to the input's offsets and lines. */
  map?: TextMap;
}

/** Maps a position in extracted text to the input's byte offset, line and byte column (and the character's width). */
export interface TextMap {
  locate(textPos: number): { offset: number; line: number; column: number; stride: number };
}

/** Content a source did not scan, counted in the report's stats under its reason. `code`/`message` (never content) for `unreadable`. */
export interface Skip {
  kind: 'skip';
  /** A skipped directory's path ends in `/` and is counted once, not once per file inside it. */
  path: string;
  reason: SkipReason;
  code?: string;
  message?: string;
}

/** A source that stopped before the end of `path` (a truncated gzip, a read error): what came before was yielded. */
export interface SourceError {
  kind: 'error';
  path: string;
  error: KeywardenError;
}

export interface ChunkEvent {
  kind: 'chunk';
  chunk: Chunk;
}

export type SourceEvent = ChunkEvent | Skip | SourceError;

/** A regular file the tree walker found, for a reader to turn into a chunk (scanner/sources/files.ts). */
export interface FileEntry {
  /** Relative to the scanned root, `/`-separated (the path findings carry). */
  path: string;
  /** Absolute path to read from. */
  absPath: string;
  /** Bytes, from `lstat` at walk time (the reader re-checks: the file may have grown); -1 when the walk did not stat. */
  size: number;
}
