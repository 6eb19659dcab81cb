// Git scans: full history (each unique blob scanned once, findings attributed to the earliest commit
// that introduced the blob, later ones kept as occurrences under the same fingerprint), a PR range
// (head-side added lines of merge-base..head) and the index (staged changes, for a pre-commit hook).
import type { Rule } from '../rules/schema.js';
import { type CompiledPack, compilePack, type GlobalAllowlist } from './engine/compile.js';
import { scanBuffer } from './engine/engine.js';
import type { Finding, Provenance, ScanStats } from './finding.js';
import { toFindings } from './findings.js';
import { countSkip, emptyStats } from './scan-tree.js';
import { looksBinary } from './sources/files.js';
import { type BlobEvent, openBlobReader } from './sources/git/cat-file.js';
import { type AddedLines, addedLines, addedLinesInCommit, changedFiles, touchesAdded } from './sources/git/diff.js';
import { type CommitMeta, commitMetas, walkLog } from './sources/git/log.js';
import { blameLine, type GitRepo, mergeBase, refTips, resolveCommit, secretsPresentAt, shallowInfo } from './sources/git/repo.js';

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

export interface GitScanResult {
  /** Grouped by fingerprint, the introducing occurrence first, groups in order of introduction. */
  findings: Finding[];
  stats: ScanStats;
  /** Commits walked. */
  commits: number;
  /** Ref tips the scan started from (`refname → sha`): what an incremental state records. */
  tips: Map<string, string>;
  /** Things the user must know but that are not errors (a shallow clone). */
  warnings: string[];
}

/** Provenance of content that is staged but not committed yet. */
export const STAGED_COMMIT = '0000000000000000000000000000000000000000';

interface Located {
  finding: Finding;
  /** Log position of the commit: higher is older. */
  order: number;
}

export async function scanHistory(repo: GitRepo, opts: HistoryScanOptions): Promise<GitScanResult> {
  const started = performance.now();
  const warnings = await shallowWarnings(repo);
  const tips = await refTips(repo, opts.branch);
  const exclude = opts.exclude ? await Promise.all(opts.exclude.map((r) => resolveCommit(repo, r))) : [];
  const pack = compilePack(opts.rules, opts.globalAllow);
  const walk = await walkHistory(repo, pack, opts, [...new Set(tips.values())], exclude);
  const findings = reveal(groupByFingerprint(walk.located), opts.showSecrets);
  walk.stats.durationMs = Math.round(performance.now() - started);
  return { findings, stats: walk.stats, commits: walk.commits, tips, warnings };
}

interface Walk {
  located: Located[];
  stats: ScanStats;
  commits: number;
}

/**
 * The Nosey Parker shape: `git log --raw` names the blob each commit introduced at each path; each
 * unique blob is read once from `git cat-file --batch` (started while the log still runs) and scanned
 * once; then every (commit, path) that introduced a blob with findings becomes an occurrence.
 */
