// Git scans: full history (each unique blob scanned once, findings attributed to the earliest commit
// that introduced the blob, later ones kept as occurrences under the same fingerprint), a PR range
// (head-side added lines of merge-base..head) and the index (staged changes, for a pre-commit hook).
import type { Finding, Occurrence } from '../model/finding.js';
import type { GitLocation, GitProvenance } from '../model/provenance.js';
import type { Rule } from '../rules/schema.js';
import { type CompiledPack, compilePack, type GlobalAllowlist } from './engine/compile.js';
import { fingerprint } from './fingerprint.js';
import { findingsIn, matchChunk, type PipelineOptions, placed, type ScanResult, scanChunk, scanEvent } from './pipeline.js';
import type { ScanStats } from './report.js';
import { openBlobSource } from './sources/git/cat-file.js';
import { type AddedLines, addedLines, addedLinesInCommit, changedFiles, touchesAdded } from './sources/git/diff.js';
import { HistorySource, place } from './sources/git/history.js';
import { type CommitMeta, type CommitRecord, commitMetas, subjectOf } from './sources/git/log.js';
import { blameLine, type GitRepo, mergeBase, refTips, resolveCommit, secretsPresentAt, shallowInfo } from './sources/git/repo.js';
import type { Chunk } from './sources/types.js';
import { addStats, emptyStats } from './stats.js';

export interface GitScanOptions {
  rules: Rule[];
  globalAllow: GlobalAllowlist;
  fingerprintKey: Buffer;
  showSecrets: boolean;
  /** Blobs larger than this (bytes) are counted as `tooLarge` and not read into memory. */
  maxFileSize: number;
}

export interface HistoryScanOptions extends GitScanOptions {
  /** Limit to this ref's history (default: every ref). */
  branch?: string;
  /** Commits whose ancestry is already scanned (`--since-commit`, the last incremental run's tips). */
  exclude?: readonly string[];
}

export interface GitScanResult extends ScanResult {
  /**
   * In order of introduction; each finding's occurrences introducer first (then by path, line,
   * column), every occurrence with git provenance.
   */
  findings: Finding[];
  /** Commits walked. */
  commits: number;
  /** Ref tips the scan started from (`refname → sha`): what an incremental state records. */
  tips: Map<string, string>;
  /** Things the user must know but that are not errors (a shallow clone). */
  warnings: string[];
}

/** Provenance of content that is staged but not committed yet. */
export const STAGED_COMMIT = '0000000000000000000000000000000000000000';

/** One occurrence placed in history: the finding it belongs to and its commit's log position (higher: older). */
interface Located {
  finding: Finding;
  occurrence: Occurrence;
  order: number;
}

/**
 * Blobs are scanned without their path (path allowlists apply per place they were seen, below) and
 * with their secrets (a range scan checks them against the base; `reveal` strips them).
 */
function blobPipeline(opts: GitScanOptions): PipelineOptions {
  return { fingerprintKey: opts.fingerprintKey, showSecrets: true, binary: 'skip', pathAllowlists: false };
}

export async function scanHistory(repo: GitRepo, opts: HistoryScanOptions): Promise<GitScanResult> {
  const started = performance.now();
  const warnings = await shallowWarnings(repo);
  const tips = await refTips(repo, opts.branch);
  const exclude = opts.exclude ? await Promise.all(opts.exclude.map((r) => resolveCommit(repo, r))) : [];
  const pack = compilePack(opts.rules, opts.globalAllow);
  const walk = await walkHistory(repo, pack, opts, [...new Set(tips.values())], exclude);
  walk.located.push(...scanRefNames(pack, opts, tips, walk.metaOf));
  const findings = reveal(groupByFingerprint(walk.located), opts.showSecrets);
  walk.stats.durationMs = Math.round(performance.now() - started);
  return { findings, stats: walk.stats, commits: walk.commits, tips, warnings };
}

interface Walk {
  located: Located[];
  stats: ScanStats;
  commits: number;
  /** A walked commit's metadata as kept (redacted) and its log position. */
  metaOf: (sha: string) => { meta: CommitMeta; order: number } | undefined;
}

