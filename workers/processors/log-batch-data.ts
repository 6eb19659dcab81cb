// The two shapes of a `scan-log-batch` job. What a shipper or CI submits (`LogBatchSubmission`: the
// raw lines) is scanned where it is submitted (API, CLI: log-batch.ts); what is queued and kept in
// Redis (`ScannedLogBatch`) holds only what the scan found: fingerprints, redacted previews, places.
// No raw line is ever written to Redis, so none reaches its AOF, retained jobs or `GET /v1/jobs/:id`.
import { z } from 'zod';
import { Finding } from '../../model/finding.js';

const nonEmpty = z.string().min(1);

/**
 * A batch of log lines from one stream, as submitted. `time`: when the batch was shipped (ISO), kept
 * on each occurrence; `firstLine`: the stream line number of lines[0] (default 1).
 */
export const LogBatchSubmission = z
  .object({
    stream: nonEmpty,
    lines: z.array(z.string()).min(1).max(100_000),
    time: z.string().optional(),
    firstLine: z.number().int().min(1).optional(),
  })
  .strict();
export type LogBatchSubmission = z.infer<typeof LogBatchSubmission>;

/**
 * A finding as a queued batch carries it: never its secret in clear. `sealed`: with KEYWARDEN_SECRET_KEY
 * set where the batch was submitted, the secret sealed as the vault seals it (AES-256-GCM, the
 * fingerprint as associated data), so the worker can hand it to the rotation loop's vault.
 */
export const QueuedFinding = Finding.omit({ secret: true })
  .extend({ sealed: z.string().min(1).optional() })
  .strict();

/** A batch after its scan: what the job keeps in Redis and the worker records. */
export const ScannedLogBatch = z
  .object({
    stream: nonEmpty,
    /** How many lines were scanned; the lines themselves are never queued. */
    lines: z.number().int().min(1),
    /** Bytes scanned (the lines joined by newlines). */
    bytes: z.number().int().min(0),
    /**
     * Keyed digest (HMAC-SHA256 under the fingerprint key, 96 bits) of the batch: distinct batches are
     * distinct jobs. Keyed, so it cannot be used to test guesses of a batch's content.
     */
    digest: z.string().regex(/^[0-9a-f]{24}$/),
    time: z.string().optional(),
    firstLine: z.number().int().min(1).optional(),
    /** What the scan found, placed in the stream (workers/log-occurrences.ts). */
    findings: z.array(QueuedFinding),
  })
  .strict();
export type ScannedLogBatch = z.infer<typeof ScannedLogBatch>;

/**
 * What a worker accepts: the scanned form, or (from a submitter older than this split, already queued)
 * the raw form, which the worker scans itself rather than drop.
 */
export const LogBatchJobData = z.union([ScannedLogBatch, LogBatchSubmission]);
export type LogBatchJobData = z.infer<typeof LogBatchJobData>;

export function isScannedLogBatch(d: LogBatchJobData): d is ScannedLogBatch {
  return typeof d.lines === 'number';
}
