// The source contract: a source is an async iterable of events, each a file to read or a counted skip.
// The tree walker yields these; the scan coordinator (scanner/scan-tree.ts) reads and scans the files.
import type { SkipReason } from '../finding.js';

/** A regular file the walker found and the reader should scan. */
export interface FileEntry {
  /** Relative to the scanned root, `/`-separated (the path findings carry). */
  path: string;
  /** Absolute path to read from. */
  absPath: string;
  /** Bytes, from `lstat` at walk time (the reader re-checks: the file may have grown); -1 when the walk did not stat. */
  size: number;
}

/**
 * One step of a walk. A `skip` is counted in the report's stats under its reason; `code` and
 * `message` (never file content) are set for `unreadable`. A skipped directory carries a path
 * ending in `/` and is counted once, not once per file inside it.
 */
export type SourceEvent =
  | { kind: 'file'; entry: FileEntry }
  | { kind: 'skip'; path: string; reason: SkipReason; code?: string; message?: string };
