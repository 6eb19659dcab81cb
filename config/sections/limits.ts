// How long and how much a job may take, and how long a stopping worker waits for its jobs. A job past
// its time limit fails with KW_JOB_TIMEOUT (not retried); a dump past its byte limit with
// KW_LIMIT_EXCEEDED, after what was read is recorded.
import { z } from 'zod';
import { Duration, Size } from '../fields.js';
import { defineSection } from '../section.js';

/** The job kinds (workers/jobs.ts), as this leaf knows them: each has a time limit. */
export const LIMITED_KINDS = [
  'scan-history',
  'scan-diff',
  'scan-dump',
  'scan-log-batch',
  'rotate',
  'confirm-revocation',
] as const;
export type LimitedKind = (typeof LIMITED_KINDS)[number];

/**
 * Milliseconds per kind: a full history of a large repository takes tens of minutes
 * (docs/benchmarks.md), a log batch milliseconds.
 */
export const DEFAULT_JOB_TIMEOUTS: Readonly<Record<LimitedKind, number>> = {
  'scan-history': 60 * 60_000,
  'scan-diff': 15 * 60_000,
  'scan-dump': 30 * 60_000,
  'scan-log-batch': 60_000,
  rotate: 5 * 60_000,
  'confirm-revocation': 5 * 60_000,
};
/** @defaultValue 16 GiB: a large process's core file; /dev/zero stops there. */
export const DEFAULT_DUMP_MAX_BYTES = 16 * 1024 ** 3;
/** @defaultValue 20 s: inside Kubernetes' default 30 s termination grace. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 20_000;

/** `KEYWARDEN_JOB_TIMEOUT_SCAN_HISTORY` for `scan-history`. */
export function timeoutVariable(kind: LimitedKind): string {
  return `KEYWARDEN_JOB_TIMEOUT_${kind.toUpperCase().replace(/-/g, '_')}`;
}

const PerKind = z
  .object({
    /** `KEYWARDEN_JOB_TIMEOUT`: every kind not set on its own. @defaultValue each kind's default */
    default: Duration.optional(),
    ...Object.fromEntries(LIMITED_KINDS.map((k) => [k, Duration.optional()])),
  })
  .strict()
  .transform((v) => {
    const all = v.default as number | undefined;
    const out = {} as Record<LimitedKind, number>;
    for (const k of LIMITED_KINDS) out[k] = (v as Record<string, number | undefined>)[k] ?? all ?? DEFAULT_JOB_TIMEOUTS[k];
    return out;
  });

export const limitsSection = defineSection({
  key: 'limits',
  fromFile: true,
  env: {
    KEYWARDEN_JOB_TIMEOUT: 'jobTimeout.default',
    ...Object.fromEntries(LIMITED_KINDS.map((k) => [timeoutVariable(k), `jobTimeout.${k}`])),
    KEYWARDEN_DUMP_MAX_BYTES: 'dumpMaxBytes',
    KEYWARDEN_SHUTDOWN_GRACE: 'shutdownGrace',
  },
  schema: z
    .object({
      /**
       * Time limit per job kind, milliseconds or a duration (`30m`): `KEYWARDEN_JOB_TIMEOUT` for all,
       * `KEYWARDEN_JOB_TIMEOUT_<KIND>` for one (file: `jobTimeout: {default: 30m, scan-history: 2h}`).
       * @defaultValue scan-history 1 h, scan-diff 15 min, scan-dump 30 min, scan-log-batch 1 min, rotate and confirm-revocation 5 min
       */
      jobTimeout: PerKind.prefault({}),
      /** `KEYWARDEN_DUMP_MAX_BYTES`: bytes a dump job reads (after gunzip) before it stops. @defaultValue 16 GiB */
      dumpMaxBytes: Size.default(DEFAULT_DUMP_MAX_BYTES),
      /**
       * `KEYWARDEN_SHUTDOWN_GRACE`: after SIGTERM, how long a worker lets its jobs finish before it hands
       * the rest back to the queue and exits. @defaultValue 20 s
       */
      shutdownGrace: Duration.default(DEFAULT_SHUTDOWN_GRACE_MS),
    })
    .strict(),
});