/** The history source (scanner/sources/git/history.ts): each blob scanned once, its findings placed at every (commit, path) that introduced it. */
async function walkHistory(
  repo: GitRepo,
  pack: CompiledPack,
  opts: GitScanOptions,
  include: string[],
  exclude: string[],
): Promise<Walk> {
  const stats = emptyStats();
  const pipe = blobPipeline(opts);
  const located: Located[] = [];
  const orders = new Map<string, number>();
  const onCommit = (c: CommitRecord, order: number): CommitMeta => {
    const scanned = scanCommitMetadata(pack, pipe, c, order);
    located.push(...scanned.located);
    orders.set(c.sha, order);
    return scanned.meta;
  };
  const source = new HistorySource(repo, { include, exclude }, { maxFileSize: opts.maxFileSize, onCommit });
  const blobFindings = new Map<string, Finding[]>();
  for await (const ev of source) {
    const found = scanEvent(pack, ev, pipe, stats);
    if (found.length > 0 && ev.kind === 'chunk') blobFindings.set(ev.chunk.id!, found);
  }
  for (const a of source.appearances(new Set(blobFindings.keys()))) {
    for (const f of blobFindings.get(a.id)!) {
      if (pathAllowed(pack, f.ruleId, a.provenance.path) || gateShut(pack, f.ruleId, a.provenance.path)) continue;
      for (const occ of f.occurrences) located.push({ finding: f, occurrence: placed(occ, a.provenance), order: a.order });
    }
  }
  located.push(...(await regatedBlobs(repo, pack, opts, source)));
  const metaOf = (sha: string) => {
    const meta = source.commitMeta(sha);
    const order = orders.get(sha);
    return meta && order !== undefined ? { meta, order } : undefined;
  };
  return { located, stats, commits: source.commits, metaOf };
}

/**
 * A path-gated rule's finding (a keystore by its path, a `.pgpass` line) belongs only where the path
 * opens the rule's gate, as in a tree scan: a blob scanned at `release.keystore` and also committed
 * as `notes.bin` is reported at the first and not at the second.
 */
function gateShut(pack: CompiledPack, ruleId: string, path: string): boolean {
  const gate = pack.rules.find((r) => r.rule.id === ruleId)?.gate;
  return gate != null && !gate.some((re) => re.test(path));
}

/**
 * Blobs scanned at a path that opened no gate but committed elsewhere at a path that opens one (a
 * file renamed to `*.p12`): read once more and scanned under that path, keeping only the gated
 * rules' findings (the rest were placed from the first scan). Rare: one RE2 test per distinct path.
 */
async function regatedBlobs(repo: GitRepo, pack: CompiledPack, opts: GitScanOptions, source: HistorySource): Promise<Located[]> {
  const gateAny = pack.gateAny;
  if (gateAny === null) return [];
  const wanted = new Map<string, Array<{ provenance: GitProvenance; order: number }>>();
  for (const a of source.regated((path) => gateAny.test(path))) {
    const key = `${a.id}\0${a.provenance.path}`;
    const list = wanted.get(key);
    if (list) list.push(a);
    else wanted.set(key, [a]);
  }
  if (wanted.size === 0) return [];
  const blobs = openBlobSource(repo, opts.maxFileSize);
  for (const [key, list] of wanted) blobs.request(key.slice(0, key.indexOf('\0')), list[0]!.provenance);
  blobs.finish();
  const pipe = blobPipeline(opts);
  const located: Located[] = [];
  for await (const ev of blobs) {
    if (ev.kind !== 'chunk') continue; // counted (and reported) by the first read
    const prov = ev.chunk.provenance as GitProvenance;
    const r = scanChunk(pack, ev.chunk, pipe);
    if (r.kind !== 'scanned') continue;
    for (const a of wanted.get(`${ev.chunk.id}\0${prov.path}`) ?? []) {
      for (const f of r.findings) {
        const rule = pack.rules.find((x) => x.rule.id === f.ruleId);
        if (rule?.gate == null || pathAllowed(pack, f.ruleId, a.provenance.path) || gateShut(pack, f.ruleId, a.provenance.path))
          continue;
        for (const occ of f.occurrences) located.push({ finding: f, occurrence: placed(occ, a.provenance), order: a.order });
      }
    }
  }
  return located;
}

// ---- commit metadata: scanned content with its own provenance -----------------------------------

/**
 * Scans one commit's metadata, its whole message and its author (`Name <email>`), as content of its
 * own (`location` in the git provenance). Returns the occurrences found and the commit's metadata
 * redacted of every secret found in any of it: the only metadata later placed in a provenance, so no
 * secret of a message, an author or an email reaches a finding, the store or a report.
 */
