// The Action's one door into the scanner: runs the git scans (scanner/scan-git.ts), applies
// `.keywardenignore` and the baseline, and hands the rest of action/ its own view of the results
// (`ActionFinding`: one secret identity with its locations). Only this module knows the finding
// model's `Finding` shape (model/finding.ts), so a change to it is absorbed here.
import type { Finding, FindingConfidence, Occurrence } from '../model/finding.js';
import { pathOf } from '../model/occurrence.js';
import type { Rule } from '../rules/schema.js';
import { loadBaseline } from '../scanner/baseline.js';
import { loadConfig, resolveRules } from '../scanner/config.js';
import { toReport } from '../scanner/reporters/entries.js';
import { renderSarif } from '../scanner/reporters/sarif.js';
import { type GitScanOptions, type GitScanResult, scanDiff, scanHistory } from '../scanner/scan-git.js';
import { runGit } from '../scanner/sources/git/exec.js';
import { existingCommits, type GitRepo, resolveCommit } from '../scanner/sources/git/repo.js';
import { loadState, previousTips, saveState } from '../scanner/sources/git/state.js';
import { emptyStats } from '../scanner/stats.js';
import { type Baseline, baselineKey, type IgnoreSet, loadIgnoreFile } from '../scanner/suppress.js';

/** One place a secret occurs. */
export interface Location {
  /** `/`-separated, relative to the repository root. */
  path: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** The commit that introduced it here (full sha). */
  commit: string;
}

/**
 * Whether the secret is in the scanned head's tree: `present` (a review comment can sit on its
 * line), `removed` (added and removed again inside the range: no diff line, still in history).
 */
export type HeadState = 'present' | 'removed';

/** One secret identity (rule + keyed hash of the secret) as the Action reports it. Never the secret. */
export interface ActionFinding {
  fingerprint: string;
  ruleId: string;
  description: string;
  /** Redacted preview (`ghp_…Xy`). */
  redacted: string;
  /** `info` (a password hash, a key public by design) is reported but fails no check. */
  confidence: FindingConfidence;
  /** First: at the head when `head` is `present`, else where it was introduced. Never empty. */
  locations: Location[];
  head: HeadState;
  /** `ignore`: its fingerprint is in `.keywardenignore`; `baseline`: every location is in the baseline. */
  suppressedBy: 'ignore' | 'baseline' | null;
}

export interface ScanFacts {
  /** Commits walked. */
  commits: number;
  /** Unique blobs scanned and their bytes. */
  files: number;
  bytes: number;
  /** Objects that could not be read (counted, the scan went on). */
  unreadable: number;
  warnings: string[];
}

export interface ActionScan {
  /** Every finding, suppressed ones included (marked), in order of introduction. */
  findings: ActionFinding[];
  facts: ScanFacts;
  /** The SARIF log of the findings whose fingerprints are given (locations as in `findings`). */
  sarif(fingerprints: ReadonlySet<string>, toolVersion: string): string;
}

export interface ScannerSetup {
  repo: GitRepo;
  /** Workspace root (where `.keywarden.yaml` and `.keywardenignore` are read). */
  root: string;
  /** `config` input. */
  configFile: string | null;
  /** `baseline` input. */
  baselineFile: string | null;
  fingerprintKey: Buffer;
}

/** Loaded once per run: rules, config, ignore file and baseline; errors surface before any git work. */
export interface Scanner {
  /** What `base..head` adds (merge-base..head, every commit): the pull-request and push view. */
  range(base: string, head: string): Promise<ActionScan>;
  /**
   * Every commit of every ref not reachable from the tips the last run recorded in `stateFile` under
   * `repoKey` (the repository's name: each run's clone is a new directory). `head` (the checked-out
   * commit) decides which findings are still present.
   */
  incrementalHistory(stateFile: string, repoKey: string, head: string): Promise<ActionScan>;
  /** Every commit reachable from `ref` (a push that created the default branch). */
  historyOf(ref: string): Promise<ActionScan>;
}

export async function openScanner(setup: ScannerSetup): Promise<Scanner> {
  const config = await loadConfig(setup.root, setup.configFile ?? undefined);
  const rules = await resolveRules(config);
  const ignore = loadIgnoreFile(setup.root);
  const baseline = setup.baselineFile ? loadBaseline(setup.baselineFile) : null;
  // Secrets are kept inside this module only long enough to tell whether they reach the head.
  const opts: GitScanOptions = {
    rules,
    globalAllow: config.allowlist,
    fingerprintKey: setup.fingerprintKey,
    showSecrets: true,
    maxFileSize: config.maxFileSize,
  };
  const { repo } = setup;
  const finish = (result: GitScanResult, head: string) => toActionScan(repo, result, head, rules, ignore, baseline);
  return {
    async range(base, head) {
      return finish(await scanDiff(repo, { ...opts, base, head }), await resolveCommit(repo, head));
    },
    async historyOf(ref) {
      const head = await resolveCommit(repo, ref);
      return finish(await scanHistory(repo, { ...opts, branch: head }), head);
    },
    async incrementalHistory(stateFile, key, head) {
      const scope = '--all';
      const state = loadState(stateFile);
      // Tips gone since (force-push, deleted branch) are dropped so the rewritten commits are scanned.
      const exclude = await existingCommits(repo, previousTips(state, key, scope));
      const result = await scanHistory(repo, { ...opts, exclude });
      saveState(stateFile, state, key, scope, result.tips, new Date().toISOString());
      return finish(result, await resolveCommit(repo, head));
    },
  };
}

