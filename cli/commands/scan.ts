// `keywarden scan [PATH|-]`: scan a directory tree (or stdin) and write a report.
import { statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Environment } from '../../config/section.js';
import { parseSize as parseSizeText } from '../../config/units.js';
import { VERSION } from '../../config/version.js';
import { KeywardenError } from '../../errors/error.js';
import { loadConfig, resolveRules } from '../../scanner/config.js';
import { REPORT_FORMATS, render, toReport } from '../../scanner/reporters/index.js';
import { scanStream } from '../../scanner/scan-stream.js';
import { type ScanProgress, scanTree, zeroFilesNotice } from '../../scanner/scan-tree.js';
import { loadIgnoreFile, suppress } from '../../scanner/suppress.js';
import { contextFilter, EXCLUDE_CONTEXT_HELP, exitCodeFor, pickFormat, type ReportFlags } from '../report-options.js';
import { fingerprintKeyFor } from '../startup.js';

const FORMATS = REPORT_FORMATS;

interface ScanFlags extends ReportFlags {
  threads?: string;
  progress?: boolean;
  skipBinary?: boolean;
  ignore?: boolean;
}

/** A size flag (`10MB`, `512KiB`) in bytes, or a usage error naming the flag. */
export function parseSize(text: string, what: string): number {
  const n = parseSizeText(text);
  if (n === null) throw new KeywardenError('KW_USAGE', `${what}: expected a size like 10MB, got ${JSON.stringify(text)}`);
  return n;
}

function progressPrinter(enabled: boolean): ((p: ScanProgress) => void) | undefined {
  if (!enabled) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    process.stderr.write(`\r\x1b[K${p.files} files, ${(p.bytes / 1e6).toFixed(1)} MB, ${p.findings} findings`);
  };
}

export function registerScanCommand(program: Command, setExit: (code: number) => void, env: Environment): void {
  program
    .command('scan')
    .description('scan a directory tree (default .), one file, or stdin (-) for leaked credentials')
    .argument('[path]', 'directory or file to scan, or - for stdin', '.')
    .option('-f, --format <format>', `report format: ${FORMATS.join(' | ')} (default: text on a TTY, else json)`)
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('-c, --config <file>', 'config file (default: .keywarden.yaml at the scanned root)')
    .option('--baseline <file>', 'a previous JSON report: report only findings not in it')
    .option('--show-secrets', 'include the full secret in text and JSON reports (never in SARIF)')
    .option('--max-file-size <size>', 'skip (and count) files larger than this, e.g. 10MB')
    .option('--threads <n>', 'worker threads (0 = scan on the main thread; default: CPU cores)')
    .option('--no-progress', 'no progress line on stderr even on a TTY')
    .option('--no-ignore', 'do not honour .gitignore files (config excludes still apply)')
    .option('--skip-binary', 'skip binary files instead of scanning their strings as dumps')
    .option('--exclude-context <contexts>', EXCLUDE_CONTEXT_HELP)
    .action(async (path: string, flags: ScanFlags) => {
      const fromStdin = path === '-';
      const root = resolve(fromStdin ? '.' : path);
      // `scan FILE` scans that one file (reported by its name) with the settings of the directory holding it.
      const settingsRoot = statSync(root, { throwIfNoEntry: false })?.isFile() ? dirname(root) : root;
      const format = pickFormat(flags.format, flags.output);
      const config = await loadConfig(settingsRoot, flags.config);
      const rules = await resolveRules(config);
      const maxFileSize = flags.maxFileSize ? parseSize(flags.maxFileSize, '--max-file-size') : config.maxFileSize;
      const threads = flags.threads === undefined ? undefined : Number.parseInt(flags.threads, 10);
      if (threads !== undefined && !(threads >= 0 && threads <= 64)) {
        throw new KeywardenError('KW_USAGE', `--threads must be 0..64; got ${JSON.stringify(flags.threads)}`);
      }
      const byContext = contextFilter(flags.excludeContext);
      const key = fingerprintKeyFor(env);
      const showSecrets = flags.showSecrets === true;
      const onProgress = progressPrinter(flags.progress !== false && process.stderr.isTTY === true);

      const common = { rules, globalAllow: config.allowlist, fingerprintKey: key, showSecrets };
      const result = fromStdin
        ? await scanStream(process.stdin, common)
        : await scanTree({
            ...common,
            root,
            excludes: config.excludes,
            maxFileSize,
            noIgnore: flags.ignore === false,
            skipBinary: flags.skipBinary === true,
            ...(threads === undefined ? {} : { threads }),
            ...(onProgress ? { onProgress } : {}),
          });
      if (onProgress) process.stderr.write('\r\x1b[K');
      const zero = fromStdin ? null : zeroFilesNotice(result, path);
      if (zero) process.stderr.write(`keywarden: warning: ${zero}\n`);

      const ignore = fromStdin ? new Set<string>() : loadIgnoreFile(settingsRoot);
      const baseline = flags.baseline ? (await import('../../scanner/baseline.js')).loadBaseline(flags.baseline) : null;
      const report = toReport(suppress(byContext(result.findings), ignore, baseline), result.stats, VERSION, 'location');
      const text = render(format, report, { rules, color: !flags.output && process.stdout.isTTY === true });
      if (flags.output) writeFileSync(flags.output, text);
      else process.stdout.write(text);
      setExit(exitCodeFor(report));
    });
}
