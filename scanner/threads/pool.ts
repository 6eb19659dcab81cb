// A small pool of scan worker threads with bounded in-flight batches (backpressure on the walker).
// Two threads on this 2-core machine took the engine from ~110 to 155–204 MB/s (docs/benchmarks.md, design measurements).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KeywardenError } from '../../errors/error.js';
import type { BatchOutcome, BatchRequest, BatchResponse, InitRequest, WorkerInit } from './protocol.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));
/** Batches queued per worker: enough to hide message latency, few enough to keep memory flat. */
const IN_FLIGHT_PER_WORKER = 3;

/** Worker threads need the compiled worker.js; running from TypeScript sources (vitest) they are absent. */
export function workersAvailable(): boolean {
  return existsSync(WORKER_SCRIPT);
}

/** Booted ahead of need by `prestartWorkers`, waiting for a pool to adopt them. */
const prestarted: Worker[] = [];

/**
 * Starts `n` scan workers now, before the scan knows its rules: booting a worker thread and loading the
 * engine costs ~100-150 ms here, which otherwise came after the CLI's own start-up instead of beside
 * it. Unadopted workers are unref'd, so they never keep the process alive.
 */
export function prestartWorkers(n: number): void {
  if (prestarted.length > 0 || !workersAvailable()) return;
  for (let i = 0; i < n; i++) {
    const worker = new Worker(WORKER_SCRIPT);
    worker.unref();
    // A worker that dies before adoption is simply not adopted (the pool starts a fresh one).
    worker.on('error', () => {});
    worker.once('exit', () => {
      const at = prestarted.indexOf(worker);
      if (at !== -1) prestarted.splice(at, 1);
    });
    prestarted.push(worker);
  }
}

interface Slot {
  worker: Worker;
  inFlight: number;
}

export class ScanPool {
  private readonly slots: Slot[];
  private readonly pending = new Map<number, { slot: Slot; resolve: (r: BatchOutcome) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private waiters: Array<() => void> = [];
  private failure: Error | null = null;

  constructor(size: number, init: WorkerInit) {
    this.slots = Array.from({ length: size }, () => {
      const worker = prestarted.shift() ?? new Worker(WORKER_SCRIPT);
      worker.ref();
      worker.postMessage({ kind: 'init', init } satisfies InitRequest);
      const slot: Slot = { worker, inFlight: 0 };
      worker.on('message', (res: BatchResponse) => this.onResult(res));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`scan worker exited with code ${code}`));
      });
      return slot;
    });
    // Started for a guess of more threads than this pool wants (`--threads 1`): not kept idle.
    for (const extra of prestarted.splice(0)) void extra.terminate();
  }

  /**
   * Waits while every worker is full, then hands the batch over; `done` settles with its results.
   * (Wrapped in an object because an async function would flatten a returned promise.)
   */
  async submit(files: BatchRequest['files']): Promise<{ done: Promise<BatchOutcome> }> {
    for (;;) {
      if (this.failure) throw this.failure;
      const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      if (slot.inFlight < IN_FLIGHT_PER_WORKER) {
        slot.inFlight++;
        const id = this.nextId++;
        const done = new Promise<BatchOutcome>((resolve, reject) => this.pending.set(id, { slot, resolve, reject }));
        slot.worker.postMessage({ kind: 'batch', id, files } satisfies BatchRequest);
        return { done };
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private onResult(res: BatchResponse): void {
    const p = this.pending.get(res.id);
    if (!p) return;
    this.pending.delete(res.id);
    p.slot.inFlight--;
    p.resolve(res);
    this.wake();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = new KeywardenError('KW_INTERNAL', `scan worker failed: ${err.message}`, [], { cause: err });
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
