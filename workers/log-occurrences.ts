// Places the findings of one batch of log lines in their stream, so that each occurrence's key
// (`occurrenceKey`, model/occurrence.ts) is stable: shared by the `scan-log-batch` job, the HTTP
// intake mounted in `keywarden serve` and `keywarden redact --record`.
import { createHash } from 'node:crypto';
import type { Finding } from '../model/finding.js';

/** One batch of log lines, as far as placing its occurrences goes. */
export interface LogBatch {
  stream: string;
  /** The batch's bytes: without `firstLine`, their digest places the occurrences. */
  body: Buffer;
  /** Stream line number of the batch's first line (its findings' lines already count from it). */
  firstLine?: number;
  /** When the batch was shipped or received (ISO), kept on each occurrence's provenance. */
  time?: string;
  /**
   * With `firstLine`: which run of the stream the line numbers count in (`redact --record` restarts
   * at line 1 each time it starts), so two runs' line 5 are two occurrences.
   */
  run?: string;
}

/**
 * The batch's findings with their log provenance completed: the stream, the time, and where the line
 * numbers count (`run` when the stream position is known, else the batch's digest). A secret reaching
 * the service by a job or by the intake is then the same finding with the same kind of occurrence
 * (target = stream), and a batch recorded twice (a job retried, a shipper re-sending after a timeout)
 * adds nothing.
 */
export function logBatchFindings(findings: readonly Finding[], batch: LogBatch): Finding[] {
  if (findings.length === 0) return [];
  const where =
    batch.firstLine !== undefined
      ? batch.run !== undefined
        ? { run: batch.run }
        : {}
      : { batch: createHash('sha256').update(batch.body).digest('hex').slice(0, 24) };
  const time = batch.time !== undefined ? { time: batch.time } : {};
  return findings.map((f) => ({
    ...f,
    occurrences: f.occurrences.map((o) => ({
      ...o,
      provenance: { kind: 'log' as const, stream: batch.stream, ...time, ...where },
    })),
  }));
}
