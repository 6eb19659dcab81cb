// `npm run bench`: generates (or reuses) the benchmark corpus, then measures keywarden end to end,
// ripgrep with the exported patterns over the same tree, and the engine alone on in-memory Buffers.
// Prints a table against the targets (or JSON with --json). docs/benchmarks.md explains each number.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KeywardenError } from '../errors/error.js';
import { builtinRules } from '../rules/builtin.js';
import type { Rule } from '../rules/schema.js';
import { type CorpusInfo, ensureCorpus, walkFiles } from './corpus.js';
import { type EngineResult, measureEngine } from './engine.js';
import { findRipgrep, median, runChild } from './measure.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin', 'keywarden.js');
const CLI_MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const MB = 1e6;

/** The targets from the performance issue. */
const TARGETS = { endToEndMBps: 150, vsRipgrep: 1.0, engineMBps: 100 } as const;
/** --rss-check passes when the 200 MB peak is within this factor of the 50 MB peak. */
const RSS_GROWTH_LIMIT = 1.25;

const HELP = `usage: npm run bench -- [options]

  --size MB        corpus size in MB (10^6 bytes; default 200)
  --quick          smoke run: 20 MB corpus, 1 run, 20 MB in memory for the engine
  --runs N         timed runs per measurement; the median is reported (default 3)
  --corpus DIR     where corpora are kept (default bench/.corpus, or $KEYWARDEN_BENCH_CORPUS);
                   each size lives in DIR/<size>MB/ with DIR/<size>MB.manifest.json beside it
  --engine-mb MB   how much of the corpus the in-memory engine run loads (default 100)
  --seed N         corpus seed (default 1)
  --timeout S      kill any one keywarden or rg run after S seconds (default 600)
  --rss-check      scan a 50 MB and a 200 MB corpus and compare keywarden's peak RSS
  --json           print machine-readable results instead of the table
  -h, --help       this text
`;

interface Options {
  sizeMB: number;
  runs: number;
  corpusBase: string;
  engineMB: number;
  seed: number;
  rssCheck: boolean;
  json: boolean;
  quick: boolean;
  timeoutMs: number;
  /** $PATH at start-up, where rg is looked for. */
  pathVar: string;
}

interface KeywardenResult {
  runsMs: number[];
  mbPerSec: number;
  filesPerSec: number;
  peakRssMB: number | null;
  findings: number;
  scannedFiles: number;
  scannedBytes: number;
}

interface RipgrepResult {
  version: string;
  runsMs: number[];
  mbPerSec: number;
  matchingLines: number;
  patterns: number;
  /** Where the pattern file came from (the CLI's export, or the bench's fallback). */
  patternsFrom: string;
}

interface Target {
  name: string;
  target: string;
  value: number | null;
  pass: boolean | null;
}

interface BenchResults {
  machine: { cpus: number; node: string };
  runs: number;
  corpus: { dir: string; reused: boolean; mb: number; files: number; avgFileKB: number; plantedSecrets: number };
  keywarden: KeywardenResult | { error: string };
  ripgrep: RipgrepResult | { error: string };
  engine: EngineResult | { error: string };
  targets: Target[];
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string' },
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      corpus: { type: 'string' },
      'engine-mb': { type: 'string' },
      seed: { type: 'string', default: '1' },
      timeout: { type: 'string' },
      'rss-check': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return null;
  const num = (text: string | undefined, fallback: number, what: string, min: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min)
      throw new KeywardenError('KW_USAGE', `${what} must be a number >= ${min}; got ${JSON.stringify(text)}`);
    return n;
  };
  const quick = values.quick === true;
  const sizeMB = num(values.size, quick ? 20 : 200, '--size', 1);
  return {
    sizeMB,
    quick,
    runs: Math.round(num(values.runs, quick ? 1 : 3, '--runs', 1)),
    corpusBase: resolve(values.corpus ?? env.KEYWARDEN_BENCH_CORPUS ?? join(ROOT, 'bench', '.corpus')),
    engineMB: Math.min(sizeMB, num(values['engine-mb'], quick ? 20 : 100, '--engine-mb', 1)),
    seed: Math.round(num(values.seed, 1, '--seed', 0)),
    rssCheck: values['rss-check'] === true,
    json: values.json === true,
    timeoutMs: num(values.timeout, 600, '--timeout', 1) * 1000,
    pathVar: env.PATH ?? '',
  };
}

