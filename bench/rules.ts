// `npm run bench:rules`: what each rule costs. The corpus (bench/corpus.ts, the tree-scan bench's)
// is loaded into memory; the whole pack is timed over it, then each rule alone against a baseline
// pack whose one keyword never occurs (the automaton pass, base64 and percent decoding: the cost
// every pack pays), on the files where the rule's keywords occur or its paths match. A rule's cost
// is its pass minus the baseline: its windows, RE2 runs, checks, parsers and pairing, printed as a
// share of the whole pack's time (the bound is 1% per rule); each rule over the bound alone is then
// timed as the whole pack's gain without it (leave one out: the median of paired passes, beside the
// same comparison of the pack with itself as the noise floor), the verdict. CPU time: on a shared
// machine the minimum (screening) and the paired median (verdict) are the signal. Not counted: a
// rule's keywords' share of the automaton's size, and its hits in decoded (base64, percent) text.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { KeywardenError } from '../errors/error.js';
import { builtinRules } from '../rules/builtin.js';
import type { Rule } from '../rules/schema.js';
import { findKeywords, HitList } from '../scanner/engine/aho.js';
import { type CompiledPack, compilePack } from '../scanner/engine/compile.js';
import { scanBuffer } from '../scanner/engine/engine.js';
import { ensureCorpus, walkFiles } from './corpus.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MB = 1e6;

const HELP = `usage: node dist/bench/rules.js [options]

  --mb MB        corpus size loaded into memory (10^6 bytes; default 20)
  --runs N       timed passes per measurement; the minimum counts (default 5)
  --top N        rules listed, most expensive first (default 20)
  --limit PCT    the per-rule bound, percent of the whole pack's time (default 1)
  --corpus DIR   where corpora are kept (default bench/.corpus, or $KEYWARDEN_BENCH_CORPUS)
  --instructions the leave-one-out verdict in instructions counted by callgrind (valgrind) instead
                 of CPU time: repeatable on a busy machine; ~90 s per flagged rule
  --passes N     with --instructions: passes counted per pack, less the first two (default 7)
  --scan-mb MB   with --instructions: the corpus whose end-to-end scan is the denominator (default
                 200, what npm run bench scans)
  --json         machine-readable output
  -h, --help     this text
`;

interface RuleCost {
  id: string;
  ms: number;
  /** Share of the whole pack's time, percent. */
  percent: number;
  matches: number;
}

type Files = ReadonlyArray<{ path: string; buf: Buffer }>;

/** CPU time of one pass (this process runs one thread here): contention from other work adds little. */
function cpuPass(pack: CompiledPack, files: Files): { ms: number; matches: number } {
  const t0 = process.cpuUsage();
  let n = 0;
  for (const f of files) n += scanBuffer(pack, f.buf, { path: f.path }).length;
  const d = process.cpuUsage(t0);
  return { ms: (d.user + d.system) / 1000, matches: n };
}

/**
 * Minimum CPU time of `pack` and of `base` over `files`, measured alternately so that both see the
 * same machine; one untimed pass first warms the JIT and compiles the RE2 programs met.
 */
function against(
  pack: CompiledPack,
  base: CompiledPack,
  files: Files,
  runs: number,
): { ms: number; baseMs: number; matches: number } {
  cpuPass(pack, files);
  cpuPass(base, files);
  let ms = Number.POSITIVE_INFINITY;
  let baseMs = Number.POSITIVE_INFINITY;
  let matches = 0;
  for (let i = 0; i < runs; i++) {
    const r = cpuPass(pack, files);
    ms = Math.min(ms, r.ms);
    matches = r.matches;
    baseMs = Math.min(baseMs, cpuPass(base, files).ms);
  }
  return { ms, baseMs, matches };
}

/**
 * `a` against `b` as `rounds` pairs of adjacent passes, the order flipped every round so that drift
 * in the machine's speed cancels: the median and quartiles of the pairs' differences (a - b, ms), and
 * `a`'s median pass.
 */
function paired(
  a: CompiledPack,
  b: CompiledPack,
  files: Files,
  rounds: number,
): { median: number; q1: number; q3: number; ms: number } {
  cpuPass(a, files);
  cpuPass(b, files);
  const diffs: number[] = [];
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let ta: number;
    let tb: number;
    if (i % 2 === 0) {
      ta = cpuPass(a, files).ms;
      tb = cpuPass(b, files).ms;
    } else {
      tb = cpuPass(b, files).ms;
      ta = cpuPass(a, files).ms;
    }
    diffs.push(ta - tb);
    times.push(ta);
  }
  const q = (xs: number[], f: number) => {
    const sorted = [...xs].sort((x, y) => x - y);
    return sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))]!;
  };
  return { median: q(diffs, 0.5), q1: q(diffs, 0.25), q3: q(diffs, 0.75), ms: q(times, 0.5) };
}

