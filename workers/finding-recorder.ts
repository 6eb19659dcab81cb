// Records findings made outside a worker (the `keywarden redact` filter) in the finding store, in the
// background: the filter never waits on Redis; occurrences are flushed every `intervalMs`; a failed
// flush keeps its batch and is tried again; `close()` reports what could not be recorded, so nothing
// is dropped silently.
import type { Finding } from '../model/finding.js';
import type { FindingStore } from './store.js';

export interface RecorderOptions {
  /** Who the audit trail names, e.g. `redact:<host>:<pid>`. */
  actor: string;
  /** @defaultValue 250 */
  intervalMs?: number;
  /** Occurrences held while Redis is away; beyond this the oldest are counted as unrecorded. @defaultValue 100000 */
  maxPending?: number;
}

export interface RecorderSummary {
  recorded: number;
  /** Occurrences that never reached the store (Redis away until the deadline, or over maxPending). */
  unrecorded: number;
  lastError?: string;
}

export class FindingRecorder {
  /** One occurrence each, so that `maxPending` and the counts are in occurrences. */
  private pending: Finding[] = [];
  private inFlight: Promise<void> | null = null;
  private recorded = 0;
  private overflowed = 0;
  private lastError: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly maxPending: number;

  constructor(
    private readonly store: FindingStore,
    private readonly opts: RecorderOptions,
  ) {
    this.maxPending = opts.maxPending ?? 100_000;
    this.timer = setInterval(() => void this.flush(), opts.intervalMs ?? 250);
    this.timer.unref();
  }

  add(findings: readonly Finding[]): void {
    for (const f of findings) for (const o of f.occurrences) this.pending.push({ ...f, occurrences: [o] });
    const over = this.pending.length - this.maxPending;
    if (over > 0) {
      this.pending.splice(0, over);
      this.overflowed += over;
    }
  }

  /** One round trip for everything pending; a failure puts the batch back for the next attempt. */
  flush(): Promise<void> {
    if (this.inFlight !== null) return this.inFlight;
    if (this.pending.length === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = [];
    this.inFlight = this.store
      .record(batch, { actor: this.opts.actor })
      .then(
        () => {
          this.recorded += batch.length;
        },
        (err: unknown) => {
          this.pending = batch.concat(this.pending);
          this.lastError = err instanceof Error ? err.message : String(err);
        },
      )
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  /** Flushes until everything is recorded or `deadlineMs` passes; stops the timer. */
  async close(deadlineMs = 10_000): Promise<RecorderSummary> {
    clearInterval(this.timer);
    const until = Date.now() + deadlineMs;
    for (;;) {
      await this.flush();
      if (this.pending.length === 0 || Date.now() >= until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const unrecorded = this.pending.length + this.overflowed;
    return {
      recorded: this.recorded,
      unrecorded,
      ...(unrecorded > 0 && this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }
}