async function toActionScan(
  repo: GitRepo,
  result: GitScanResult,
  head: string,
  rules: Rule[],
  ignore: IgnoreSet,
  baseline: Baseline | null,
): Promise<ActionScan> {
  // One finding per fingerprint, in order of introduction, each one's introducer first (scan-git.ts).
  const present = await presentAtHead(repo, head, result.findings);
  const findings: ActionFinding[] = [];
  // The findings without their secrets, with the occurrences shown: what SARIF renders.
  const kept: Finding[] = [];
  for (const f of result.findings) {
    const fp = f.fingerprint;
    const unbaselined = baseline
      ? f.occurrences.filter((o) => !baseline.has(baselineKey({ fingerprint: fp, path: pathOf(o.provenance) })))
      : f.occurrences;
    const suppressedBy = ignore.has(fp) ? 'ignore' : unbaselined.length === 0 ? 'baseline' : null;
    // A baselined secret that spread is reported where it spread to.
    const shown = suppressedBy === null ? unbaselined : f.occurrences;
    findings.push({
      fingerprint: fp,
      ruleId: f.ruleId,
      description: f.description,
      redacted: f.redacted,
      confidence: f.confidence,
      locations: shown.map(location),
      head: present.has(fp) ? 'present' : 'removed',
      suppressedBy,
    });
    const { secret: _secret, ...rest } = f;
    kept.push({ ...rest, occurrences: shown });
  }
  return {
    findings,
    facts: {
      commits: result.commits,
      files: result.stats.files,
      bytes: result.stats.bytes,
      unreadable: result.stats.errors.length,
      warnings: result.warnings,
    },
    sarif(fingerprints, toolVersion) {
      const shown = kept.filter((f) => fingerprints.has(f.fingerprint));
      return renderSarif(toReport(shown, result.stats, toolVersion, 'finding'), rules);
    },
  };
}

function location(o: Occurrence): Location {
  const p = o.provenance;
  return {
    path: pathOf(p),
    line: o.span.line,
    column: o.span.column,
    endLine: o.span.endLine,
    endColumn: o.span.endColumn,
    commit: p.kind === 'git' ? p.commit : '',
  };
}

/**
 * Fingerprints whose secret is in `head`'s file at the finding's first occurrence. The scan reports a
 * secret that reaches the head at its head-side lines, and one that does not at the commit that
 * added it; reading that one file at the head tells the two apart, multi-line keys included.
 */
async function presentAtHead(repo: GitRepo, head: string, findings: readonly Finding[]): Promise<Set<string>> {
  const out = new Set<string>();
  const files = new Map<string, string | null>();
  for (const f of findings) {
    const first = f.occurrences[0];
    if (!first || !f.secret) continue;
    // A commit's message, author or ref name is in no file of the head: reported at its commit.
    if (first.provenance.kind === 'git' && first.provenance.location !== undefined) continue;
    const path = pathOf(first.provenance);
    const { line, endLine } = first.span;
    let text = files.get(path);
    if (text === undefined) {
      text = await blobText(repo, head, path);
      files.set(path, text);
    }
    if (text === null) continue;
    const lines = text.split('\n').slice(line - 1, endLine);
    // A secret found inside base64 or percent-encoding is not in the text as such: the file still
    // holding those lines is the best evidence (a wrong guess costs a PR-level comment, see comments.ts).
    const here = first.encoding ? lines.length === endLine - line + 1 : lines.join('\n').includes(f.secret);
    if (here) out.add(f.fingerprint);
  }
  return out;
}

async function blobText(repo: GitRepo, commit: string, path: string): Promise<string | null> {
  try {
    const out = await runGit(['cat-file', 'blob', `${commit}:${path}`], { cwd: repo.cwd, env: repo.env, redact: repo.redact });
    return out.toString('utf8');
  } catch {
    return null; // not in the head's tree
  }
}

/** A SARIF log with no results: for runs with nothing to scan, so an upload step still finds a file. */
export function emptySarif(toolVersion: string): string {
  return renderSarif({ version: 1, tool: { name: 'keywarden', version: toolVersion }, findings: [], stats: emptyStats() }, []);
}