const run = promisify(execFile);

/** Instructions callgrind counts for one `rules-pass.js` process (`Collected : N` on its stderr). */
async function instructionsOf(corpusDir: string, drop: string | null, passes: number): Promise<number> {
  const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', '--expose-gc'];
  args.push(fileURLToPath(new URL('./rules-pass.js', import.meta.url)), '--corpus', corpusDir, '--passes', String(passes));
  if (drop !== null) args.push('--drop', drop);
  const { stderr } = await run('valgrind', args, { maxBuffer: 16 << 20 });
  const m = /Collected : (\d+)/.exec(stderr);
  if (m === null) throw new KeywardenError('KW_INTERNAL', `callgrind printed no instruction count: ${stderr.slice(-400)}`);
  return Number(m[1]);
}

/**
 * Instructions of one end-to-end `keywarden scan` (every thread: callgrind serialises them), for
 * the denominator the bound names, scan throughput: the engine pass is only part of a scan
 * (walking, reading, threads, reports). The same scan of an empty directory is taken off (Node's boot,
 * loading the CLI and the pack, starting the threads).
 */
async function scanInstructionsOf(dir: string): Promise<number> {
  const bin = join(ROOT, 'bin', 'keywarden.js');
  const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, bin, 'scan', dir];
  args.push('--format', 'json', '--output', '/dev/null', '--no-progress', '--no-ignore');
  const child = await run('valgrind', args, { maxBuffer: 16 << 20 }).catch((err: { code?: number; stderr?: string }) => {
    // Exit 1 is `findings reported`: the corpus holds the bench's planted keys.
    if (err.code === 1 && typeof err.stderr === 'string') return { stderr: err.stderr };
    throw err;
  });
  const m = /Collected : (\d+)/.exec(child.stderr);
  if (m === null) throw new KeywardenError('KW_INTERNAL', `callgrind printed no instruction count: ${child.stderr.slice(-400)}`);
  return Number(m[1]);
}

/** A corpus of the bench's kind (seed 1, from node_modules) under `corpusRoot`, made if missing. */
function benchCorpus(rules: Rule[], corpusRoot: string, sizeMB: number, log: (line: string) => void) {
  return ensureCorpus({
    dir: join(corpusRoot, `${sizeMB}MB`),
    sizeBytes: Math.round(sizeMB * MB),
    seed: 1,
    sourceRoot: join(ROOT, 'node_modules'),
    rules,
    log,
  });
}

/** The corpus whose scan is the instruction verdict's denominator. */
function scanCorpusOf(
  rules: Rule[],
  corpusRoot: string,
  sizeMB: number,
  passBytes: number,
  log: (line: string) => void,
): { dir: string; bytes: number; passBytes: number } {
  const corpus = benchCorpus(rules, corpusRoot, sizeMB, log);
  let bytes = 0;
  for (const f of walkFiles(corpus.dir)) bytes += f.size;
  return { dir: corpus.dir, bytes, passBytes };
}

/**
 * The leave-one-out verdict in instructions, per pass of a warm scan: each pack (the whole pack, the
 * whole pack again for the noise floor, and the whole pack without each rule) is counted over 2 passes
 * and over `passes`; the difference is the cost of `passes - 2` passes without start-up (Node's boot,
 * loading and compiling the pack, the first passes' JIT and RE2 DFA warm-up), which a long scan pays
 * once and whose count varies by several million instructions from one run to the next. A rule's cost
 * is what its absence saves per pass; its start-up share is reported beside it. JIT code is counted like
 * any other; instructions are not time (a cache miss counts as one), so this is the repeatable proxy
 * beside the CPU-time figures, not a replacement for them.
 */

/**
 * Passes counted as start-up: the second pass still tiers functions up (TurboFan compiles on the main
 * thread under --single-threaded), so the warm cost is what passes 3..N add.
 */
const WARM_UP_PASSES = 2;

