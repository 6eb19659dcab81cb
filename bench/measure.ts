// Benchmark timing helpers: run a child process and take its wall time and peak RSS; medians.
// Peak RSS comes from GNU time (`/usr/bin/time -f %M`) when present, else from polling the child's
// /proc/<pid>/status VmHWM (the process-wide high-water mark, so worker threads are included).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';
const RSS_POLL_MS = 20;

export interface ChildRun {
  code: number;
  wallMs: number;
  /** Peak resident set size in bytes; null when it could not be measured. */
  peakRss: number | null;
  stdout: string;
  stderr: string;
  /** True when the run was killed for passing its time limit. */
  timedOut: boolean;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function hasGnuTime(): boolean {
  return existsSync(GNU_TIME);
}

/**
 * Runs `cmd args` and times it. Stdout is kept only when `captureStdout` (the rg and export runs);
 * the timed scans write their report to /dev/null themselves.
 */
export async function runChild(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; captureStdout?: boolean; timeoutMs?: number } = {},
): Promise<ChildRun> {
  const useTime = hasGnuTime();
  const dir = useTime ? mkdtempSync(join(tmpdir(), 'kw-bench-')) : null;
  const timeOut = dir ? join(dir, 'time.txt') : '';
  const [file, argv] = useTime ? [GNU_TIME, ['-f', '%M', '-o', timeOut, cmd, ...args]] : [cmd, [...args]];
  const started = performance.now();
  const child = spawn(file, argv, { cwd: opts.cwd, stdio: ['ignore', opts.captureStdout ? 'pipe' : 'ignore', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  let polled = 0;
  const poll = useTime ? null : setInterval(() => (polled = Math.max(polled, vmHwm(child.pid))), RSS_POLL_MS);
  let timedOut = false;
  // A hung scan must not hang the benchmark; kill the whole tree (GNU time would orphan its child).
  const limit = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        if (child.pid !== undefined) killTree(child.pid);
      }, opts.timeoutMs)
    : null;
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  const wallMs = performance.now() - started;
  if (poll) clearInterval(poll);
  if (limit) clearTimeout(limit);
  let peakRss: number | null = polled > 0 ? polled : null;
  if (dir) {
    // GNU time writes "Command exited with non-zero status N" before the format line when code != 0.
    const lines = existsSync(timeOut) ? readFileSync(timeOut, 'utf8').trim().split('\n') : [];
    const kb = Number(lines[lines.length - 1]);
    peakRss = Number.isFinite(kb) && kb > 0 ? kb * 1024 : null;
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    code,
    wallMs,
    peakRss,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    timedOut,
  };
}

/** Kills `pid` and its descendants, children first (found through /proc, Linux only). */
function killTree(pid: number): void {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no /proc: only the direct child is killed
  }
  for (const c of children) killTree(c);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function vmHwm(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // the child has exited between polls
  }
}

/** The path of ripgrep if it is installed (PATH first, then /usr/bin/rg). */
export function findRipgrep(pathVar: string): string | null {
  for (const dir of pathVar.split(':').filter(Boolean)) {
    const p = join(dir, 'rg');
    if (existsSync(p)) return p;
  }
  return existsSync('/usr/bin/rg') ? '/usr/bin/rg' : null;
}
