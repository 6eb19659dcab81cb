// `keywarden dump FILE...`: scan core files, minidumps, heap snapshots, hprof and other binaries
// (gzip transparently) for credentials in their string runs; findings carry the byte offset.
import { writeFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import type { Environment } from '../../config/section.js';
import { parseSize } from '../../config/units.js';
import { VERSION } from '../../config/version.js';
import { KeywardenError } from '../../errors/error.js';
import { loadConfig, resolveRules } from '../../scanner/config.js';
import { compilePack } from '../../scanner/engine/compile.js';
import type { Report, ReportEntry } from '../../scanner/report.js';
import { REPORT_FORMATS, render, reportEntries } from '../../scanner/reporters/index.js';
import { scanDumpFile } from '../../scanner/scan-dump.js';
import { DEFAULT_DUMP_CHUNK } from '../../scanner/sources/dump.js';
import { DEFAULT_MIN_LENGTH } from '../../scanner/sources/strings.js';
import { addStats, emptyStats } from '../../scanner/stats.js';
import { pickFormat } from '../report-options.js';
import { fingerprintKeyFor } from '../startup.js';

interface DumpFlags {
  format?: string;
  output?: string;
  config?: string;
  showSecrets?: boolean;
  minLength?: string;
  chunkSize?: string;
}

export function registerDumpCommand(program: Command, setExit: (code: number) => void, env: Environment): void {
  program
    .command('dump')
    .description('scan crash dumps and binary files (ELF core, minidump, .heapsnapshot, .hprof, gzip) for credentials')
    .argument('<files...>', 'dump files to scan')
    .option('-f, --format <format>', `report format: ${REPORT_FORMATS.join(' | ')} (default: text on a TTY, else json)`)
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('-c, --config <file>', 'config file (default: .keywarden.yaml in the current directory)')
    .option('--show-secrets', 'include the full secret in text and JSON reports (never in SARIF)')
    .option('--min-length <n>', `shortest string run scanned, in characters (default ${DEFAULT_MIN_LENGTH})`)
    .option('--chunk-size <size>', `bytes read per step, e.g. 4MiB (default ${DEFAULT_DUMP_CHUNK})`)
    .action(async (files: string[], flags: DumpFlags) => {
      const format = pickFormat(flags.format, flags.output);
      const minLength = flags.minLength === undefined ? DEFAULT_MIN_LENGTH : Number(flags.minLength);
      if (!(Number.isInteger(minLength) && minLength >= 4 && minLength <= 4096)) {
        throw new KeywardenError('KW_USAGE', `--min-length must be an integer 4..4096; got ${JSON.stringify(flags.minLength)}`);
      }
      const chunkSize = flags.chunkSize === undefined ? DEFAULT_DUMP_CHUNK : parseSize(flags.chunkSize);
      if (chunkSize === null || chunkSize < 256) {
        throw new KeywardenError(
          'KW_USAGE',
          `--chunk-size: expected a size of at least 256 bytes; got ${JSON.stringify(flags.chunkSize)}`,
        );
      }
      const cwd = process.cwd();
      const config = await loadConfig(cwd, flags.config);
      const rules = await resolveRules(config);
      const key = fingerprintKeyFor(env);
      const pack = compilePack(rules, config.allowlist);
      const opts = { fingerprintKey: key, showSecrets: flags.showSecrets === true, minLength, chunkSize };

      const started = performance.now();
      const stats = emptyStats();
      // Files in the order given, each one's occurrences in offset order.
      const findings: ReportEntry[] = [];
      let firstError: KeywardenError | undefined;
      for (const file of files) {
        const abs = resolve(file);
        const path = relative(cwd, abs).split(sep).join('/') || file;
        const r = await scanDumpFile(pack, abs, path, opts);
        findings.push(...reportEntries(r.findings, 'location'));
        addStats(stats, r.stats);
        firstError ??= r.error;
      }
      stats.durationMs = Math.round(performance.now() - started);

      const report: Report = { version: 1, tool: { name: 'keywarden', version: VERSION }, findings, stats };
      const text = render(format, report, { rules, color: !flags.output && process.stdout.isTTY === true });
      if (flags.output) writeFileSync(flags.output, text);
      else process.stdout.write(text);
      // The report above covers what was read; a failed input still ends the run with exit 2.
      if (firstError) throw firstError;
      setExit(findings.length > 0 ? 1 : 0);
    });
}
