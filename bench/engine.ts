// The engine alone: one thread, files already in memory, so no fs, threads or reporting count.
// Runs in a worker thread started by bench/run.ts, which can then stop a hung engine with a time
// limit (a synchronous loop on the main thread could not be interrupted).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { builtinRules } from '../rules/builtin.js';
import type { Rule } from '../rules/schema.js';
import { compilePack } from '../scanner/engine/compile.js';
import { scanBuffer } from '../scanner/engine/engine.js';
import { walkFiles } from './corpus.js';

const MB = 1e6;

export interface EngineResult {
  loadedMB: number;
  files: number;
  runsMs: number[];
  mbPerSec: number;
  /** Raw engine matches in one pass (before grouping and suppression). */
  matches: number;
}

interface EngineJob {
  dir: string;
  engineMB: number;
  runs: number;
}

type EngineMessage = { kind: 'log'; line: string } | { kind: 'done'; result: EngineResult } | { kind: 'error'; message: string };

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function measure(job: EngineJob, rules: Rule[], log: (line: string) => void): EngineResult {
  const limit = job.engineMB * MB;
  const files: Array<{ path: string; buf: Buffer }> = [];
  let loaded = 0;
  for (const f of walkFiles(job.dir)) {
    if (loaded >= limit) break;
    const buf = readFileSync(f.abs);
    files.push({ path: f.rel, buf });
    loaded += buf.length;
  }
  const pack = compilePack(rules);
  const pass = (): number => {
    let matches = 0;
    for (const f of files) matches += scanBuffer(pack, f.buf, { path: f.path }).length;
    return matches;
  };
  const matches = pass(); // untimed: JIT warm-up
  const times: number[] = [];
  for (let i = 0; i < job.runs; i++) {
    const t0 = performance.now();
    pass();
    const ms = performance.now() - t0;
    times.push(ms);
    log(`  engine run ${i + 1}/${job.runs}: ${(ms / 1000).toFixed(2)} s`);
  }
  return {
    loadedMB: loaded / MB,
    files: files.length,
    runsMs: times.map(Math.round),
    mbPerSec: loaded / MB / (median(times) / 1000),
    matches,
  };
}

/** Measures the engine in a worker thread; rejects if it takes longer than `timeoutMs` in all. */
export function measureEngine(job: EngineJob, timeoutMs: number, log: (line: string) => void): Promise<EngineResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: job });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`engine run stopped after ${timeoutMs / 1000} s (see --timeout)`))),
      timeoutMs,
    );
    worker.on('message', (m: EngineMessage) => {
      if (m.kind === 'log') log(m.line);
      else if (m.kind === 'done') settle(() => resolve(m.result));
      else settle(() => reject(new Error(m.message)));
    });
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) => settle(() => reject(new Error(`engine worker exited with code ${code}`))));
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const post = (m: EngineMessage) => port.postMessage(m);
  try {
    const rules = await builtinRules();
    post({ kind: 'done', result: measure(workerData as EngineJob, rules, (line) => post({ kind: 'log', line })) });
  } catch (err) {
    post({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}
