// CLI entry point: the only place that sees every part (sources, engine, reporters, config).
// Exit codes: 0 no findings, 1 findings, 2 error (usage, bad config or rules, I/O failure).
import { Command, CommanderError } from 'commander';
import { isKeywardenError } from '../scanner/errors.js';
import { registerDumpCommand } from './commands/dump.js';
import { registerGitCommands } from './commands/git.js';
import { registerRedactCommand } from './commands/redact.js';
import { registerRulesCommands } from './commands/rules.js';
import { registerScanCommand } from './commands/scan.js';
import { registerServeCommand } from './commands/serve.js';
import { registerQueueCommands } from './commands/worker.js';
import { VERSION } from './version.js';

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('keywarden')
    .description('Find leaked credentials and follow each one until the old key is dead.')
    .version(VERSION, '-V, --version')
    .option('--debug', 'print stack traces on errors')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const setExit = (code: number) => {
    exitCode = code;
  };
  registerScanCommand(program, setExit);
  registerRulesCommands(program, setExit);
  registerGitCommands(program, setExit);
  registerRedactCommand(program, setExit);
  registerQueueCommands(program, setExit);
  registerServeCommand(program, setExit);
  registerDumpCommand(program, setExit);

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isKeywardenError(err)) {
      process.stderr.write(`keywarden: ${err.message} [${err.code}]\n`);
      for (const d of err.details) process.stderr.write(`  ${d}\n`);
    } else {
      process.stderr.write(`keywarden: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    if (program.opts().debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 2;
  }
}