async function walkHistory(
  repo: GitRepo,
  pack: CompiledPack,
  opts: GitScanOptions,
  include: string[],
  exclude: string[],
): Promise<Walk> {
  const stats = emptyStats();
  const commits: CommitMeta[] = [];
  const blobIds = new Map<string, number>();
  const blobPath: number[] = []; // path id a blob was first seen at (for skip and error records)
  const paths: string[] = [];
  const pathIds = new Map<string, number>();
  // Appearances as flat triples (blob, commit, path): ~12 bytes each, the only per-change state kept.
  let app = new Int32Array(3 << 16);
  let appN = 0;
  const blobFindings = new Map<number, Finding[]>();
  const placeholder: Provenance = { kind: 'file' };

  const onBlob = (ev: BlobEvent) => {
    const id = blobIds.get(ev.sha);
    if (id === undefined) return;
    const path = paths[blobPath[id]!]!;
    if (ev.kind === 'tooLarge') return countSkip(stats, 'tooLarge', path);
    if (ev.kind === 'missing') return countSkip(stats, 'unreadable', path, 'KW_GIT_OBJECT', `blob ${ev.sha}: ${ev.reason}`);
    const data = ev.data;
    if (looksBinary(data.subarray(0, 8000))) return countSkip(stats, 'binary', path);
    stats.files++;
    stats.bytes += data.length;
    // Scanned without a path: path allowlists are applied per occurrence below, since one blob may
    // appear at an allowed and at a reported path.
    // The first path opens path-gated rules (credential files: a .pgpass committed and deleted).
    const matches = scanBuffer(pack, data, { gatePath: path });
    if (matches.length === 0) return;
    // Secrets are kept until the end (the range scan checks them against the base); stripped by `reveal`.
    const found = toFindings(pack, data, matches, {
      path,
      source: placeholder,
      fingerprintKey: opts.fingerprintKey,
      showSecrets: true,
    });
    blobFindings.set(id, found);
  };
  const reader = openBlobReader(repo, opts.maxFileSize, onBlob);
  let commitIdx = -1;
  let walked: number;
  try {
    walked = await walkLog(
      repo,
      { include, exclude },
      {
        commit(meta) {
          commits.push(meta);
          commitIdx++;
        },
        blob(sha, path) {
          let pid = pathIds.get(path);
          if (pid === undefined) {
            pid = paths.length;
            paths.push(path);
            pathIds.set(path, pid);
          }
          let id = blobIds.get(sha);
          if (id === undefined) {
            id = blobPath.length;
            blobIds.set(sha, id);
            blobPath.push(pid);
            reader.request(sha);
          }
          if (appN * 3 + 3 > app.length) {
            const grown = new Int32Array(app.length * 2);
            grown.set(app);
            app = grown;
          }
          app[appN * 3] = id;
          app[appN * 3 + 1] = commitIdx;
          app[appN * 3 + 2] = pid;
          appN++;
        },
      },
    );
  } catch (err) {
    reader.finish().catch(() => {}); // the log's error is the one to report
    throw err;
  }
  await reader.finish();

  const located: Located[] = [];
  if (blobFindings.size > 0) {
    for (let a = 0; a < appN; a++) {
      const found = blobFindings.get(app[a * 3]!);
      if (!found) continue;
      const order = app[a * 3 + 1]!;
      const meta = commits[order]!;
      const path = paths[app[a * 3 + 2]!]!;
      const source: Provenance = {
        kind: 'git',
        commit: meta.sha,
        author: meta.author,
        email: meta.email,
        date: meta.date,
        message: meta.message,
      };
      for (const f of found) {
        if (pathAllowed(pack, f.ruleId, path)) continue;
        located.push({ finding: { ...f, path, source }, order });
      }
    }
  }
  return { located, stats, commits: walked };
}

/** True when a global or the rule's own path allowlist excludes this path. */
function pathAllowed(pack: CompiledPack, ruleId: string, path: string): boolean {
  if (pack.globalPathAllow.some((re) => re.test(path))) return true;
  const rule = pack.rules.find((r) => r.rule.id === ruleId);
  return rule?.pathAllow.some((re) => re.test(path)) === true;
}