function corpusFor(opts: Options, sizeMB: number, rules: readonly Rule[], log: (s: string) => void): CorpusInfo {
  return ensureCorpus({
    dir: join(opts.corpusBase, `${sizeMB}MB`),
    sizeBytes: Math.round(sizeMB * MB),
    seed: opts.seed,
    sourceRoot: join(ROOT, 'node_modules'),
    rules,
    log,
  });
}

/** One untimed read of every file, so each tool starts from a warm page cache. */
function warmPageCache(dir: string): void {
  for (const f of walkFiles(dir)) readFileSync(f.abs);
}

function cliMissing(): string | null {
  if (!existsSync(CLI_MAIN)) return `the CLI is not built (${CLI_MAIN} missing): run npm run build`;
  return null;
}

/**
 * The corpus sits under the repository's .gitignore (bench/.corpus/), and `keywarden scan` honours
 * ancestors' .gitignore files as git does; `--no-ignore` (when the CLI has it) makes it read every
 * file, as rg's `--no-ignore` does.
 */
async function scanArgsFor(work: string, timeoutMs: number): Promise<(dir: string, output: string) => string[]> {
  const help = await runChild(process.execPath, [BIN, 'scan', '--help'], { cwd: work, captureStdout: true, timeoutMs });
  const noIgnore = help.stdout.includes('--no-ignore') ? ['--no-ignore'] : [];
  return (dir, output) => [BIN, 'scan', dir, '--format', 'json', '--output', output, '--no-progress', ...noIgnore];
}

async function runKeywarden(
  corpus: CorpusInfo,
  runs: number,
  timeoutMs: number,
  work: string,
  log: (s: string) => void,
): Promise<KeywardenResult> {
  const missing = cliMissing();
  if (missing) throw new Error(missing);
  // One run with a real report file: it gives the findings count and the scanner's own file/byte
  // totals (a check that it read the same tree); it is not timed.
  const reportPath = join(work, 'report.json');
  const scanArgs = await scanArgsFor(work, timeoutMs);
  const first = await runChild(process.execPath, scanArgs(corpus.dir, reportPath), { cwd: work, timeoutMs });
  if (first.timedOut) throw new Error(`keywarden scan killed after ${timeoutMs / 1000} s (see --timeout)`);
  // Exit 1 means findings, but node also exits 1 when the CLI crashes: the report file tells which.
  if ((first.code !== 0 && first.code !== 1) || !existsSync(reportPath))
    throw new Error(`keywarden scan exited ${first.code}: ${reason(first.stderr)}`);
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as { findings: unknown[]; stats: { files: number; bytes: number } };
  rmSync(reportPath, { force: true });
  // A scan that skipped part of the tree would report a speed it did not earn.
  if (report.stats.bytes < 0.99 * corpus.manifest.bytes) {
    throw new Error(
      `keywarden scanned only ${(report.stats.bytes / MB).toFixed(1)} of ${(corpus.manifest.bytes / MB).toFixed(1)} MB ` +
        `(${report.stats.files} of ${corpus.manifest.files} files): is the corpus under a .gitignore'd path? Use --corpus outside the repository`,
    );
  }

  const times: number[] = [];
  const peaks: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await runChild(process.execPath, scanArgs(corpus.dir, '/dev/null'), { cwd: work, timeoutMs });
    if (r.timedOut) throw new Error(`keywarden scan killed after ${timeoutMs / 1000} s (see --timeout)`);
    if (r.code !== 0 && r.code !== 1) throw new Error(`keywarden scan exited ${r.code}: ${reason(r.stderr)}`);
    times.push(r.wallMs);
    if (r.peakRss !== null) peaks.push(r.peakRss);
    log(`  keywarden run ${i + 1}/${runs}: ${(r.wallMs / 1000).toFixed(2)} s`);
  }
  const sec = median(times) / 1000;
  return {
    runsMs: times.map(Math.round),
    mbPerSec: corpus.manifest.bytes / MB / sec,
    filesPerSec: corpus.manifest.files / sec,
    peakRssMB: peaks.length > 0 ? median(peaks) / MB : null,
    findings: report.findings.length,
    scannedFiles: report.stats.files,
    scannedBytes: report.stats.bytes,
  };
}

/**
 * The pattern file ripgrep reads: from `keywarden rules export --format rg`, the command users run.
 * If that command fails (the CLI is mid-change), the same file is written from the rules here, so the
 * ripgrep figure still appears, marked as such.
 */
