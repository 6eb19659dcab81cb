// `scan-log-batch` in two halves: `scanLogSubmission` runs where a batch is submitted (the API's
// POST /v1/scans, `keywarden enqueue`) and turns the raw lines into what the queue may keep (the
// findings: fingerprints, redacted previews, places); `logBatchScanned` runs in the worker and hands
// those findings to the store. Scanning at submission rather than in the worker is what keeps every
// raw line out of Redis (job data, the AOF, retained completed and failed jobs), and loses nothing if
// a worker dies: the queued job already holds all the batch's findings. Pure (no Redis, no clock).
import type { Finding } from '../../model/finding.js';
import { openSecret, sealSecret } from '../../rotation/vault.js';
import { redactLines } from '../../scanner/redact-lines.js';
import type { Redactor } from '../../scanner/redact-spans.js';
import { batchDigest, type LogBatch, logBatchFindings } from '../log-occurrences.js';
import { isScannedLogBatch, type LogBatchJobData, type LogBatchSubmission, type ScannedLogBatch } from './log-batch-data.js';

/**
 * The findings of `lines`, placed in the stream, with no secret on them in clear: with `sealKey`, each
 * carries its secret sealed under it (for the loop's vault); without, none at all.
 */
function scanLines(r: Redactor, d: LogBatchSubmission, sealKey?: Buffer): { findings: Finding[]; body: Buffer; digest: string } {
  const body = Buffer.from(d.lines.join('\n'), 'utf8');
  // redactLines also finds JSON-escaped secrets in JSON log lines; its redacted output is not needed here.
  const redactor: Redactor = { ...r, stream: d.stream, showSecrets: sealKey !== undefined };
  const { findings } = redactLines(redactor, body, true, (d.firstLine ?? 1) - 1);
  const batch: LogBatch = { stream: d.stream, body, key: r.key };
  if (d.firstLine !== undefined) batch.firstLine = d.firstLine;
  if (d.time !== undefined) batch.time = d.time;
  const placed = logBatchFindings(findings, batch).map(({ secret, ...f }) =>
    sealKey && secret !== undefined ? { ...f, sealed: sealSecret(sealKey, f.fingerprint, { value: secret }) } : f,
  );
  return { findings: placed, body, digest: batchDigest(r.key, body) };
}

/**
 * A submitted batch as the queue keeps it. `r` must hold the workers' rules and fingerprint key
 * (KEYWARDEN_FINGERPRINT_KEY), or one secret becomes two findings.
 */
export function scanLogSubmission(r: Redactor, d: LogBatchSubmission, sealKey?: Buffer): ScannedLogBatch {
  const { findings, body, digest } = scanLines(r, d, sealKey);
  const out: ScannedLogBatch = { stream: d.stream, lines: d.lines.length, bytes: body.length, digest, findings };
  if (d.time !== undefined) out.time = d.time;
  if (d.firstLine !== undefined) out.firstLine = d.firstLine;
  return out;
}

/**
 * The worker's half: the findings a queued batch carries (a raw batch queued by an older submitter is
 * scanned here, its secrets not kept). With `openKey` (the worker keeps raw secrets for the loop), sealed secrets are opened
 * back onto their findings; a record that does not open (another key) leaves its finding without one.
 */
export function logBatchScanned(r: Redactor, d: LogBatchJobData, openKey?: Buffer): { findings: Finding[]; bytes: number } {
  if (isScannedLogBatch(d)) {
    const findings = d.findings.map(({ sealed, ...f }): Finding => {
      if (openKey === undefined || sealed === undefined) return f;
      const opened = openSecret(openKey, f.fingerprint, sealed);
      return opened.ok ? { ...f, secret: opened.secret.value } : f;
    });
    return { findings, bytes: d.bytes };
  }
  const { findings, body } = scanLines(r, d);
  return { findings, bytes: body.length };
}
