// Store occurrences for the findings of one batch of log lines: shared by the `scan-log-batch` job,
// the HTTP intake mounted in `keywarden serve` and `keywarden redact --record`.
import { createHash } from 'node:crypto';
import type { Finding } from '../scanner/finding.js';
import type { Occurrence } from './store.js';

/** One batch of log lines, as far as keying its occurrences goes. */
export interface LogBatch {
  stream: string;
  /** The batch's bytes: without `firstLine`, their digest places the occurrences. */
  body: Buffer;
  /** Stream line number of the batch's first line (its findings' lines already count from it). */
  firstLine?: number;
  /** When the batch was shipped or received (ISO), kept on each occurrence's source. */
  time?: string;
  jobId?: string;
  /**
   * With `firstLine`: which run of the stream the line numbers count in (`redact --record` restarts
   * at line 1 each time it starts), so two runs' line 5 are two occurrences.
   */
  run?: string;
}

/**
 * Store occurrences for the findings of one log batch: the `scan-log-batch` job and the HTTP intake
 * mounted in `keywarden serve` both record through this, so a secret reaching the service either way
 * is the same finding with the same kind of occurrence (target = stream). Keys are stable, so a batch
 * recorded twice (a job retried, a shipper re-sending after a timeout) adds nothing.
 */
export function logBatchOccurrences(findings: readonly Finding[], batch: LogBatch): Occurrence[] {
  if (findings.length === 0) return [];
  // With firstLine the stream position is known and is the key; without it, the batch's own digest.
  const where =
    batch.firstLine !== undefined
      ? `@${batch.run ?? ''}`
      : `#${createHash('sha256').update(batch.body).digest('hex').slice(0, 24)}`;
  return findings.map((f): Occurrence => {
    const finding: Finding = batch.time ? { ...f, source: { kind: 'log', stream: batch.stream, time: batch.time } } : f;
    const o: Occurrence = {
      target: batch.stream,
      key: `log|${batch.stream}|${where}|${finding.line}|${finding.column}`,
      finding,
    };
    if (batch.jobId) o.jobId = batch.jobId;
    return o;
  });
}
