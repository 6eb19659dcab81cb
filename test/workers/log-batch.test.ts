// `scan-log-batch` scanned where it is submitted (workers/processors/log-batch.ts): what is queued holds
// the findings and never the lines, and records exactly what a worker scanning the lines would have.
import { describe, expect, it } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { jobIdFor, parseJob, parseSubmission } from '../../workers/jobs.js';
import { logBatchScanned, scanLogSubmission } from '../../workers/processors/log-batch.js';
import { ScannedLogBatch } from '../../workers/processors/log-batch-data.js';
import { githubToken, logBatches } from './fixtures.js';

const rng = seededRng(2027);
const password = expandTemplate('«{base62:14}»', { rng }).secret!;
const token = githubToken(7001);
const lines = [`auth failed with token ${token}`, 'GET /health 200', `DB_PASSWORD=${password}`];

describe('a log batch scanned at submission', () => {
  it('is queued as counts, a keyed digest and redacted findings, without a line or a secret', () => {
    const queued = scanLogSubmission(logBatches(), { stream: 'api', lines, firstLine: 10, time: '2026-12-03T00:00:00Z' });
    expect(ScannedLogBatch.parse(queued)).toEqual(queued);
    expect(queued).toMatchObject({ stream: 'api', lines: 3, firstLine: 10, time: '2026-12-03T00:00:00Z' });
    expect(queued.bytes).toBe(Buffer.byteLength(lines.join('\n')));
    expect(queued.digest).toMatch(/^[0-9a-f]{24}$/);
    expect(queued.findings.map((f) => [f.ruleId, f.occurrences.map((o) => o.span.line)])).toEqual(
      expect.arrayContaining([
        ['github-pat', [10]],
        ['generic-password', [12]],
      ]),
    );
    const text = JSON.stringify(queued);
    for (const s of [token, password, 'GET /health']) expect(text).not.toContain(s);
    expect(queued.findings.every((f) => !('secret' in f))).toBe(true);
  });

  it('records what a worker scanning the raw lines records (a raw batch queued by an older submitter still works)', () => {
    const r = logBatches();
    for (const sub of [
      { stream: 'api', lines },
      { stream: 'api', lines, firstLine: 40 },
    ]) {
      const atSubmission = logBatchScanned(r, parseJob('scan-log-batch', scanLogSubmission(r, sub)).data as never);
      const inWorker = logBatchScanned(r, parseJob('scan-log-batch', sub).data as never);
      expect(atSubmission).toEqual(inWorker);
    }
  });

  it('keeps distinct batches distinct jobs and the same batch one job', () => {
    const r = logBatches();
    const id = (ls: string[]) => jobIdFor('scan-log-batch', scanLogSubmission(r, { stream: 's', lines: ls }));
    expect(id(['a', 'b'])).toBe(id(['a', 'b']));
    expect(id(['a', 'b'])).not.toBe(id(['a', 'c']));
  });

  it('is submitted as lines only: the queued form is not accepted from a submitter', () => {
    const queued = scanLogSubmission(logBatches(), { stream: 's', lines: ['x'] });
    expect(() => parseSubmission('scan-log-batch', queued)).toThrow(/KW_JOB_INVALID|invalid scan-log-batch/);
    expect(parseSubmission('scan-log-batch', { stream: 's', lines: ['x'] }).kind).toBe('scan-log-batch');
  });
});