export function scanCommitMetadata(
  pack: CompiledPack,
  pipe: PipelineOptions,
  c: CommitRecord,
  order: number,
): { meta: CommitMeta; located: Located[] } {
  const { body, ...meta } = c;
  const parts: Array<[GitLocation, string]> = [
    ['message', body],
    ['author', `${c.author} <${c.email}>`],
  ];
  const found: Array<{ location: GitLocation; findings: Finding[] }> = [];
  const cuts: Cut[] = [];
  for (const [location, text] of parts) {
    const r = scanMetadataText(pack, pipe, text, { ...place(meta, ''), location });
    if (r.findings.length > 0) found.push({ location, findings: r.findings });
    cuts.push(...r.cuts);
  }
  if (found.length === 0) return { meta, located: [] };
  const clean: CommitMeta = {
    sha: meta.sha,
    author: redactText(meta.author, cuts),
    email: redactText(meta.email, cuts),
    date: meta.date,
    // Derived from the redacted message, so a secret split over the subject's lines goes too.
    message: subjectOf(redactText(body, cuts)),
  };
  const located: Located[] = [];
  for (const { location, findings } of found)
    for (const finding of findings)
      for (const occ of finding.occurrences)
        located.push({ finding, occurrence: placed(occ, { ...place(clean, ''), location }), order });
  return { meta: clean, located };
}

/** Ref names (branches, tags) are text a user typed too: each tip's name scanned, placed at the tip. */
function scanRefNames(
  pack: CompiledPack,
  opts: GitScanOptions,
  tips: ReadonlyMap<string, string>,
  metaOf: Walk['metaOf'],
): Located[] {
  const pipe = blobPipeline(opts);
  const located: Located[] = [];
  for (const [ref, sha] of tips) {
    const at = metaOf(sha);
    if (!at) continue; // a tip the walk excluded (already scanned)
    const r = scanMetadataText(pack, pipe, ref, { ...place(at.meta, ''), location: 'ref', ref });
    if (r.findings.length === 0) continue;
    const provenance: GitProvenance = { ...place(at.meta, ''), location: 'ref', ref: redactText(ref, r.cuts) };
    for (const finding of r.findings)
      for (const occ of finding.occurrences) located.push({ finding, occurrence: placed(occ, provenance), order: at.order });
  }
  return located;
}

/** A piece of metadata text to cut out (a secret, or the encoded text it was decoded from) and its marker. */
interface Cut {
  text: string;
  marker: string;
}

/**
 * Findings in one piece of metadata text (no path: path-gated rules stay shut, no path allowlist
 * applies), and what redaction must cut: each match's text as written and its secret, marked
 * `[REDACTED:<rule-id>:kw1:<first 6 hex>]` as log redaction marks it (correlatable, not reversible).
 */
function scanMetadataText(
  pack: CompiledPack,
  pipe: PipelineOptions,
  text: string,
  provenance: GitProvenance,
): { findings: Finding[]; cuts: Cut[] } {
  if (text === '') return { findings: [], cuts: [] };
  const chunk: Chunk = { bytes: Buffer.from(text, 'utf8'), provenance, offset: 0, startLine: 1 };
  const matches = matchChunk(pack, chunk, { pathAllowlists: false });
  if (matches.length === 0) return { findings: [], cuts: [] };
  const cuts: Cut[] = [];
  for (const m of matches) {
    const id = pack.rules[m.ruleIndex]!.rule.id;
    const marker = `[REDACTED:${id}:${fingerprint(pipe.fingerprintKey, id, m.secret).slice(0, 10)}]`;
    cuts.push({ text: m.secret, marker }, { text: chunk.bytes.toString('utf8', m.start, m.end), marker });
  }
  return { findings: findingsIn(pack, chunk, matches, pipe), cuts };
}

/** `text` with every occurrence of every cut replaced by its marker; longest first, so one inside another goes whole. */
export function redactText(text: string, cuts: readonly Cut[]): string {
  const ordered = cuts.filter((c) => c.text !== '').sort((a, b) => b.text.length - a.text.length);
  let out = text;
  for (const c of ordered) if (out.includes(c.text)) out = out.split(c.text).join(c.marker);
  return out;
}

/** True when a global or the rule's own path allowlist excludes this path. */
function pathAllowed(pack: CompiledPack, ruleId: string, path: string): boolean {
  if (pack.globalPathAllow.some((re) => re.test(path))) return true;
  const rule = pack.rules.find((r) => r.rule.id === ruleId);
  return rule?.pathAllow.some((re) => re.test(path)) === true;
}

