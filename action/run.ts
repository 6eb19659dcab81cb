// One run of the Action: plan from the event, make the history present, scan, then report through
// every channel the inputs ask for (SARIF file, annotations, PR comments, job summary, outputs) and
// return the exit status: 1 when findings fail the check (`fail-on`), 0 otherwise. Errors are thrown
// (typed); the command turns them into exit 2.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import * as core from '@actions/core';
import { isKeywardenError, KeywardenError } from '../errors/error.js';
import { openRepo } from '../scanner/sources/git/repo.js';
import { annotationsFor, emitAnnotations } from './annotations.js';
import { type CommentOutcome, syncComments } from './comments.js';
import type { ActionContext } from './context.js';
import { planScan, type ScanPlan } from './event.js';
import { GitHubClient } from './github.js';
import { prepareHistory, type Wanted } from './history.js';
import { type ActionFinding, type ActionScan, emptySarif, openScanner, type Scanner } from './scan-results.js';
import { renderSummary } from './summary.js';

export interface RunResult {
  exitCode: 0 | 1;
  /** New findings (the `findings` output). */
  findings: number;
}

export async function runAction(ctx: ActionContext, toolVersion: string): Promise<RunResult> {
  const plan = planScan(ctx.eventName, ctx.payload);
  if (plan.kind === 'skip') {
    core.notice(`keywarden: ${plan.reason}.`);
    // An empty log keeps a following upload-sarif step (if: always()) from failing on a missing file.
    writeSarif(ctx.inputs.sarif, emptySarif(toolVersion));
    finishOutputs(ctx, 0);
    await writeSummary(ctx, `## keywarden: nothing to scan\n\n${plan.reason}.\n`);
    return { exitCode: 0, findings: 0 };
  }

  const repo = await openRepo(ctx.workspace, ctx.env).catch((err: unknown) => {
    if (isKeywardenError(err) && err.code === 'KW_GIT_NOT_A_REPO')
      throw new KeywardenError(err.code, err.message, ['add `uses: actions/checkout@v4` (with fetch-depth: 0) before keywarden']);
    throw err;
  });
  const prepared = await prepareHistory(repo, wantedFor(plan), ctx.inputs.githubToken);
  const scanner = await openScanner({
    repo,
    root: ctx.workspace,
    configFile: ctx.inputs.config,
    baselineFile: ctx.inputs.baseline,
    fingerprintKey: ctx.fingerprintKey,
  });
  const { scan, scope } = await scanFor(plan, scanner, ctx, prepared.unavailable, prepared.notes);

  const fresh = scan.findings.filter((f) => f.suppressedBy === null);
  const baselined = scan.findings.filter((f) => f.suppressedBy === 'baseline');
  const ignored = scan.findings.filter((f) => f.suppressedBy === 'ignore');
  const shown = ctx.inputs.failOn === 'any' ? [...fresh, ...baselined] : fresh;
  // `info` findings (hashes, public-by-design keys) are shown but fail nothing, as in `keywarden scan`.
  const failing = ctx.inputs.failOn !== 'none' && shown.some((f) => f.confidence !== 'info');

  writeSarif(ctx.inputs.sarif, scan.sarif(new Set(shown.map((f) => f.fingerprint)), toolVersion));
  logFindings(scope, scan, shown);
  const mode = ctx.inputs.comment;
  if (mode === 'annotations' || mode === 'both') emitAnnotations(annotationsFor(shown, failing));

  let comments: CommentOutcome | string | null = null;
  if (plan.kind === 'pull_request') {
    if (mode === 'annotations' || mode === 'none') comments = `No comments (${'`'}comment: ${mode}${'`'}).`;
    else if (!ctx.inputs.githubToken) comments = 'No comments: no github-token was given.';
    else {
      const client = new GitHubClient({
        apiUrl: ctx.apiUrl,
        token: ctx.inputs.githubToken,
        userAgent: `keywarden/${toolVersion}`,
      });
      comments = await syncComments(
        client,
        { owner: ctx.owner, repo: ctx.repo, number: plan.number, headSha: plan.headSha, fork: plan.fork },
        fresh,
        ignored,
        { repoHtmlUrl: plan.repoHtmlUrl },
        new Set(scan.findings.map((f) => f.fingerprint)),
      );
      if (comments.stopped) core.warning(`keywarden: ${comments.stopped}`);
      for (const f of comments.failures) core.warning(`keywarden: comment failed: ${f}`);
    }
  }

  finishOutputs(ctx, fresh.length);
  await writeSummary(
    ctx,
    renderSummary({
      scope,
      failOn: ctx.inputs.failOn,
      failing,
      shown,
      newCount: fresh.length,
      suppressed: { ignore: ignored.length, baseline: baselined.length },
      facts: scan.facts,
      notes: prepared.notes,
      comments,
      repoHtmlUrl: plan.repoHtmlUrl,
      sarifPath: displayPath(ctx.workspace, ctx.inputs.sarif),
      fingerprintKeyOrigin: ctx.fingerprintKeyOrigin,
    }),
  );
  if (failing)
    core.info(
      `keywarden: failing the check: ${shown.length} finding${shown.length === 1 ? '' : 's'} (fail-on: ${ctx.inputs.failOn}).`,
    );
  return { exitCode: failing ? 1 : 0, findings: fresh.length };
}