async function exportPatterns(work: string, rules: readonly Rule[], timeoutMs: number): Promise<{ path: string; from: string }> {
  const path = join(work, 'patterns.txt');
  const missing = cliMissing();
  // cwd = an empty directory, so no .keywarden.yaml changes the exported rules.
  const r = missing
    ? null
    : await runChild(process.execPath, [BIN, 'rules', 'export', '--format', 'rg'], { cwd: work, captureStdout: true, timeoutMs });
  if (r !== null && r.code === 0 && r.stdout.trim() !== '') {
    writeFileSync(path, r.stdout);
    return { path, from: 'keywarden rules export --format rg' };
  }
  // Each pattern wrapped as (?:...): ripgrep 13 joins -f lines with a bare | (docs/benchmarks.md, design measurements).
  // As `rules export` does: path-gated rules are not line patterns (cli/commands/rules.ts).
  writeFileSync(
    path,
    rules
      .filter((rule) => !rule.paths?.length)
      .map((rule) => `(?:${rule.pattern})\n`)
      .join(''),
  );
  return { path, from: `written by the bench (rules export failed: ${missing ?? (r ? reason(r.stderr) : '')})` };
}

async function runRipgrep(
  rg: string,
  corpus: CorpusInfo,
  rules: readonly Rule[],
  runs: number,
  timeoutMs: number,
  work: string,
  log: (s: string) => void,
): Promise<RipgrepResult> {
  const { path: patterns, from: exportedFrom } = await exportPatterns(work, rules, timeoutMs);
  // ripgrep refuses a pattern that can match \n unless --multiline (which would make it search whole
  // files, for every pattern). Those (multi-line PEM rules) are left out of its run: only rg gains.
  const all = readFileSync(patterns, 'utf8').split('\n').filter(Boolean);
  const probe = join(work, 'probe.txt');
  writeFileSync(probe, 'probe\n');
  const lineOnly = all.filter((p) => spawnSync(rg, ['-c', '-e', p, probe], { stdio: 'ignore' }).status !== 2);
  writeFileSync(patterns, lineOnly.map((p) => `${p}\n`).join(''));
  const dropped = all.length - lineOnly.length;
  const patternsFrom = dropped > 0 ? `${exportedFrom}; ${dropped} multi-line pattern(s) left out` : exportedFrom;
  const version = execFileSync(rg, ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? 'ripgrep';
  // --no-ignore --hidden: read every file keywarden reads. -c: one line per matching file, so
  // output costs nothing next to the search.
  // 240 patterns compile past ripgrep's default 100 MB regex size limit; raise it (and the DFA cache) so rg runs at its best.
  const args = [
    '-j2',
    '-c',
    '--no-ignore',
    '--hidden',
    '--regex-size-limit',
    '2G',
    '--dfa-size-limit',
    '2G',
    '-f',
    patterns,
    corpus.dir,
  ];
  const times: number[] = [];
  let matchingLines = 0;
  for (let i = 0; i < runs; i++) {
    const r = await runChild(rg, args, { cwd: work, captureStdout: true, timeoutMs });
    if (r.timedOut) throw new Error(`rg killed after ${timeoutMs / 1000} s (see --timeout)`);
    if (r.code !== 0 && r.code !== 1) throw new Error(`rg exited ${r.code}: ${reason(r.stderr)}`);
    times.push(r.wallMs);
    matchingLines = r.stdout.split('\n').reduce((s, line) => s + (Number(line.slice(line.lastIndexOf(':') + 1)) || 0), 0);
    log(`  rg run ${i + 1}/${runs}: ${(r.wallMs / 1000).toFixed(2)} s`);
  }
  return {
    version,
    runsMs: times.map(Math.round),
    mbPerSec: corpus.manifest.bytes / MB / (median(times) / 1000),
    matchingLines,
    patterns: readFileSync(patterns, 'utf8').split('\n').filter(Boolean).length,
    patternsFrom,
  };
}

/** The line of a child's stderr that says what went wrong (not a stack frame or source excerpt). */
function reason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /^(keywarden|rg|error|Error|\w*Error\b)/.test(l)) ?? lines[0] ?? '(no message)';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isError<T extends object>(r: T | { error: string }): r is { error: string } {
  return 'error' in r;
}

