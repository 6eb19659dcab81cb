// Suppression after the scan: `.keywardenignore` (fingerprints the team has accepted, everywhere) and
// `--baseline` (a previous JSON report, read by baseline.ts: only findings new since then are reported). Inline
// `keywarden:allow` comments are the engine's business, not this module's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeywardenError } from '../errors/error.js';
import type { Finding } from '../model/finding.js';
import { pathOf } from '../model/occurrence.js';

export const IGNORE_FILE_NAME = '.keywardenignore';

/** `kw1:` + 32 hex (model/finding.ts); any `kwN:` version is accepted so old files keep loading. */
const FINGERPRINT = /^kw\d+:[0-9a-f]{16,}$/;
/** A line copied from a JSON report: `"fingerprint": "kw1:…",` (quotes and comma optional). */
const REPORT_LINE = /^"?fingerprint"?\s*:\s*"([^"]*)"\s*,?$/;

/** Fingerprints that are suppressed wherever they occur. */
export type IgnoreSet = ReadonlySet<string>;

/**
 * Reads `.keywardenignore` at `root`: one fingerprint per line, `#` starts a comment (whole line or
 * after whitespace), blank lines ignored, and a `"fingerprint": "kw1:…",` line pasted from a JSON
 * report is accepted as is. A missing file is an empty set; a malformed line is KW_CONFIG_INVALID
 * (all bad lines listed, by line number, without their text: it might be a pasted secret).
 */
export function loadIgnoreFile(root: string): IgnoreSet {
  const path = join(root, IGNORE_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new Set();
    throw new KeywardenError('KW_CONFIG_INVALID', `cannot read ${IGNORE_FILE_NAME}: ${code ?? String(err)}`, [], { cause: err });
  }
  return parseIgnoreFile(text, IGNORE_FILE_NAME);
}

/** The pure half of loadIgnoreFile; `file` names it in messages. */
export function parseIgnoreFile(text: string, file: string): IgnoreSet {
  const out = new Set<string>();
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const fp = REPORT_LINE.exec(line)?.[1] ?? line;
    if (FINGERPRINT.test(fp)) out.add(fp);
    else problems.push(`${file}:${i + 1}: not a fingerprint (expected kw1: and hex, as in a report's "fingerprint" field)`);
  });
  if (problems.length > 0) {
    throw new KeywardenError(
      'KW_CONFIG_INVALID',
      `invalid ${file} (${problems.length} bad line${problems.length === 1 ? '' : 's'})`,
      problems,
    );
  }
  return out;
}

/**
 * The findings of a previous report, keyed by fingerprint and path. Not by line: lines shift as a
 * file is edited, and a baselined secret should stay quiet. But a baselined secret that appears in
 * another file is reported again: it has spread, which is news. A fingerprint is a keyed hash, so a
 * baseline only matches scans made with the same fingerprint key.
 */
export type Baseline = ReadonlySet<string>;

/** A report entry's (or an occurrence's) fingerprint and path. */
export interface Placed {
  fingerprint: string;
  path: string;
}

export function baselineKey(f: Placed): string {
  // NUL cannot occur in a path or a fingerprint, so the key is unambiguous.
  return `${f.fingerprint}\0${f.path}`;
}

/** True when the fingerprint is in the ignore file, or it (fingerprint and path) is in the baseline. */
export function isSuppressed(placed: Placed, ignore: IgnoreSet, baseline: Baseline | null): boolean {
  return ignore.has(placed.fingerprint) || baseline?.has(baselineKey(placed)) === true;
}

/**
 * The findings left after suppression: an ignored fingerprint drops the finding, a baselined
 * (fingerprint, path) drops the occurrences there; a finding with no occurrence left is dropped.
 */
export function suppress(findings: readonly Finding[], ignore: IgnoreSet, baseline: Baseline | null): Finding[] {
  if (ignore.size === 0 && baseline === null) return [...findings];
  const out: Finding[] = [];
  for (const f of findings) {
    const occurrences = f.occurrences.filter(
      (o) => !isSuppressed({ fingerprint: f.fingerprint, path: pathOf(o.provenance) }, ignore, baseline),
    );
    if (occurrences.length === f.occurrences.length) out.push(f);
    else if (occurrences.length > 0) out.push({ ...f, occurrences });
  }
  return out;
}
