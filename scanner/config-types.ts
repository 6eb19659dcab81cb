// The shape of the scan settings, shared by the loader (config.ts) and the validator (config-file.ts)
// so neither imports the other's module: config.ts loads the validator only when a file exists.
import type { Confidence, Rule } from '../rules/schema.js';

/** @defaultValue 10 MB (10,000,000 bytes). */
export const DEFAULT_MAX_FILE_SIZE = 10_000_000;

/** A per-rule adjustment from the config file's `overrides:`. */
export interface RuleOverride {
  /** The rule to adjust (built-in or added). */
  id: string;
  /** Replaces the rule's minimum Shannon entropy, bits per character. */
  entropy?: number | undefined;
  /** Replaces the rule's confidence. */
  confidence?: Confidence | undefined;
  /** Appended to the rule's own allowlist (it cannot remove entries a rule ships with). */
  allowlist?: { regexes: string[]; stopwords: string[]; paths: string[] } | undefined;
}

/** The validated, frozen config. Arrays are typed mutable for callers' convenience but frozen at runtime. */
export interface KeywardenConfig {
  /** The file it was read from (as shown in messages); null when no file was found (all defaults). */
  readonly file: string | null;
  readonly extends: 'builtin' | 'none';
  readonly rules: Rule[];
  readonly disable: string[];
  readonly allowlist: { regexes: string[]; stopwords: string[]; paths: string[] };
  readonly excludes: string[];
  /** Bytes. */
  readonly maxFileSize: number;
  readonly overrides: RuleOverride[];
}
