// Benchmark corpus: the project's own node_modules text files copied into copy-NNNN/ until the tree
// reaches the asked size, with generated secrets appended to seeded-random files. Streamed file by
// file (never held in memory) and reused while its manifest's parameters still match.
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { KeywardenError } from '../errors/error.js';
import { expandTemplate, seededRng } from '../rules/examples.js';
import type { Rule } from '../rules/schema.js';

/** Bump when the layout or the planting changes, so old corpora are regenerated. */
const CORPUS_FORMAT = 1;
/** Extensions copied: source and the text that ships beside it. `.map` is left out (one long JSON line). */
const TEXT_EXTENSIONS = new Set([
  '.js',
  '.mjs',
  '.cjs',
  '.jsx',
  '.ts',
  '.mts',
  '.cts',
  '.tsx',
  '.json',
  '.md',
  '.markdown',
  '.yml',
  '.yaml',
  '.txt',
  '.html',
  '.css',
]);
/** Larger files are skipped: a real tree's source files are small (~5.5 KB on average: docs/benchmarks.md, design measurements). */
const MAX_SOURCE_FILE = 1_000_000;
/** As git does: a NUL in the first 8,000 bytes makes a file binary. */
const BINARY_SNIFF = 8000;
/** 1,000 secrets in 200 MB, scaled with the size (at least 50). */
const SECRETS_PER_MB = 5;

export interface CorpusOptions {
  /** The corpus directory (its manifest is written beside it as `<dir>.manifest.json`). */
  dir: string;
  /** Target size in bytes (MB = 10^6); the corpus is the first whole file at or past it. */
  sizeBytes: number;
  seed: number;
  /** Where the source text comes from: the project's node_modules. */
  sourceRoot: string;
  rules: readonly Rule[];
  log?: (line: string) => void;
}

/** What a generated corpus holds. Never contains secret text. */
export interface CorpusManifest {
  format: number;
  params: {
    sizeBytes: number;
    seed: number;
    sourceFiles: number;
    sourceBytes: number;
    /** Digest of the rule ids and example templates the secrets were generated from. */
    rulesDigest: string;
  };
  files: number;
  bytes: number;
  copies: number;
  secrets: { total: number; byRule: Record<string, number> };
  generatedAt: string;
  generationMs: number;
}

export interface CorpusInfo {
  dir: string;
  manifest: CorpusManifest;
  reused: boolean;
}

interface SourceFile {
  /** Relative path inside the corpus copy (nested `node_modules` renamed so no default exclude drops it). */
  rel: string;
  abs: string;
  size: number;
}

export function manifestPath(dir: string): string {
  return `${dir.replace(/\/+$/, '')}.manifest.json`;
}

/** Returns the corpus at `opts.dir`, generating it unless a manifest with the same parameters exists. */
export function ensureCorpus(opts: CorpusOptions): CorpusInfo {
  const log = opts.log ?? (() => {});
  const sources = listSources(opts.sourceRoot);
  if (sources.length === 0) {
    throw new KeywardenError('KW_SOURCE_READ', `no text files under ${opts.sourceRoot}: run npm install first`);
  }
  const params: CorpusManifest['params'] = {
    sizeBytes: opts.sizeBytes,
    seed: opts.seed,
    sourceFiles: sources.length,
    sourceBytes: sources.reduce((s, f) => s + f.size, 0),
    rulesDigest: rulesDigest(opts.rules),
  };
  const existing = readManifest(opts.dir);
  if (
    existing &&
    existing.format === CORPUS_FORMAT &&
    JSON.stringify(existing.params) === JSON.stringify(params) &&
    existsSync(opts.dir)
  ) {
    return { dir: opts.dir, manifest: existing, reused: true };
  }
  log(
    `generating ${(opts.sizeBytes / 1e6).toFixed(0)} MB corpus in ${opts.dir} (from ${sources.length} files, ${(params.sourceBytes / 1e6).toFixed(1)} MB)`,
  );
  const manifest = generate(opts, sources, params);
  writeFileSync(manifestPath(opts.dir), `${JSON.stringify(manifest, null, 2)}\n`);
  log(
    `generated ${manifest.files} files, ${(manifest.bytes / 1e6).toFixed(1)} MB, ${manifest.secrets.total} secrets in ${(manifest.generationMs / 1000).toFixed(1)} s`,
  );
  return { dir: opts.dir, manifest, reused: false };
}

function readManifest(dir: string): CorpusManifest | null {
  try {
    return JSON.parse(readFileSync(manifestPath(dir), 'utf8')) as CorpusManifest;
  } catch {
    return null;
  }
}

function rulesDigest(rules: readonly Rule[]): string {
  const h = createHash('sha256');
  for (const r of rules) h.update(JSON.stringify([r.id, r.checksum ?? null, r.examples]));
  return h.digest('hex').slice(0, 16);
}