/** What the scan needs in the clone, and the refs that fetch it when the checkout lacks it. */
function wantedFor(plan: Exclude<ScanPlan, { kind: 'skip' }>): Wanted {
  switch (plan.kind) {
    case 'pull_request':
      return {
        commits: [plan.headSha],
        // The base branch may have been force-pushed since the event: then its current tip serves.
        optional: [plan.baseSha],
        refspecs: [`+refs/pull/${plan.number}/head:refs/remotes/pull/${plan.number}/head`],
        refs: [{ name: baseRef(plan), refspec: `+refs/heads/${plan.baseRef}:${baseRef(plan)}`, optional: true }],
      };
    case 'push':
      return {
        commits: [plan.after],
        // A force-push's `before` may be gone from the server: then what is not on the default branch.
        optional: plan.before === null ? [] : [plan.before],
        refspecs: [plan.ref],
        refs: [
          {
            name: defaultBranchRef(plan),
            refspec: `+refs/heads/${plan.defaultBranch}:${defaultBranchRef(plan)}`,
            optional: plan.before !== null,
          },
        ],
      };
    case 'history':
      return { commits: [], refspecs: [] };
    default: {
      const never: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(never)}`);
    }
  }
}

function baseRef(plan: { baseRef: string }): string {
  return `refs/remotes/origin/${plan.baseRef}`;
}

function defaultBranchRef(plan: { defaultBranch: string }): string {
  return `refs/remotes/origin/${plan.defaultBranch}`;
}

async function scanFor(
  plan: Exclude<ScanPlan, { kind: 'skip' }>,
  scanner: Scanner,
  ctx: ActionContext,
  unavailable: ReadonlySet<string>,
  notes: string[],
): Promise<{ scan: ActionScan; scope: string }> {
  const short = (s: string) => `\`${s.slice(0, 7)}\``;
  switch (plan.kind) {
    case 'pull_request': {
      let base = plan.baseSha;
      if (unavailable.has(plan.baseSha)) {
        if (unavailable.has(baseRef(plan)))
          throw new KeywardenError(
            'KW_GIT_UNKNOWN_REF',
            `the base of pull request #${plan.number} (${plan.baseSha.slice(0, 12)}, ${plan.baseRef}) cannot be fetched`,
          );
        notes.push(`the payload's base ${plan.baseSha.slice(0, 7)} is gone (force-pushed?); used the tip of ${plan.baseRef}`);
        base = baseRef(plan);
      }
      const scan = await scanner.range(base, plan.headSha);
      if (plan.commits !== null && scan.facts.commits < plan.commits)
        notes.push(`GitHub counts ${plan.commits} commits in this pull request; the scan walked ${scan.facts.commits}.`);
      const at = ctx.sha ? ` (workspace at ${short(ctx.sha)})` : '';
      const scope = `Pull request #${plan.number}${plan.fork ? ' (from a fork)' : ''}: every commit from the merge base with ${short(plan.baseSha)} to the head ${short(plan.headSha)}${at}.`;
      return { scan, scope };
    }
    case 'push': {
      if (plan.before !== null && unavailable.has(plan.before)) {
        if (unavailable.has(defaultBranchRef(plan)))
          throw new KeywardenError(
            'KW_GIT_UNKNOWN_REF',
            `neither ${plan.before.slice(0, 12)} (before) nor the default branch can be fetched`,
          );
        notes.push(
          `the push's before ${plan.before.slice(0, 7)} is gone (force-pushed); scanned what is not on ${plan.defaultBranch}`,
        );
        const scan = await scanner.range(defaultBranchRef(plan), plan.after);
        return {
          scan,
          scope: `Push to \`${plan.ref}\`: every commit of ${short(plan.after)} not on the default branch \`${plan.defaultBranch}\`.`,
        };
      }
      if (plan.before !== null) {
        const scan = await scanner.range(plan.before, plan.after);
        return { scan, scope: `Push to \`${plan.ref}\`: every commit from ${short(plan.before)} to ${short(plan.after)}.` };
      }
      if (plan.ref === `refs/heads/${plan.defaultBranch}`) {
        const scan = await scanner.historyOf(plan.after);
        return { scan, scope: `Push creating the default branch \`${plan.ref}\`: its whole history to ${short(plan.after)}.` };
      }
      const scan = await scanner.range(defaultBranchRef(plan), plan.after);
      return {
        scan,
        scope: `Push creating \`${plan.ref}\`: every commit of ${short(plan.after)} not on the default branch \`${plan.defaultBranch}\`.`,
      };
    }
    case 'history': {
      const scan = await scanner.incrementalHistory(ctx.historyStateFile, `github:${ctx.owner}/${ctx.repo}`, ctx.sha ?? 'HEAD');
      return { scan, scope: `Scheduled history scan (\`${plan.event}\`): every ref, commits not scanned by the previous run.` };
    }
    default: {
      const never: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(never)}`);
    }
  }
}

function logFindings(scope: string, scan: ActionScan, shown: readonly ActionFinding[]): void {
  core.info(`keywarden: ${scope.replace(/`/g, '')} ${scan.facts.commits} commits walked.`);
  for (const w of scan.facts.warnings) core.warning(`keywarden: ${w}`);
  for (const f of shown) {
    const at = f.locations[0]!;
    const state =
      f.suppressedBy === 'baseline' ? ' (baseline)' : f.head === 'present' ? '' : ' (removed again, still in history)';
    core.info(`  ${f.ruleId}  ${at.path}:${at.line}  ${at.commit.slice(0, 7)}  ${f.redacted}  ${f.fingerprint}${state}`);
  }
  core.info(`keywarden: ${shown.length} finding${shown.length === 1 ? '' : 's'}.`);
}

function writeSarif(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

function finishOutputs(ctx: ActionContext, findings: number): void {
  core.setOutput('findings', String(findings));
  core.setOutput('sarif', ctx.inputs.sarif);
}

function displayPath(root: string, path: string): string {
  const rel = relative(root, path);
  return rel.startsWith('..') ? path : rel;
}

/** The job summary, when the runner gives a file for it (GITHUB_STEP_SUMMARY). */
export async function writeSummary(ctx: Pick<ActionContext, 'summaryFile'>, markdown: string): Promise<void> {
  if (!ctx.summaryFile) return;
  await core.summary.addRaw(markdown).write();
}