async function benchmark(opts: Options, rules: readonly Rule[], log: (s: string) => void): Promise<BenchResults> {
  const corpus = corpusFor(opts, opts.sizeMB, rules, log);
  log('warming the page cache');
  warmPageCache(corpus.dir);
  const work = mkdtempSync(join(tmpdir(), 'kw-bench-'));
  try {
    log('keywarden scan (end to end)');
    const keywarden = await runKeywarden(corpus, opts.runs, opts.timeoutMs, work, log).catch((err: unknown) => ({
      error: errorText(err),
    }));
    const rg = findRipgrep(opts.pathVar);
    let ripgrep: RipgrepResult | { error: string };
    if (rg === null) {
      ripgrep = { error: 'ripgrep (rg) not found: comparison skipped' };
    } else {
      log('ripgrep');
      ripgrep = await runRipgrep(rg, corpus, rules, opts.runs, opts.timeoutMs, work, log).catch((err: unknown) => ({
        error: errorText(err),
      }));
    }
    log(`engine (1 thread, ${opts.engineMB} MB in memory)`);
    // The limit covers the untimed warm-up pass and every timed pass.
    const engine = await measureEngine(
      { dir: corpus.dir, engineMB: opts.engineMB, runs: opts.runs },
      opts.timeoutMs * (opts.runs + 1),
      log,
    ).catch((err: unknown) => ({ error: errorText(err) }));

    const kwMBps = isError(keywarden) ? null : keywarden.mbPerSec;
    const rgMBps = isError(ripgrep) ? null : ripgrep.mbPerSec;
    const ratio = kwMBps !== null && rgMBps !== null ? kwMBps / rgMBps : null;
    const engMBps = isError(engine) ? null : engine.mbPerSec;
    const target = (name: string, text: string, value: number | null, min: number): Target => ({
      name,
      target: text,
      value,
      pass: value === null ? null : value >= min,
    });
    const m = corpus.manifest;
    return {
      machine: { cpus: availableParallelism(), node: process.version },
      runs: opts.runs,
      corpus: {
        dir: corpus.dir,
        reused: corpus.reused,
        mb: m.bytes / MB,
        files: m.files,
        avgFileKB: m.bytes / m.files / 1e3,
        plantedSecrets: m.secrets.total,
      },
      keywarden,
      ripgrep,
      engine,
      targets: [
        target('end to end', `>= ${TARGETS.endToEndMBps} MB/s`, kwMBps, TARGETS.endToEndMBps),
        target('vs ripgrep -j2', `>= ${TARGETS.vsRipgrep.toFixed(1)}x`, ratio, TARGETS.vsRipgrep),
        target('engine, 1 thread', `>= ${TARGETS.engineMBps} MB/s`, engMBps, TARGETS.engineMBps),
      ],
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const verdict = (t: Target | undefined) => (t === undefined || t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'FAIL');

function printTable(r: BenchResults): void {
  const rows: Array<[string, string, string, string]> = [];
  const row = (what: string, value: string, target = '', result = '') => rows.push([what, value, target, result]);
  const [endToEnd, vsRg, engineTarget] = r.targets;
  const c = r.corpus;
  row(
    'corpus',
    `${fmt(c.mb)} MB, ${c.files.toLocaleString('en-US')} files (${fmt(c.avgFileKB)} KB avg), ${c.plantedSecrets} planted secrets${c.reused ? ' (reused)' : ''}`,
  );
  const kw = r.keywarden;
  if (isError(kw)) {
    row('keywarden scan', `error: ${kw.error}`, endToEnd?.target ?? '', 'n/a');
  } else {
    row('keywarden scan, end to end', `${fmt(kw.mbPerSec)} MB/s`, endToEnd?.target ?? '', verdict(endToEnd));
    row('  files/s', Math.round(kw.filesPerSec).toLocaleString('en-US'));
    row('  peak RSS', kw.peakRssMB === null ? 'n/a' : `${fmt(kw.peakRssMB, 0)} MB`);
    row('  findings', kw.findings.toLocaleString('en-US'));
    if (Math.abs(kw.scannedBytes - c.mb * MB) > 0.01 * c.mb * MB) {
      row('  note', `scanned ${fmt(kw.scannedBytes / MB)} MB in ${kw.scannedFiles} files (the corpus has ${fmt(c.mb)} MB)`);
    }
  }
  const rg = r.ripgrep;
  if (isError(rg)) {
    row('ripgrep -j2', rg.error, vsRg?.target ?? '', 'n/a');
  } else {
    row(`${rg.version} -j2`, `${fmt(rg.mbPerSec)} MB/s (${rg.patterns} patterns)`);
    if (rg.patternsFrom !== 'keywarden rules export --format rg') row('  note', `patterns: ${rg.patternsFrom}`);
    row('  keywarden / rg', vsRg?.value == null ? 'n/a' : `${fmt(vsRg.value, 2)}x`, vsRg?.target ?? '', verdict(vsRg));
  }
  const eng = r.engine;
  if (isError(eng)) {
    row('engine, 1 thread, in memory', `error: ${eng.error}`, engineTarget?.target ?? '', 'n/a');
  } else {
    row(
      `engine, 1 thread, ${fmt(eng.loadedMB, 0)} MB in memory`,
      `${fmt(eng.mbPerSec)} MB/s`,
      engineTarget?.target ?? '',
      verdict(engineTarget),
    );
  }
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((x) => x[i]!.length)));
  const out = [
    `keywarden benchmark: ${r.machine.cpus} CPUs, Node ${r.machine.node}, median of ${r.runs} run(s), warm page cache, MB = 10^6 bytes`,
    '',
  ];
  for (const x of rows) out.push(`${x[0].padEnd(w[0]!)}  ${x[1].padEnd(w[1]!)}  ${x[2].padEnd(w[2]!)}  ${x[3]}`.trimEnd());
  process.stdout.write(`${out.join('\n')}\n`);
}

interface RssCheck {
  sizes: Array<{ mb: number; files: number; peakRssMB: number | null; error?: string }>;
  growth: number | null;
  limit: number;
  pass: boolean | null;
}

async function rssCheck(opts: Options, rules: readonly Rule[], log: (s: string) => void): Promise<RssCheck> {
  const sizes = opts.quick ? [10, 40] : [50, 200];
  const out: RssCheck['sizes'] = [];
  const work = mkdtempSync(join(tmpdir(), 'kw-bench-'));
  try {
    for (const mb of sizes) {
      const corpus = corpusFor(opts, mb, rules, log);
      warmPageCache(corpus.dir);
      log(`keywarden scan of ${mb} MB`);
      try {
        const r = await runKeywarden(corpus, opts.runs, opts.timeoutMs, work, log);
        out.push({ mb: corpus.manifest.bytes / MB, files: corpus.manifest.files, peakRssMB: r.peakRssMB });
      } catch (err) {
        out.push({ mb: corpus.manifest.bytes / MB, files: corpus.manifest.files, peakRssMB: null, error: errorText(err) });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const small = out[0]?.peakRssMB;
  const large = out[1]?.peakRssMB;
  const growth = small != null && large != null ? large / small : null;
  return { sizes: out, growth, limit: RSS_GROWTH_LIMIT, pass: growth === null ? null : growth <= RSS_GROWTH_LIMIT };
}

function printRss(r: RssCheck): void {
  const lines = ['keywarden peak RSS by corpus size (median of runs; should not grow with the tree)', ''];
  for (const s of r.sizes) {
    const peak = s.error ? `error: ${s.error}` : s.peakRssMB === null ? 'n/a' : `${fmt(s.peakRssMB, 0)} MB`;
    lines.push(`  ${fmt(s.mb, 0).padStart(5)} MB corpus, ${s.files.toLocaleString('en-US').padStart(7)} files: peak RSS ${peak}`);
  }
  const g = r.growth === null ? 'n/a' : `${fmt(r.growth, 2)}x`;
  lines.push('', `  growth ${g} (limit ${fmt(r.limit, 2)}x): ${r.pass === null ? 'n/a' : r.pass ? 'PASS' : 'FAIL'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const opts = parseOptions(argv, env);
  if (opts === null) {
    process.stdout.write(HELP);
    return 0;
  }
  // Progress goes to stderr so that --json output stays clean on stdout.
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const rules = await builtinRules();
  if (opts.rssCheck) {
    const r = await rssCheck(opts, rules, log);
    if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else printRss(r);
    return 0;
  }
  const results = await benchmark(opts, rules, log);
  if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else printTable(results);
  return 0;
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = err instanceof KeywardenError ? ` [${err.code}]` : '';
    process.stderr.write(`bench: ${errorText(err)}${code}\n`);
    process.exitCode = 2;
  },
);