/** One finding per fingerprint: oldest occurrence (the introducer) first; findings oldest first. */
function groupByFingerprint(located: Located[]): Finding[] {
  const groups = new Map<string, Located[]>();
  for (const l of located) {
    const g = groups.get(l.finding.fingerprint);
    if (g) g.push(l);
    else groups.set(l.finding.fingerprint, [l]);
  }
  const pathOfL = (l: Located) => (l.occurrence.provenance as GitProvenance).path;
  const ordered = [...groups.values()].map((g) =>
    g.sort(
      (a, b) =>
        b.order - a.order ||
        cmp(pathOfL(a), pathOfL(b)) ||
        a.occurrence.span.line - b.occurrence.span.line ||
        a.occurrence.span.column - b.occurrence.span.column,
    ),
  );
  ordered.sort(
    (a, b) =>
      b[0]!.order - a[0]!.order || cmp(pathOfL(a[0]!), pathOfL(b[0]!)) || a[0]!.occurrence.span.line - b[0]!.occurrence.span.line,
  );
  return ordered.map((g) => ({ ...g[0]!.finding, occurrences: g.map((l) => l.occurrence) }));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function shallowWarnings(repo: GitRepo): Promise<string[]> {
  const info = await shallowInfo(repo);
  if (!info.shallow) return [];
  return [
    `${repo.cwd} is a shallow clone: history is incomplete (HEAD reaches ${info.depth} commit${info.depth === 1 ? '' : 's'}); ` +
      'secrets in older commits are not seen. Run `git fetch --unshallow` for a full scan.',
  ];
}

// ---- ranges and the index --------------------------------------------------------------------

export interface DiffScanOptions extends GitScanOptions {
  base: string;
  head: string;
}

/**
 * The PR view: what merge-base(base, head)..head adds, at head-side path and line, each attributed
 * (via blame) to the commit in the range that added the line. Secrets added by one commit of the
 * range and removed by a later one are reported too, at the commit and path that added them.
 */
export async function scanDiff(repo: GitRepo, opts: DiffScanOptions): Promise<GitScanResult> {
  const started = performance.now();
  const warnings = await shallowWarnings(repo);
  const head = await resolveCommit(repo, opts.head);
  const base = await resolveCommit(repo, opts.base);
  const mb = await mergeBase(repo, base, head);
  if (mb === null) warnings.push(`${opts.base} and ${opts.head} share no history: scanning all of ${opts.head}`);
  const pack = compilePack(opts.rules, opts.globalAllow);
  const diffArgs = mb === null ? [EMPTY_TREE, head] : [mb, head];
  const { changes: headSide, stats } = await scanChanges(repo, pack, opts, diffArgs);

  // Attribute each head-side line to the commit in the range that wrote it.
  const range = mb === null ? head : `${mb}..${head}`;
  const blamed = await Promise.all(headSide.map((c) => blameLine(repo, range, c.path, c.occurrence.span.line)));
  const metas = await commitMetas(repo, [head, ...blamed.filter((s): s is string => s !== null)]);

  // Commits of the range, for secrets that no longer reach head, and their metadata (scanned, and
  // redacted before any provenance carries it).
  const walk = await walkHistory(repo, pack, opts, [head], mb === null ? [] : [mb]);
  const pipe = blobPipeline(opts);
  const cleanMeta = (sha: string): CommitMeta => {
    const record = metas.get(sha) ?? metas.get(head)!;
    return walk.metaOf(record.sha)?.meta ?? scanCommitMetadata(pack, pipe, record, 0).meta;
  };
  const located: Located[] = headSide.map((c, i) => ({
    finding: c.finding,
    occurrence: placed(c.occurrence, place(cleanMeta(blamed[i] ?? head), c.path)),
    order: Number.MAX_SAFE_INTEGER - i,
  }));
  const seen = new Set(headSide.map((c) => c.finding.fingerprint));
  const lineCache = new Map<string, AddedLines>();
  let commits = walk.commits;
  for (const l of walk.located) {
    const p = l.occurrence.provenance;
    if (p.kind === 'git' && p.location !== undefined) {
      located.push(l); // a range commit's own message or author: new with the range
      continue;
    }
    if (seen.has(l.finding.fingerprint) || p.kind !== 'git') continue;
    let added = lineCache.get(p.commit);
    if (!added) {
      added = await addedLinesInCommit(repo, p.commit);
      lineCache.set(p.commit, added);
    }
    if (touchesAdded(added.get(p.path), l.occurrence.span.line, l.occurrence.span.endLine)) located.push(l);
  }
  if (commits === 0 && headSide.length > 0) commits = 1;
  addStats(stats, walk.stats);
  stats.durationMs = Math.round(performance.now() - started);
  // Rename detection can miss a moved and edited file, whose old lines then look added: drop any
  // secret the merge base already held anywhere.
  const before =
    mb === null
      ? new Set<string>()
      : await secretsPresentAt(
          repo,
          mb,
          located.map((l) => l.finding.secret ?? ''),
        );
  const introduced = located.filter(
    (l) => !before.has(l.finding.secret ?? '') || (l.occurrence.provenance as GitProvenance).location !== undefined,
  );
  return {
    findings: reveal(groupByFingerprint(introduced), opts.showSecrets),
    stats,
    commits,
    tips: new Map([[opts.head, head]]),
    warnings,
  };
}

export interface StagedScanOptions extends GitScanOptions {
  /** Who is committing (git's user.name / user.email), for the provenance. */
  author?: { name: string; email: string };
  /** ISO time stamped on staged findings; the caller's clock (the scanner reads none). */
  now: string;
}

/** The index against HEAD (or against nothing, before the first commit): the pre-commit view. */
export async function scanStaged(repo: GitRepo, opts: StagedScanOptions): Promise<GitScanResult> {
  const started = performance.now();
  const pack = compilePack(opts.rules, opts.globalAllow);
  let hasHead = true;
  try {
    await resolveCommit(repo, 'HEAD');
  } catch {
    hasHead = false;
  }
  const diffArgs = hasHead ? ['--cached', 'HEAD'] : ['--cached', EMPTY_TREE];
  const { changes, stats } = await scanChanges(repo, pack, opts, diffArgs);
  const staged = {
    sha: STAGED_COMMIT,
    author: opts.author?.name ?? '',
    email: opts.author?.email ?? '',
    date: opts.now,
    message: '(staged)',
  };
  const located = changes.map((c, i) => ({
    finding: c.finding,
    occurrence: placed(c.occurrence, place(staged, c.path)),
    order: Number.MAX_SAFE_INTEGER - i,
  }));
  stats.durationMs = Math.round(performance.now() - started);
  return { findings: reveal(groupByFingerprint(located), opts.showSecrets), stats, commits: 0, tips: new Map(), warnings: [] };
}

/** git's well-known empty tree: the "before" side of a repository's first commit. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** An occurrence on an added head-side line, before it is attributed to a commit. */
interface Change {
  finding: Finding;
  occurrence: Occurrence;
  /** Head-side path. */
  path: string;
}

/** Scans the head-side blobs of a diff (each once, through the blob source) and keeps findings on added lines. */
async function scanChanges(
  repo: GitRepo,
  pack: CompiledPack,
  opts: GitScanOptions,
  diffArgs: string[],
): Promise<{ changes: Change[]; stats: ScanStats }> {
  const stats = emptyStats();
  const [files, added] = await Promise.all([changedFiles(repo, diffArgs), addedLines(repo, diffArgs)]);
  const pathsOf = new Map<string, string[]>();
  for (const f of files) {
    const list = pathsOf.get(f.sha);
    if (list) list.push(f.path);
    else pathsOf.set(f.sha, [f.path]);
  }
  const blobs = openBlobSource(repo, opts.maxFileSize);
  // Until attributed, a head-side blob is named by its first path (what skips and errors report).
  for (const [sha, paths] of pathsOf) blobs.request(sha, { kind: 'file', path: paths[0]! });
  blobs.finish();
  const pipe = blobPipeline(opts);
  const changes: Change[] = [];
  for await (const ev of blobs) {
    const found = scanEvent(pack, ev, pipe, stats);
    if (found.length === 0 || ev.kind !== 'chunk') continue;
    for (const path of pathsOf.get(ev.chunk.id!) ?? []) {
      const lines = added.get(path);
      for (const f of found) {
        if (pathAllowed(pack, f.ruleId, path) || gateShut(pack, f.ruleId, path)) continue;
        for (const occurrence of f.occurrences) {
          if (touchesAdded(lines, occurrence.span.line, occurrence.span.endLine)) changes.push({ finding: f, occurrence, path });
        }
      }
    }
  }
  return { changes, stats };
}

/** Drops the secret from findings unless the user asked for it (`--show-secrets`). */
function reveal(findings: Finding[], show: boolean): Finding[] {
  if (show) return findings;
  return findings.map(({ secret: _secret, ...rest }) => rest);
}
