// `keywarden history [REPO]`, `keywarden diff --base REF --head REF [REPO]`, `keywarden staged [REPO]`:
// the git scans (scanner/scan-git.ts) with the same flags, reports and exit codes as `scan`.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { accessPolicyFromEnv } from '../../access/from-env.js';
import { keywardenPaths } from '../../config/paths.js';
import type { Environment } from '../../config/section.js';
import { VERSION } from '../../config/version.js';
import { loadConfig, resolveRules } from '../../scanner/config.js';
import { REPORT_FORMATS, render, toReport } from '../../scanner/reporters/index.js';
import { type GitScanOptions, type GitScanResult, scanDiff, scanHistory, scanStaged } from '../../scanner/scan-git.js';
import { isRemoteUrl, openRemote } from '../../scanner/sources/git/remote.js';
import { existingCommits, type GitRepo, openRepo } from '../../scanner/sources/git/repo.js';
import { loadState, previousTips, saveState } from '../../scanner/sources/git/state.js';
import { loadIgnoreFile, suppress } from '../../scanner/suppress.js';
import { targetOf } from '../../scanner/target.js';
import { contextFilter, EXCLUDE_CONTEXT_HELP, exitCodeFor, pickFormat, type ReportFlags } from '../report-options.js';
import { fingerprintKeyFor } from '../startup.js';
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
  /** Identity for the incremental state: the repository's name (`targetOf`), as the service names it. */
  key: string;
}

async function open(target: string, flags: CommonFlags, env: Environment): Promise<Opened> {
  if (isRemoteUrl(target)) {
    const cacheDir = flags.cacheDir ?? join(keywardenPaths(env).cacheDir, 'repos');
    // Tokens of the environment only to their own hosts (access/credentials.ts), even on the CLI.
    const r = await openRemote(target, { env, cacheDir, access: accessPolicyFromEnv(env) });
    return { repo: r.repo, key: targetOf(target) };
  }
  const repo = await openRepo(resolve(target), env);
  return { repo, key: targetOf(repo.workTree ?? repo.gitDir) };
}

async function prepare(repo: GitRepo, flags: CommonFlags, env: Environment) {
  // A bad --exclude-context should fail now, not after an hour of history.
  contextFilter(flags.excludeContext);
  const root = repo.workTree ?? process.cwd();
  const config = await loadConfig(root, flags.config);
  const rules = await resolveRules(config);
  const maxFileSize = flags.maxFileSize ? parseSize(flags.maxFileSize, '--max-file-size') : config.maxFileSize;
  const key = fingerprintKeyFor(env);
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
  // Grouped as the scan groups them: by fingerprint in order of introduction, introducer first.
  const report = toReport(
    suppress(contextFilter(flags.excludeContext)(result.findings), ignore, ctx.baseline),
    result.stats,
    VERSION,
    'finding',
  );
  const text = render(format, report, { rules: ctx.rules, color: !flags.output && process.stdout.isTTY === true });
  if (flags.output) writeFileSync(flags.output, text);
  else process.stdout.write(text);
  setExit(exitCodeFor(report));
  return report.findings.length;
}

export function registerGitCommands(program: Command, setExit: (code: number) => void, env: Environment): void {
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
      const { repo, key } = await open(target, flags, env);
      const ctx = await prepare(repo, flags, env);
      const exclude: string[] = flags.sinceCommit ? [flags.sinceCommit] : [];
      const stateFile = flags.stateFile ?? join(keywardenPaths(env).stateDir, 'git-state.json');
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
      const { repo } = await open(target, flags, env);
      const ctx = await prepare(repo, flags, env);
      const result = await scanDiff(repo, { ...ctx.scanOpts, base: flags.base!, head: flags.head ?? 'HEAD' });
      emit(result, flags, ctx, setExit);
    });

  commonOptions(
    program
      .command('staged')
      .description('scan the staged changes (for a pre-commit hook); exit 1 blocks the commit')
      .argument('[repo]', 'repository path', '.'),
  ).action(async (target: string, flags: CommonFlags) => {
    const repo = await openRepo(resolve(target), env);
    const ctx = await prepare(repo, flags, env);
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
