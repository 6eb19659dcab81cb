// Runs git as a child process for the streaming paths (log, diff, cat-file) and wraps simple-git for
// repository operations. Every git process gets the same environment: no prompts, no optional locks,
// and the caller's auth config (see remote.ts), which lives in env vars so it never shows in argv.
import { type ChildProcess, spawn } from 'node:child_process';
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

/** simple-git bound to a directory, with our environment; `signal` kills its git processes when aborted. */
export function simpleGitAt(dir: string, env: Record<string, string>, signal?: AbortSignal): SimpleGit {
  return simpleGit({
    baseDir: dir,
    ...(signal ? { abort: signal } : {}),
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
  /**
   * Kills the child and everything it started (an ssh or git-remote-http helper) when aborted: a job's
   * time limit or a worker's shutdown. The child then runs in its own process group.
   */
  signal?: AbortSignal | undefined;
}

/** Kills a detached child's whole process group (git and the ssh or https helper it spawned). */
function killProcessGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, sig);
  } catch {
    child.kill(sig); // not a group leader (not detached), or already gone
  }
}

/** Runs `git args` to completion and returns stdout as bytes (paths and content need not be UTF-8). */
export function runGit(args: readonly string[], opts: RunOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const { signal } = opts;
    // Its own group, so an abort also ends the transport git spawned (killing git alone leaves a hung
    // ssh behind). Only with a signal: a CLI user's Ctrl-C must still reach git through the terminal.
    const child = spawn('git', args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'], detached: !!signal });
    const killGroup = () => killProcessGroup(child, 'SIGTERM');
    if (signal?.aborted) killGroup();
    else signal?.addEventListener('abort', killGroup, { once: true });
    child.on('close', () => signal?.removeEventListener('abort', killGroup));
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

/** What `--progress` prints: counters and the "Cloning into" line, never the reason for a failure. */
const PROGRESS =
  /^(remote: )?([A-Z][a-z]+( [a-z]+)*: +\d+%|(Enumerating|Counting|Compressing|Receiving|Resolving) |Cloning into )/;

export interface WatchedRunOptions extends RunOptions {
  /** Milliseconds without a byte on stdout or stderr after which git (and its transport helper) is killed. */
  idleMs: number;
  /** Names the operation in the timeout's message (`clone https://host/r`), already redacted. */
  what: string;
}

/**
 * Runs a network git command (clone, fetch) with a watchdog: git prints `--progress` on stderr while
 * it transfers, so silence for `idleMs` means a server that accepted and went quiet (git's own
 * http.lowSpeedTime does not cover a stalled TLS handshake or ssh banner). The child runs in its own
 * process group so the kill reaches git-remote-https or ssh too.
 */
export function runGitWatched(args: readonly string[], opts: WatchedRunOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        killProcessGroup(child, 'SIGKILL');
      }, opts.idleMs);
    };
    arm();
    // A job's time limit or the worker's shutdown: the same kill as the watchdog's, reported as the abort.
    const { signal } = opts;
    const onAbort = () => {
      clearTimeout(timer);
      killProcessGroup(child, 'SIGKILL');
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    child.on('close', () => signal?.removeEventListener('abort', onAbort));
    child.stdout.on('data', (c: Buffer) => {
      out.push(c);
      arm();
    });
    child.stderr.on('data', (c: Buffer) => {
      // Progress lines are rewritten in place with \r; keep the last few KiB for the message only.
      err.push(c);
      if (err.length > 64) err.splice(0, err.length - 64);
      arm();
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new KeywardenError('KW_SOURCE_READ', `cannot run git: ${e.message}`, [], { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (signal?.aborted) {
        reject(signal.reason instanceof Error ? signal.reason : new KeywardenError('KW_JOB_TIMEOUT', `git ${opts.what} aborted`));
      } else if (timedOut) {
        reject(
          new KeywardenError(
            'KW_GIT_TIMEOUT',
            `git ${opts.what} stopped: the remote sent nothing for ${Math.round(opts.idleMs / 1000)} s`,
            ['KEYWARDEN_GIT_IDLE_TIMEOUT sets how long a clone or fetch may stay silent'],
          ),
        );
      } else if (code === 0) resolve(Buffer.concat(out));
      else {
        const text = Buffer.concat(err)
          .toString('utf8')
          .split(/[\r\n]/)
          .filter((l) => !PROGRESS.test(l))
          .join('\n');
        reject(new GitCommandError(args[0] ?? 'git', code ?? -1, redact(text, opts.redact)));
      }
    });
  });
}
