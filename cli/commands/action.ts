// `keywarden action`: the GitHub Action's work (action/), reading what the Actions runner gives a node
// action (INPUT_* and GITHUB_* variables). Exit 1 when findings fail the check, 2 on an error (shown
// as an error annotation and in the job summary), 0 otherwise.
import * as core from '@actions/core';
import type { Command } from 'commander';
import { readActionContext } from '../../action/context.js';
import { runAction, writeSummary } from '../../action/run.js';
import type { Environment } from '../../config/section.js';
import { VERSION } from '../../config/version.js';
import { isKeywardenError } from '../../errors/error.js';

export function registerActionCommand(program: Command, setExit: (code: number) => void, env: Environment): void {
  program
    .command('action')
    .description('run as the GitHub Action: scan the pull request, push or history of the event, comment and report')
    .action(async () => {
      let summaryFile: string | null = env.GITHUB_STEP_SUMMARY || null;
      try {
        const ctx = readActionContext(env);
        summaryFile = ctx.summaryFile;
        const result = await runAction(ctx, VERSION);
        setExit(result.exitCode);
      } catch (err) {
        const message = isKeywardenError(err)
          ? `${err.message} [${err.code}]${err.details.length > 0 ? `\n${err.details.map((d) => `  ${d}`).join('\n')}` : ''}`
          : err instanceof Error
            ? err.message
            : String(err);
        core.error(`keywarden: ${message}`);
        if (program.opts().debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
        try {
          await writeSummary({ summaryFile }, `## keywarden: error\n\n\`\`\`\n${message}\n\`\`\`\n`);
        } catch {
          // the error above is the one to report
        }
        setExit(2);
      }
    });
}