/** Sorted, so the same node_modules always gives the same corpus. */
function listSources(root: string): SourceFile[] {
  const out: SourceFile[] = [];
  const sniff = Buffer.alloc(BINARY_SNIFF);
  const walk = (absDir: string, relDir: string) => {
    let names: string[];
    try {
      names = readdirSync(absDir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      // Hidden entries (.bin, .cache, .package-lock.json) are skipped: scanners treat them differently.
      if (name.startsWith('.')) continue;
      const abs = join(absDir, name);
      const st = lstatSync(abs);
      const rel = relDir === '' ? name : `${relDir}/${name === 'node_modules' ? 'nm' : name}`;
      if (st.isDirectory()) walk(abs, rel);
      else if (
        st.isFile() &&
        st.size > 0 &&
        st.size <= MAX_SOURCE_FILE &&
        TEXT_EXTENSIONS.has(extension(name)) &&
        !isBinary(abs, sniff)
      ) {
        out.push({ rel, abs, size: st.size });
      }
    }
  };
  walk(root, '');
  return out;
}

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot).toLowerCase();
}

function isBinary(path: string, sniff: Buffer): boolean {
  const fd = openSync(path, 'r');
  try {
    const n = readSync(fd, sniff, 0, sniff.length, 0);
    return sniff.subarray(0, n).includes(0);
  } finally {
    closeSync(fd);
  }
}

/** Removes a previous corpus only if it looks like one of ours (copy-NNNN/ entries only). */
function clearCorpusDir(dir: string): void {
  if (!existsSync(dir)) return;
  const foreign = readdirSync(dir).filter((n) => !/^copy-\d{4}$/.test(n));
  if (foreign.length > 0) {
    throw new KeywardenError(
      'KW_USAGE',
      `${dir} holds files that are not a benchmark corpus (${foreign.slice(0, 3).join(', ')}); pick another --corpus`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

function generate(opts: CorpusOptions, sources: SourceFile[], params: CorpusManifest['params']): CorpusManifest {
  const started = performance.now();
  rmSync(manifestPath(opts.dir), { force: true });
  clearCorpusDir(opts.dir);

  // Plan first (pure arithmetic over sizes) so the planted files can be drawn before copying.
  let planned = 0;
  let totalFiles = 0;
  while (planned < opts.sizeBytes) {
    planned += sources[totalFiles % sources.length]!.size;
    totalFiles++;
  }
  const wanted = Math.max(50, Math.round((opts.sizeBytes / 1e6) * SECRETS_PER_MB));
  // A different stream from the secrets' rng (same algorithm, same seed would correlate them).
  const pick = seededRng(opts.seed ^ 0x9e3779b9);
  const plant = new Map<number, number>(); // file index → secrets appended to it
  for (let i = 0; i < wanted; i++) {
    const f = Math.floor(pick() * totalFiles);
    plant.set(f, (plant.get(f) ?? 0) + 1);
  }

  const secretRules = opts.rules.filter((r) => r.examples.length > 0);
  const rng = seededRng(opts.seed);
  const byRule: Record<string, number> = {};
  let planted = 0;
  const made = new Set<string>();
  let bytes = 0;
  let copies = 0;
  for (let i = 0; i < totalFiles; i++) {
    const src = sources[i % sources.length]!;
    const copy = Math.floor(i / sources.length) + 1;
    copies = copy;
    const dst = join(opts.dir, `copy-${String(copy).padStart(4, '0')}`, src.rel);
    const parent = dirname(dst);
    if (!made.has(parent)) {
      mkdirSync(parent, { recursive: true });
      made.add(parent);
    }
    const count = plant.get(i) ?? 0;
    if (count === 0 || secretRules.length === 0) {
      copyFileSync(src.abs, dst);
      bytes += src.size;
      continue;
    }
    const lines: string[] = [];
    for (let k = 0; k < count; k++) {
      const rule = secretRules[Math.floor(pick() * secretRules.length)]!;
      const template = rule.examples[Math.floor(pick() * rule.examples.length)]!;
      const { text } = expandTemplate(template, { ...(rule.checksum ? { checksum: rule.checksum } : {}), rng });
      lines.push(text);
      byRule[rule.id] = (byRule[rule.id] ?? 0) + 1;
      planted++;
    }
    const body = readFileSync(src.abs);
    const sep = body.length > 0 && body[body.length - 1] !== 0x0a ? '\n' : '';
    const out = Buffer.concat([body, Buffer.from(`${sep}${lines.join('\n')}\n`)]);
    writeFileSync(dst, out);
    bytes += out.length;
  }

  return {
    format: CORPUS_FORMAT,
    params,
    files: totalFiles,
    bytes,
    copies,
    secrets: { total: planted, byRule },
    generatedAt: new Date().toISOString(),
    generationMs: Math.round(performance.now() - started),
  };
}

/** Every file under `dir`, in sorted order (for the page-cache warm-up and the in-memory engine run). */
export function* walkFiles(dir: string): Generator<{ abs: string; rel: string; size: number }> {
  const stack: Array<[string, string]> = [[dir, '']];
  while (stack.length > 0) {
    const [absDir, relDir] = stack.pop()!;
    const names = readdirSync(absDir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? 1 : -1));
    for (const d of names) {
      const abs = join(absDir, d.name);
      const rel = relDir === '' ? d.name : `${relDir}/${d.name}`;
      if (d.isDirectory()) stack.push([abs, rel]);
      else if (d.isFile()) yield { abs, rel, size: lstatSync(abs).size };
    }
  }
}
