// `keywarden history [REPO]`, `keywarden diff --base REF --head REF [REPO]`, `keywarden staged [REPO]`:
// the git scans (scanner/scan-git.ts) with the same flags, reports and exit codes as `scan`.
import { realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { builtinRules } from '../../rules/builtin.js';
import { loadConfig, mergeRules } from '../../scanner/config.js';
import type { Finding, Report } from '../../scanner/finding.js';
import { REPORT_FORMATS, render } from '../../scanner/reporters/index.js';
import { type GitScanOptions, type GitScanResult, scanDiff, scanHistory, scanStaged } from '../../scanner/scan-git.js';
import { isRemoteUrl, openRemote } from '../../scanner/sources/git/remote.js';
import { existingCommits, type GitRepo, openRepo } from '../../scanner/sources/git/repo.js';
import { loadState, previousTips, saveState } from '../../scanner/sources/git/state.js';
import { isSuppressed, loadIgnoreFile } from '../../scanner/suppress.js';
import {
  contextFilter,
  EXCLUDE_CONTEXT_HELP,
  exitCodeFor,
  fingerprintKeyFromEnv,
  pickFormat,
  type ReportFlags,
  xdgDir,
} from '../report-options.js';
import { VERSION } from '../version.js';
import { parseSize } from './scan.js';

interface CommonFlags extends ReportFlags {
  cacheDir?: string;
  /** Accepted so that `scan`'s flags work here too; git scans print no progress line. */
  progress?: boolean;
}

interface HistoryFlags extends CommonFlags {
  branch?: string;
  sinceCommit?: string;
  incremental?: boolean;
  stateFile?: string;
}

interface DiffFlags extends CommonFlags {
  base?: string;
  head?: string;
}

function commonOptions(cmd: Command): Command {
  return (
    cmd
      .option('-f, --format <format>', `report format: ${REPORT_FORMATS.join(' | ')} (default: text on a TTY, else json)`)
      .option('-o, --output <file>', 'write the report to a file instead of stdout')
      .option('-c, --config <file>', 'config file (default: .keywarden.yaml at the work tree root)')
      .option('--baseline <file>', 'a previous JSON report: report only findings not in it')
      .option('--show-secrets', 'include the full secret in text and JSON reports (never in SARIF)')
      .option('--max-file-size <size>', 'skip (and count) blobs larger than this, e.g. 10MB')
      .option('--cache-dir <dir>', 'where URL repositories are cloned (default: $XDG_CACHE_HOME/keywarden/repos)')
      .option('--exclude-context <contexts>', EXCLUDE_CONTEXT_HELP)
      // Same flags as `scan` (hooks and CI pass it everywhere); git scans print no progress line anyway.
      .option('--no-progress', 'no progress line on stderr (accepted for parity with scan)')
  );
}

interface Opened {
  repo: GitRepo;
  /** Identity for the incremental state: URL without credentials, or the real git dir. */
  key: string;
}

async function open(target: string, flags: CommonFlags): Promise<Opened> {
  if (isRemoteUrl(target)) {
    const cacheDir = flags.cacheDir ?? join(xdgDir('XDG_CACHE_HOME', '.cache'), 'repos');
    const r = await openRemote(target, { env: process.env, cacheDir });
    return { repo: r.repo, key: r.url };
  }
  const repo = await openRepo(resolve(target), process.env);
  return { repo, key: realpathSync(repo.gitDir) };
}

async function prepare(repo: GitRepo, flags: CommonFlags) {
  // A bad --exclude-context should fail now, not after an hour of history.
  contextFilter(flags.excludeContext);
  const root = repo.workTree ?? process.cwd();
  const config = await loadConfig(root, flags.config);
  const rules = mergeRules(config.extends === 'none' ? [] : await builtinRules(), config);
  const maxFileSize = flags.maxFileSize ? parseSize(flags.maxFileSize, '--max-file-size') : config.maxFileSize;
  const key = fingerprintKeyFromEnv();
  const scanOpts: GitScanOptions = {
    rules,
    globalAllow: config.allowlist,
    fingerprintKey: key,
    showSecrets: flags.showSecrets === true,
    maxFileSize,
  };
  // Read before the scan: a bad baseline should fail in a second, not after an hour of history.
  const baseline = flags.baseline ? (await import('../../scanner/baseline.js')).loadBaseline(flags.baseline) : null;
  return { root, rules, scanOpts, ignoreRoot: repo.workTree, baseline };
}

/** Writes the report; returns how many findings it holds after suppression. */
function emit(
  result: GitScanResult,
  flags: CommonFlags,
  ctx: Pick<Awaited<ReturnType<typeof prepare>>, 'rules' | 'ignoreRoot' | 'baseline'>,
  setExit: (code: number) => void,
): number {
  for (const w of result.warnings) process.stderr.write(`keywarden: warning: ${w}\n`);
  const format = pickFormat(flags.format, flags.output);
  const ignore = ctx.ignoreRoot ? loadIgnoreFile(ctx.ignoreRoot) : new Set<string>();
  const findings: Finding[] = contextFilter(flags.excludeContext)(result.findings).filter(
    (f) => !isSuppressed(f, ignore, ctx.baseline),
  );
  const report: Report = { version: 1, tool: { name: 'keywarden', version: VERSION }, findings, stats: result.stats };
  const text = render(format, report, { rules: ctx.rules, color: !flags.output && process.stdout.isTTY === true });
  if (flags.output) writeFileSync(flags.output, text);
  else process.stdout.write(text);
  setExit(exitCodeFor(findings));
  return findings.length;
}

export function registerGitCommands(program: Command, setExit: (code: number) => void): void {
  commonOptions(
    program
      .command('history')
      .description('scan every commit reachable from every ref of a repository (path or URL), deleted secrets included')
      .argument('[repo]', 'repository path or URL', '.'),
  )
    .option('--branch <ref>', 'only the history of this ref')
    .option('--since-commit <sha>', 'skip this commit and its ancestors (they were scanned before)')
    .option('--incremental', 'only commits not reachable from the refs the last --incremental run scanned')
    .option('--state-file <file>', 'incremental state (default: $XDG_STATE_HOME/keywarden/git-state.json)')
    .action(async (target: string, flags: HistoryFlags) => {
      const { repo, key } = await open(target, flags);
      const ctx = await prepare(repo, flags);
      const exclude: string[] = flags.sinceCommit ? [flags.sinceCommit] : [];
      const stateFile = flags.stateFile ?? join(xdgDir('XDG_STATE_HOME', '.local/state'), 'git-state.json');
      const scope = flags.branch ?? '--all';
      const state = flags.incremental ? loadState(stateFile) : null;
      // Old tips may be gone (force-push, deleted branch): exclude only the ones still present.
      if (state) exclude.push(...(await existingCommits(repo, previousTips(state, key, scope))));
      const result = await scanHistory(repo, { ...ctx.scanOpts, ...(flags.branch ? { branch: flags.branch } : {}), exclude });
      if (state) saveState(stateFile, state, key, scope, result.tips, new Date().toISOString());
      emit(result, flags, ctx, setExit);
    });

  commonOptions(
    program
      .command('diff')
      .description('scan what HEAD REF adds over BASE REF (merge-base..head): the pull-request view')
      .argument('[repo]', 'repository path or URL', '.'),
  )
    .requiredOption('--base <ref>', 'the branch the change merges into (e.g. origin/main)')
    .option('--head <ref>', 'the change (default HEAD)', 'HEAD')
    .action(async (target: string, flags: DiffFlags) => {
      const { repo } = await open(target, flags);
      const ctx = await prepare(repo, flags);
      const result = await scanDiff(repo, { ...ctx.scanOpts, base: flags.base!, head: flags.head ?? 'HEAD' });
      emit(result, flags, ctx, setExit);
    });

  commonOptions(
    program
      .command('staged')
      .description('scan the staged changes (for a pre-commit hook); exit 1 blocks the commit')
      .argument('[repo]', 'repository path', '.'),
  ).action(async (target: string, flags: CommonFlags) => {
    const repo = await openRepo(resolve(target), process.env);
    const ctx = await prepare(repo, flags);
    const author = { name: await gitConfig(repo, 'user.name'), email: await gitConfig(repo, 'user.email') };
    const result = await scanStaged(repo, { ...ctx.scanOpts, author, now: new Date().toISOString() });
    if (emit(result, flags, ctx, setExit) > 0) {
      process.stderr.write(
        'keywarden: secrets in staged changes; commit blocked (remove them, or mark a false positive with keywarden:allow)\n',
      );
    }
  });
}

async function gitConfig(repo: GitRepo, key: string): Promise<string> {
  try {
    return (await repo.git.raw(['config', '--get', key])).trim();
  } catch {
    return '';
  }
}
