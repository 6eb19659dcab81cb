// Runs git as a child process for the streaming paths (log, diff, cat-file) and wraps simple-git for
// repository operations. Every git process gets the same environment: no prompts, no optional locks,
// and the caller's auth config (see remote.ts), which lives in env vars so it never shows in argv.
import { spawn } from 'node:child_process';
import { type SimpleGit, simpleGit } from 'simple-git';
import { KeywardenError } from '../../../errors/error.js';

/** Environment for every git child: the caller's env plus settings that keep git non-interactive. */
export function gitEnv(base: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  // A missing credential must fail the command, not hang it on a prompt.
  env.GIT_TERMINAL_PROMPT = '0';
  // `git diff` would otherwise refresh (and lock) the index; a pre-commit hook runs while git holds it.
  env.GIT_OPTIONAL_LOCKS = '0';
  // Stable messages and no pager, whatever the user's locale and config say.
  env.LC_ALL = 'C';
  env.GIT_PAGER = 'cat';
  return { ...env, ...extra };
}

/** simple-git bound to a directory, with our environment. */
export function simpleGitAt(dir: string, env: Record<string, string>): SimpleGit {
  return simpleGit({
    baseDir: dir,
    maxConcurrentProcesses: 4,
    trimmed: false,
    allowEnvironment: Object.keys(env),
    // simple-git refuses env vars that change what git executes, to protect argv built from untrusted
    // input. Here the env is the invoking user's own (their editor, pager, ssh, GIT_CONFIG_*), plus our
    // GIT_CONFIG_* auth header: refusing it would only break the user's setup. Argv stays guarded.
    unsafe: {
      allowUnsafeEditor: true,
      allowUnsafePager: true,
      allowUnsafeAskPass: true,
      allowUnsafeConfigEnvCount: true,
      allowUnsafeConfigPaths: true,
      allowUnsafeSshCommand: true,
      allowUnsafeExec: true,
      allowUnsafeDiffExternal: true,
      allowUnsafeGitProxy: true,
      allowUnsafeTemplateDir: true,
    },
  }).env(env);
}

export interface RunOptions {
  cwd: string;
  env: Record<string, string>;
  input?: string | Buffer;
  /** Strings to cut out of any error message (a token, a URL with credentials). */
  redact?: readonly string[];
}

/** Runs `git args` to completion and returns stdout as bytes (paths and content need not be UTF-8). */
export function runGit(args: readonly string[], opts: RunOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(new KeywardenError('KW_SOURCE_READ', `cannot run git: ${e.message}`, [], { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new GitCommandError(args[0] ?? 'git', code ?? -1, redact(Buffer.concat(err).toString('utf8'), opts.redact)));
    });
    child.stdin.on('error', () => {}); // git may exit before reading all input; the exit code tells.
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * A git command that exited non-zero; `stderr` is already redacted. KW_GIT_COMMAND is not retried by
 * workers: git failing on the same repository and arguments fails the same way again.
 */
export class GitCommandError extends KeywardenError {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super('KW_GIT_COMMAND', `git ${command} failed (exit ${exitCode}): ${firstLine(stderr)}`);
    this.name = 'GitCommandError';
  }
}

export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.replace(/^(fatal|error): /, '').trim();
}

/** Removes each of `secrets` and any URL userinfo (`https://user:pass@host`) from a message. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}
