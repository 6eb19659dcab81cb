// CLI entry point: the only place that sees every part (sources, engine, reporters, config).
// Exit codes: 0 no findings, 1 findings, else the error table's `exit` column (errors/codes.ts: 2).
import { Command, CommanderError } from 'commander';
import type { Environment } from '../config/section.js';
import { VERSION } from '../config/version.js';
import { isKeywardenError, specOf } from '../errors/error.js';

/**
 * A command module's registration. `env` is the environment as start-up read it, once: commands build
 * their settings from it (cli/startup.ts) and nothing below them reads `process.env`.
 */
type Register = (program: Command, setExit: (code: number) => void, env: Environment) => void;

/**
 * Command modules, loaded only when their command runs: the service commands pull in BullMQ,
 * ioredis and fastify, which cost `keywarden scan` ~0.3 s of start-up when imported eagerly.
 */
const MODULES: Record<string, () => Promise<Register>> = {
  scan: async () => (await import('./commands/scan.js')).registerScanCommand,
  rules: async () => (await import('./commands/rules.js')).registerRulesCommands,
  git: async () => (await import('./commands/git.js')).registerGitCommands,
  dump: async () => (await import('./commands/dump.js')).registerDumpCommand,
  redact: async () => (await import('./commands/redact.js')).registerRedactCommand,
  queue: async () => (await import('./commands/worker.js')).registerQueueCommands,
  serve: async () => (await import('./commands/serve.js')).registerServeCommand,
  rotation: async () => (await import('./commands/rotation.js')).registerRotationCommands,
  action: async () => (await import('./commands/action.js')).registerActionCommand,
};

/** Which module defines each top-level command. */
const COMMAND_MODULE: Record<string, string> = {
  scan: 'scan',
  rules: 'rules',
  history: 'git',
  diff: 'git',
  staged: 'git',
  dump: 'dump',
  redact: 'redact',
  intake: 'redact',
  worker: 'queue',
  enqueue: 'queue',
  findings: 'queue',
  serve: 'serve',
  verify: 'rotation',
  rotate: 'rotation',
  action: 'action',
};

/**
 * The first argument that is not a global option names the command; unknown or none loads all (for
 * the help text), except a bare `--version`, which needs none.
 */
function modulesFor(argv: readonly string[]): string[] {
  const args = argv.slice(2);
  const first = args.find((a) => !a.startsWith('-'));
  if (first === undefined && (args.includes('-V') || args.includes('--version'))) return [];
  const one = first === undefined ? undefined : COMMAND_MODULE[first];
  return one === undefined ? Object.keys(MODULES) : [one];
}

/**
 * `keywarden scan DIR` on threads: the workers boot while the command's modules load (~100 ms here).
 * A guess from argv alone; a wrong guess costs only idle threads (see prestartWorkers).
 */
async function prestartForScan(argv: readonly string[]): Promise<void> {
  const args = argv.slice(2);
  if (args.find((a) => !a.startsWith('-')) !== 'scan' || args.includes('-')) return;
  const threads = args.find((a, i) => a.startsWith('--threads=') || args[i - 1] === '--threads');
  if (threads !== undefined && Number.parseInt(threads.replace('--threads=', ''), 10) === 0) return;
  const [{ prestartWorkers }, { availableParallelism }] = await Promise.all([
    import('../scanner/threads/pool.js'),
    import('node:os'),
  ]);
  prestartWorkers(availableParallelism());
}

export async function main(argv: string[], env: Environment = process.env): Promise<number> {
  // The one read of the environment: a frozen copy every command gets.
  const startupEnv: Environment = Object.freeze({ ...env });
  let exitCode = 0;
  await prestartForScan(argv);
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

  try {
    for (const name of modulesFor(argv)) (await MODULES[name]!())(program, setExit, startupEnv);
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
    return specOf(err).exit;
  }
}
