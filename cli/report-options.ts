// What every report-writing command shares: picking the format, and where per-user state lives.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { contextOf, FINDING_CONTEXTS, type FindingContext, parseContextList } from '../scanner/context.js';
import { KeywardenError } from '../scanner/errors.js';
import type { Finding } from '../scanner/finding.js';
import { resolveFingerprintKey } from '../scanner/fingerprint.js';
import { REPORT_FORMATS, type ReportFormat } from '../scanner/reporters/index.js';

/** The flags every report-writing command takes (scan, history, diff, staged). */
export interface ReportFlags {
  format?: string;
  output?: string;
  config?: string;
  baseline?: string;
  showSecrets?: boolean;
  maxFileSize?: string;
  /** `--exclude-context test,docs`: drop findings whose file is of these kinds (scanner/context.ts). */
  excludeContext?: string;
}

/** The `--exclude-context` option's help text, shared by scan, history, diff and staged. */
export const EXCLUDE_CONTEXT_HELP = `drop findings in files of these kinds, comma-separated: ${FINDING_CONTEXTS.filter((c) => c !== 'code').join(', ')}`;

/**
 * `--exclude-context` as a filter: every finding gets its context from its final path (history
 * attributes a blob's findings to each path it appeared at), then the listed contexts are dropped.
 */
export function contextFilter(flag: string | undefined): (findings: Finding[]) => Finding[] {
  let exclude = new Set<FindingContext>();
  if (flag !== undefined) {
    const { contexts, unknown } = parseContextList(flag);
    if (unknown.length > 0 || contexts.size === 0) {
      throw new KeywardenError(
        'KW_USAGE',
        `--exclude-context takes ${FINDING_CONTEXTS.join(', ')} (comma-separated); got ${JSON.stringify(flag)}`,
      );
    }
    exclude = contexts;
  }
  return (findings) => {
    const out: Finding[] = [];
    for (const f of findings) {
      const withContext = f.context === undefined || f.source.kind === 'git' ? reContext(f) : f;
      if (withContext.context === undefined || !exclude.has(withContext.context)) out.push(withContext);
    }
    return out;
  };
}

function reContext(f: Finding): Finding {
  const k = f.source.kind;
  if (k === 'log' || k === 'stdin' || f.path === '-') return f;
  return { ...f, context: contextOf(f.path) };
}

/** Exit 1 when a finding is a credential; `info` findings (hashes, public keys) fail nothing. */
export function exitCodeFor(findings: readonly Finding[]): number {
  return findings.some((f) => f.confidence !== 'info') ? 1 : 0;
}

/** `--format`, else from the `--output` extension; text for a person at a terminal, JSON for a program. */
export function pickFormat(flag: string | undefined, output: string | undefined): ReportFormat {
  if (flag) {
    if (!(REPORT_FORMATS as readonly string[]).includes(flag)) {
      throw new KeywardenError('KW_USAGE', `--format must be one of ${REPORT_FORMATS.join(', ')}; got ${JSON.stringify(flag)}`);
    }
    return flag as ReportFormat;
  }
  if (output?.endsWith('.sarif') || output?.endsWith('.sarif.json')) return 'sarif';
  if (output?.endsWith('.jsonl')) return 'jsonl';
  if (output?.endsWith('.json')) return 'json';
  return !output && process.stdout.isTTY ? 'text' : 'json';
}

/** An XDG base directory (`XDG_CONFIG_HOME`, `XDG_CACHE_HOME`, ...) with keywarden's folder appended. */
export function xdgDir(envName: string, fallback: string): string {
  return join(process.env[envName] || join(homedir(), fallback), 'keywarden');
}

/** The fingerprint key: `KEYWARDEN_FINGERPRINT_KEY`, else this machine's key file (created once). */
export function fingerprintKeyFromEnv(): Buffer {
  return resolveFingerprintKey(process.env, { configDir: xdgDir('XDG_CONFIG_HOME', '.config') }).key;
}
