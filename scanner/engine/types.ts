// Engine contract: a compiled rule pack and bytes in, raw matches out. No I/O anywhere below here.
import type { Rule } from '../../rules/schema.js';

/** One match as the engine sees it: byte offsets into the scanned buffer. Holds the secret: never log it. */
export interface RawMatch {
  /** Index into `CompiledPack.rules`. */
  ruleIndex: number;
  /** Byte offsets of the secret (for decoded matches: of the encoded segment). */
  start: number;
  end: number;
  secret: string;
  entropy: number;
  encoding?: 'base64' | 'percent';
  /**
   * Both halves of a paired credential (rules/schema.ts `pair`), under the rule's `parts` names, for
   * a liveness check that needs both (an AWS key id with its secret). Holds secrets: never log it,
   * and reports show at most a redacted form. Carried to the finding as `Finding.parts`.
   */
  parts?: Readonly<Record<string, string>>;
  /** For a pair: byte range of the other half (the id), which the pair's `supersedes` also covers. */
  pairedWith?: { start: number; end: number };
}

export interface ScanContext {
  /** `/`-separated path relative to the scanned root; used by path allowlists and rules' `paths`. */
  path?: string;
  /**
   * A path that selects path-gated rules (`paths`) but applies no path allowlist: git history scans
   * a blob once under the first path it was seen at and applies allowlists per occurrence.
   */
  gatePath?: string;
}

export type { Rule };