/** One group per fingerprint: oldest occurrence (the introducer) first; groups oldest first. */
function groupByFingerprint(located: Located[]): Finding[] {
  const groups = new Map<string, Located[]>();
  for (const l of located) {
    const g = groups.get(l.finding.fingerprint);
    if (g) g.push(l);
    else groups.set(l.finding.fingerprint, [l]);
  }
  const ordered = [...groups.values()].map((g) =>
    g.sort(
      (a, b) =>
        b.order - a.order ||
        cmp(a.finding.path, b.finding.path) ||
        a.finding.line - b.finding.line ||
        a.finding.column - b.finding.column,
    ),
  );
  ordered.sort(
    (a, b) => b[0]!.order - a[0]!.order || cmp(a[0]!.finding.path, b[0]!.finding.path) || a[0]!.finding.line - b[0]!.finding.line,
  );
  return ordered.flat().map((l) => l.finding);
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
  const { findings: headSide, stats } = await scanChanges(repo, pack, opts, diffArgs);

  // Attribute each head-side line to the commit in the range that wrote it.
  const range = mb === null ? head : `${mb}..${head}`;
  const blamed = await Promise.all(headSide.map((f) => blameLine(repo, range, f.path, f.line)));
  const metas = await commitMetas(repo, [head, ...blamed.filter((s): s is string => s !== null)]);
  const located: Located[] = [];
  for (const [i, f] of headSide.entries()) {
    const meta = metas.get(blamed[i] ?? head) ?? metas.get(head)!;
    located.push({ finding: { ...f, source: gitSource(meta) }, order: Number.MAX_SAFE_INTEGER - i });
  }

  // Commits of the range, for secrets that no longer reach head.
  const walk = await walkHistory(repo, pack, opts, [head], mb === null ? [] : [mb]);
  const seen = new Set(headSide.map((f) => f.fingerprint));
  const lineCache = new Map<string, AddedLines>();
  let commits = walk.commits;
  for (const l of walk.located) {
    if (seen.has(l.finding.fingerprint) || l.finding.source.kind !== 'git') continue;
    const commit = l.finding.source.commit;
    let added = lineCache.get(commit);
    if (!added) {
      added = await addedLinesInCommit(repo, commit);
      lineCache.set(commit, added);
    }
    const ranges = added.get(l.finding.path);
    if (touchesAdded(ranges, l.finding.line, l.finding.endLine)) located.push(l);
  }
  if (commits === 0 && headSide.length > 0) commits = 1;
  stats.files += walk.stats.files;
  stats.bytes += walk.stats.bytes;
  for (const [reason, n] of Object.entries(walk.stats.skipped))
    stats.skipped[reason as keyof ScanStats['skipped']] = (stats.skipped[reason as keyof ScanStats['skipped']] ?? 0) + n;
  stats.errors.push(...walk.stats.errors);
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
  const introduced = located.filter((l) => !before.has(l.finding.secret ?? ''));
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
  const { findings, stats } = await scanChanges(repo, pack, opts, diffArgs);
  const source: Provenance = {
    kind: 'git',
    commit: STAGED_COMMIT,
    author: opts.author?.name ?? '',
    email: opts.author?.email ?? '',
    date: opts.now,
    message: '(staged)',
  };
  const located = findings.map((f, i) => ({ finding: { ...f, source }, order: Number.MAX_SAFE_INTEGER - i }));
  stats.durationMs = Math.round(performance.now() - started);
  return { findings: reveal(groupByFingerprint(located), opts.showSecrets), stats, commits: 0, tips: new Map(), warnings: [] };
}

/** git's well-known empty tree: the "before" side of a repository's first commit. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** Scans the head-side blobs of a diff and keeps findings on added lines. */
async function scanChanges(
  repo: GitRepo,
  pack: CompiledPack,
  opts: GitScanOptions,
  diffArgs: string[],
): Promise<{ findings: Finding[]; stats: ScanStats }> {
  const stats = emptyStats();
  const [files, added] = await Promise.all([changedFiles(repo, diffArgs), addedLines(repo, diffArgs)]);
  const pathsOf = new Map<string, string[]>();
  for (const f of files) {
    const list = pathsOf.get(f.sha);
    if (list) list.push(f.path);
    else pathsOf.set(f.sha, [f.path]);
  }
  const findings: Finding[] = [];
  const placeholder: Provenance = { kind: 'file' };
  const reader = openBlobReader(repo, opts.maxFileSize, (ev) => {
    const paths = pathsOf.get(ev.sha) ?? [];
    const first = paths[0] ?? ev.sha;
    if (ev.kind === 'tooLarge') return countSkip(stats, 'tooLarge', first);
    if (ev.kind === 'missing') return countSkip(stats, 'unreadable', first, 'KW_GIT_OBJECT', `blob ${ev.sha}: ${ev.reason}`);
    if (looksBinary(ev.data.subarray(0, 8000))) return countSkip(stats, 'binary', first);
    stats.files++;
    stats.bytes += ev.data.length;
    const matches = scanBuffer(pack, ev.data, { gatePath: first });
    if (matches.length === 0) return;
    const found = toFindings(pack, ev.data, matches, {
      path: first,
      source: placeholder,
      fingerprintKey: opts.fingerprintKey,
      showSecrets: true,
    });
    for (const path of paths) {
      const lines = added.get(path);
      for (const f of found) {
        if (pathAllowed(pack, f.ruleId, path) || !touchesAdded(lines, f.line, f.endLine)) continue;
        findings.push({ ...f, path });
      }
    }
  });
  for (const sha of pathsOf.keys()) reader.request(sha);
  await reader.finish();
  return { findings, stats };
}

/** Drops the secret from findings unless the user asked for it (`--show-secrets`). */
function reveal(findings: Finding[], show: boolean): Finding[] {
  if (show) return findings;
  return findings.map(({ secret: _secret, ...rest }) => rest);
}

function gitSource(meta: CommitMeta): Provenance {
  return { kind: 'git', commit: meta.sha, author: meta.author, email: meta.email, date: meta.date, message: meta.message };
}
