// `keywarden worker` as a real child process (from dist/), for the tests that kill, stop or starve
// one: started with short lock and stalled intervals, resolved once it logs `ready`.
import { type ChildProcess, spawn } from 'node:child_process';

export interface SpawnedWorker {
  proc: ChildProcess;
  /** Everything it wrote to stderr (its pino lines) so far. */
  log: () => string;
}

/** Polls `cond` every 50 ms; throws `timed out: <what()>` after `timeoutMs`. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts `node <bin> worker --lock-duration 2000 --stalled-interval 500 <args>` and resolves once it
 * is ready; `children` collects it for the caller's cleanup (SIGKILL whatever is left).
 */
export async function spawnWorkerProcess(
  bin: string,
  args: readonly string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; children: Set<ChildProcess> },
): Promise<SpawnedWorker> {
  const proc = spawn(process.execPath, [bin, 'worker', '--lock-duration', '2000', '--stalled-interval', '500', ...args], {
    env: opts.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  opts.children.add(proc);
  let out = '';
  proc.stderr!.on('data', (d) => {
    out += d.toString();
  });
  await until(
    () => out.includes('"event":"ready"') || proc.exitCode !== null,
    20_000,
    () => `worker did not start: ${out}`,
  );
  if (proc.exitCode !== null) throw new Error(`worker exited ${proc.exitCode}: ${out}`);
  return { proc, log: () => out };
}
