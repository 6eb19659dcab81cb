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
}

export interface ScanContext {
  /** `/`-separated path relative to the scanned root; used by path allowlists. */
  path?: string;
}

export type { Rule };
