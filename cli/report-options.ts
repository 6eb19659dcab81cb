// What every report-writing command shares: picking the format, and where per-user state lives.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KeywardenError } from '../errors/error.js';
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
