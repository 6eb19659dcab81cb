// keywarden's service as a user runs it, for tests and the loop bench: `keywarden serve` and any
// number of `keywarden worker` processes (the compiled bin/keywarden.js) on one Redis and prefix, each
// resolved once it logs that it is ready; stderr kept per process (to prove no secret reached a log).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** A port the kernel had free a moment ago: a guess; startService tries another if serve cannot bind it. */
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** bin/keywarden.js: two levels up from test/helpers/, three from dist/test/helpers/ (the bench runs it from there). */
export const BIN = ['../../bin/keywarden.js', '../../../bin/keywarden.js']
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((p) => existsSync(p)) as string;

export interface ServiceProcess {
  proc: ChildProcess;
  /** Everything written to stderr so far. */
  log(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export function spawnKeywarden(args: string[], env: Record<string, string | undefined>, cwd: string): ServiceProcess {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d) => {
    err += d.toString();
  });
  proc.stdout?.resume();
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    log: () => err,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
}

/** Resolves once `p` has logged a line matching `pattern` (or fails when it exits or after `ms`). */
export async function waitForLog(p: ServiceProcess, pattern: RegExp, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(p.log())) {
    if (p.proc.exitCode !== null) throw new Error(`process exited ${p.proc.exitCode}: ${p.log()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}: ${p.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ServiceOptions {
  /** The environment of every process (REDIS_URL, KEYWARDEN_PREFIX, rotation settings, ...). */
  env: Record<string, string | undefined>;
  /** Working directory (its .keywarden.yaml is read). */
  cwd: string;
  /** @defaultValue 1 */
  workers?: number;
  /** Extra `keywarden worker` flags. */
  workerArgs?: string[];
}

export interface Service {
  apiUrl: string;
  port: number;
  serve: ServiceProcess;
  workers: ServiceProcess[];
  /** Starts one more worker. */
  addWorker(args?: string[]): Promise<ServiceProcess>;
  /** Every process's stderr, concatenated. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * `keywarden serve` on a free port, with KEYWARDEN_PUBLIC_URL pointing at it unless `env` sets one,
 * and `workers` worker processes.
 */
export async function startService(opts: ServiceOptions): Promise<Service> {
  // The public URL names the port, so the port is chosen first; another process may bind it before
  // serve does, and then serve exits and a new port is tried.
  let port = 0;
  let serve: ServiceProcess | null = null;
  let env: Record<string, string | undefined> = opts.env;
  for (let attempt = 0; attempt < 5 && serve === null; attempt++) {
    port = await unusedPort();
    env = { KEYWARDEN_PUBLIC_URL: `http://127.0.0.1:${port}`, ...opts.env };
    const p = spawnKeywarden(['serve', '--port', String(port)], env, opts.cwd);
    try {
      await waitForLog(p, /"event":"listening"/);
      serve = p;
    } catch (err) {
      p.kill('SIGKILL');
      if (!/EADDRINUSE/.test(p.log())) throw err;
    }
  }
  if (serve === null) throw new Error('keywarden serve found no free port');
  const apiUrl = `http://127.0.0.1:${port}`;
  const all: ServiceProcess[] = [serve];
  const workers: ServiceProcess[] = [];
  const addWorker = async (args: string[] = opts.workerArgs ?? []) => {
    const w = spawnKeywarden(['worker', ...args], env, opts.cwd);
    all.push(w);
    workers.push(w);
    await waitForLog(w, /"event":"ready"/);
    return w;
  };
  try {
    await Promise.all(Array.from({ length: opts.workers ?? 1 }, () => addWorker()));
  } catch (err) {
    for (const p of all) p.kill('SIGKILL');
    throw err;
  }
  return {
    apiUrl,
    port,
    serve: serve as ServiceProcess,
    workers,
    addWorker,
    logs: () => all.map((p) => p.log()).join('\n'),
    async stop() {
      for (const p of all) p.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const p of all) p.kill('SIGKILL');
      }, 10_000);
      await Promise.all(all.map((p) => (p.proc.exitCode !== null || p.proc.signalCode !== null ? null : p.exited)));
      clearTimeout(timer);
    },
  };
}