async function countInstructions(
  corpusDir: string,
  ids: readonly string[],
  passes: number,
  scanCorpus: { dir: string; bytes: number; passBytes: number },
  log: (line: string) => void,
): Promise<{
  passes: number;
  perPass: number;
  scanPerPass: number;
  noise: number;
  rules: Array<{ id: string; instructions: number; percent: number; percentOfScan: number; startup: number }>;
}> {
  const empty = mkdtempSync(join(tmpdir(), 'keywarden-bench-empty-'));
  const packs: Array<string | null> = [null, null, ...ids];
  const jobs: Array<{ name: string; count: () => Promise<number> }> = packs.flatMap((drop) =>
    [WARM_UP_PASSES, passes].map((n) => ({
      name: `${drop ?? 'whole pack'} x${n}`,
      count: () => instructionsOf(corpusDir, drop, n),
    })),
  );
  jobs.push({ name: `keywarden scan of ${scanCorpus.dir}`, count: () => scanInstructionsOf(scanCorpus.dir) });
  jobs.push({ name: 'keywarden scan of an empty directory', count: () => scanInstructionsOf(empty) });
  const results = new Array<number>(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!.count();
      log(`  callgrind ${jobs[i]!.name}: ${results[i]}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(availableParallelism(), 4)) }, worker));
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
  const one = (k: number) => results[2 * k]!;
  const warm = (k: number) => (results[2 * k + 1]! - results[2 * k]!) / (passes - WARM_UP_PASSES);
  const perPass = warm(0);
  // The scan's cost per pass's worth of bytes, on the corpus `npm run bench` scans (a 20 MB scan is
  // mostly start-up and JIT warm-up, which made every rule look a third as costly), less start-up.
  const scanPerPass = ((results[jobs.length - 2]! - results[jobs.length - 1]!) * scanCorpus.passBytes) / scanCorpus.bytes;
  return {
    passes,
    perPass,
    scanPerPass,
    noise: Math.abs(warm(1) - perPass),
    rules: ids.map((id, k) => {
      const instructions = perPass - warm(2 + k);
      return {
        id,
        instructions,
        percent: (100 * instructions) / perPass,
        percentOfScan: (100 * instructions) / scanPerPass,
        startup: one(0) - one(2 + k) - instructions,
      };
    }),
  };
}

/** A rule that never runs: its keyword occurs in no corpus, so a pack of it costs only the baseline. */
const NEVER: Rule = {
  id: 'bench-baseline',
  description: 'baseline',
  provider: 'bench',
  category: 'generic',
  pattern: 'zq9xkw7vbaseline[0-9]{4}',
  secretGroup: 0,
  keywords: ['zq9xkw7vbaseline'],
  confidence: 'low',
  kind: 'credential',
  boundary: 'word',
  placeholderFilter: false,
  examples: ['«zq9xkw7vbaseline0000»'],
  negatives: [],
  references: [],
  supersedes: [],
  tags: [],
};

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mb: { type: 'string', default: '20' },
      runs: { type: 'string', default: '5' },
      top: { type: 'string', default: '20' },
      limit: { type: 'string', default: '1' },
      corpus: { type: 'string' },
      json: { type: 'boolean', default: false },
      instructions: { type: 'boolean', default: false },
      passes: { type: 'string', default: '7' },
      'scan-mb': { type: 'string', default: '200' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const num = (s: string | undefined, what: string): number => {
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0)
      throw new KeywardenError('KW_USAGE', `${what} must be a positive number; got ${JSON.stringify(s)}`);
    return n;
  };
  const sizeMB = num(values.mb, '--mb');
  const runs = Math.round(num(values.runs, '--runs'));
  const top = Math.round(num(values.top, '--top'));
  const limit = num(values.limit, '--limit');
  const passes = Math.round(num(values.passes, '--passes'));
  if (values.instructions && passes <= WARM_UP_PASSES)
    throw new KeywardenError('KW_USAGE', `--passes must be over ${WARM_UP_PASSES}: the first ${WARM_UP_PASSES} are start-up`);
  const log = (line: string) => process.stderr.write(`${line}\n`);

  const rules = await builtinRules();
  const corpusRoot = resolve(values.corpus ?? env.KEYWARDEN_BENCH_CORPUS ?? join(ROOT, 'bench', '.corpus'));
  const corpus = benchCorpus(rules, corpusRoot, sizeMB, log);
  const files: Array<{ path: string; buf: Buffer }> = [];
  let bytes = 0;
  for (const f of walkFiles(corpus.dir)) {
    const buf = readFileSync(f.abs);
    files.push({ path: f.rel, buf });
    bytes += buf.length;
  }
  log(`${files.length} files, ${(bytes / MB).toFixed(1)} MB in memory; ${rules.length} rules, ${runs} runs each`);

  const full = compilePack(rules);
  const base = compilePack([NEVER]);
  const whole = against(full, base, files, runs);
  log(
    `whole pack ${whole.ms.toFixed(1)} ms CPU (${(bytes / MB / (whole.ms / 1000)).toFixed(1)} MB/s), baseline ${whole.baseMs.toFixed(1)} ms`,
  );

  // Which files each rule can touch: those where one of its keywords occurs (the full pack's automaton
  // says, case folded as the engine folds) or whose path opens its gate. Elsewhere a rule costs
  // nothing beyond the baseline, so each rule is timed on its own files only.
  const rulesOfKeyword = full.keywordRules;
  const filesOf: Array<Set<number>> = rules.map(() => new Set());
  const hits = new HitList();
  files.forEach((f, fi) => {
    findKeywords(full.automaton, f.buf, hits);
    for (let h = 0; h < hits.length; h++) for (const ri of rulesOfKeyword[hits.ids[h]!]!) filesOf[ri]!.add(fi);
    for (const ri of full.gatedRules) if (full.rules[ri]!.gate!.some((re) => re.test(f.path))) filesOf[ri]!.add(fi);
  });

  const costs: RuleCost[] = [];
  rules.forEach((rule, i) => {
    const own = [...filesOf[i]!].map((fi) => files[fi]!);
    if (own.length === 0) {
      costs.push({ id: rule.id, ms: 0, percent: 0, matches: 0 });
      return;
    }
    const r = against(compilePack([rule]), base, own, runs);
    const ms = Math.max(0, r.ms - r.baseMs);
    costs.push({ id: rule.id, ms, percent: (100 * ms) / whole.ms, matches: r.matches });
    if ((i + 1) % 50 === 0) log(`  ${i + 1}/${rules.length} rules timed`);
  });
  costs.sort((a, b) => b.ms - a.ms);
  const over = costs.filter((c) => c.percent > limit);
  const sum = costs.reduce((s, c) => s + c.ms, 0);

  // Alone, a rule also pays what every rule of a real pack shares (the hit loop's per-file set-up,
  // window bookkeeping), so the screening above overstates it. What the rule costs the scan is what
  // the whole pack gains without it: for each rule the screening flags, the whole pack against the
  // whole pack minus that rule on every file, as paired passes (a 1% difference is ~1 ms, the noise of
  // one pass on a shared machine is several): the median of the pairs' differences is the verdict,
  // and the same comparison of the whole pack against itself shows the noise floor.
  const rounds = Math.max(15, runs * 3);
  const noise = paired(full, compilePack(rules), files, rounds);
  const leaveOneOut: Array<{ id: string; ms: number; percent: number; q1: number; q3: number }> = [];
  for (const c of over) {
    const without = compilePack(rules.filter((r) => r.id !== c.id));
    const d = paired(full, without, files, rounds);
    leaveOneOut.push({ id: c.id, ms: d.median, percent: (100 * d.median) / d.ms, q1: d.q1, q3: d.q3 });
  }
  const counted = values.instructions
    ? await countInstructions(
        corpus.dir,
        over.map((c) => c.id),
        passes,
        scanCorpusOf(rules, corpusRoot, num(values['scan-mb'], '--scan-mb'), bytes, log),
        log,
      )
    : null;
  const overWhole = (counted?.rules ?? leaveOneOut).filter((c) => c.percent > limit);
  // The bound is on scan throughput: with instructions counted, the verdict is each rule's
  // share of an end-to-end scan; its share of the engine pass alone (stricter) is printed beside it.
  const overScan = counted?.rules.filter((c) => c.percentOfScan > limit) ?? null;

  const result = {
    corpus: { mb: bytes / MB, files: files.length },
    rules: rules.length,
    runs,
    wholePackMs: whole.ms,
    wholePackMBps: bytes / MB / (whole.ms / 1000),
    baselineMs: whole.baseMs,
    sumOfRuleCostsMs: sum,
    limitPercent: limit,
    max: costs[0] ?? null,
    overLimit: over,
    leaveOneOutRounds: rounds,
    noiseFloor: { ms: noise.median, q1: noise.q1, q3: noise.q3 },
    leaveOneOut,
    instructions: counted,
    overLimitInWholePack: overWhole,
    overLimitInScan: overScan,
    top: costs.slice(0, top),
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `per-rule cost: ${result.corpus.mb.toFixed(1)} MB in memory, ${rules.length} rules, minimum of ${runs} runs`,
    `whole pack ${whole.ms.toFixed(1)} ms CPU (${result.wholePackMBps.toFixed(1)} MB/s, 1 thread); baseline (automaton + decoding) ${whole.baseMs.toFixed(1)} ms; rules' own costs sum to ${sum.toFixed(1)} ms`,
    '',
    `${'rule'.padEnd(40)}  ${'ms'.padStart(7)}  ${'% of pack'.padStart(9)}  matches`,
  ];
  for (const c of result.top) {
    lines.push(`${c.id.padEnd(40)}  ${c.ms.toFixed(2).padStart(7)}  ${c.percent.toFixed(2).padStart(8)}%  ${c.matches}`);
  }
  lines.push(
    '',
    over.length === 0
      ? `alone: every rule within ${limit}% of the pack`
      : `alone: ${over.length} rule(s) over ${limit}% (${over.map((c) => c.id).join(', ')})`,
  );
  if (leaveOneOut.length > 0) {
    const row = (name: string, ms: number, percent: number, q1: number, q3: number) =>
      `${name.padEnd(40)}  ${ms.toFixed(2).padStart(7)}  ${percent.toFixed(2).padStart(8)}%  ${q1.toFixed(2)} .. ${q3.toFixed(2)}`;
    lines.push(
      '',
      `whole pack minus the rule, median of ${rounds} paired passes`,
      `${'rule'.padEnd(40)}  ${'ms'.padStart(7)}  ${'% of pack'.padStart(9)}  quartiles (ms)`,
      row('(noise floor: the pack against itself)', noise.median, (100 * noise.median) / noise.ms, noise.q1, noise.q3),
    );
    for (const c of leaveOneOut) lines.push(row(c.id, c.ms, c.percent, c.q1, c.q3));
  }
  if (counted !== null) {
    lines.push(
      '',
      `whole pack minus the rule, in instructions per warm pass (callgrind, ${counted.passes} passes less ${WARM_UP_PASSES}): the pack costs ${(counted.perPass / 1e6).toFixed(1)} M per pass`,
      `end to end, \`keywarden scan\` of the ${values['scan-mb']} MB corpus costs ${(counted.scanPerPass / 1e6).toFixed(1)} M per pass's worth of bytes (less an empty scan's start-up): the engine pass is ${((100 * counted.perPass) / counted.scanPerPass).toFixed(0)}% of it`,
      `${'rule'.padEnd(40)}  ${'M instr.'.padStart(9)}  ${'% of pack'.padStart(9)}  ${'% of scan'.padStart(9)}  start-up, once (M)`,
      `${'(noise floor: the pack run twice)'.padEnd(40)}  ${(counted.noise / 1e6).toFixed(2).padStart(9)}  ${((100 * counted.noise) / counted.perPass).toFixed(2).padStart(8)}%  ${((100 * counted.noise) / counted.scanPerPass).toFixed(2).padStart(8)}%`,
    );
    for (const c of counted.rules)
      lines.push(
        `${c.id.padEnd(40)}  ${(c.instructions / 1e6).toFixed(2).padStart(9)}  ${c.percent.toFixed(2).padStart(8)}%  ${c.percentOfScan.toFixed(2).padStart(8)}%  ${(c.startup / 1e6).toFixed(1).padStart(8)}`,
      );
  }
  lines.push('', `verdict by ${counted !== null ? 'instructions' : 'CPU time'}:`);
  if (overScan !== null)
    lines.push(
      overScan.length === 0
        ? `every rule costs the scan within ${limit}%: PASS`
        : `${overScan.length} rule(s) cost the scan over ${limit}%: FAIL (${overScan.map((c) => c.id).join(', ')})`,
    );
  lines.push(
    overWhole.length === 0
      ? `every rule costs the engine pass within ${limit}%${overScan !== null ? ' (stricter)' : ''}: PASS`
      : `${overWhole.length} rule(s) cost the engine pass over ${limit}%${overScan !== null ? ' (stricter than the bound)' : ''}: ${overScan !== null ? 'over' : 'FAIL'} (${overWhole.map((c) => c.id).join(', ')})`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = err instanceof KeywardenError ? ` [${err.code}]` : '';
    process.stderr.write(`bench:rules: ${err instanceof Error ? err.message : String(err)}${code}\n`);
    process.exitCode = 2;
  },
);
