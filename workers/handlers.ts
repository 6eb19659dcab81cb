// One processor per job kind (`processors`): typed job data and a context in, a typed result out.
// The scan kinds share one path (scan, then record the findings' occurrences, then count); the kinds
// that act on one finding (rotate, confirm-revocation) are the rotation loop's (workers/processors/). No BullMQ here
// (worker.ts wires it), so tests and the bench can call these directly.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Environment } from '../config/section.js';
import { KeywardenError } from '../errors/error.js';
import type { Finding } from '../model/finding.js';
import type { Rule } from '../rules/schema.js';
import { type KeywardenConfig, loadConfig, resolveRules } from '../scanner/config.js';
import { type CompiledPack, compilePack, type GlobalAllowlist } from '../scanner/engine/compile.js';
import { redactLines } from '../scanner/redact-lines.js';
import type { Redactor } from '../scanner/redact-spans.js';
import { scanDumpFile } from '../scanner/scan-dump.js';
import { type GitScanOptions, type GitScanResult, scanDiff, scanHistory } from '../scanner/scan-git.js';
import { isRemoteUrl, openRemote } from '../scanner/sources/git/remote.js';
import { existingCommits, type GitRepo, openRepo } from '../scanner/sources/git/repo.js';
import { targetOf } from '../scanner/target.js';
import type { JobData, JobKind, JobResult, ScanKind } from './jobs.js';
import { type LogBatch, logBatchFindings } from './log-occurrences.js';
import type { Loop } from './loop.js';
import { handOver } from './loop-actions.js';
import { processConfirmRevocation } from './processors/confirm-revocation.js';
import { processRotate, requireLoop } from './processors/rotate.js';
import type { FindingStore } from './store.js';

/** What every handler needs, built once per worker process. */
export interface ScanSettings {
  /** Rules for dumps and log batches (history scans also read the repository's own config). */
  rules: Rule[];
  globalAllow: GlobalAllowlist;
  /** Must be the same on every worker (KEYWARDEN_FINGERPRINT_KEY), or one secret becomes many findings. */
  fingerprintKey: Buffer;
  /** Bytes. */
  maxFileSize: number;
  /** Where URL repositories are cloned. */
  cacheDir: string;
  /** The start-up environment, for git child processes only. */
  env: Environment;
}

/** What a processor is given besides its job's data. */
export interface ProcessorContext {
  scan: ScanSettings;
  store: FindingStore;
  /** Written into audit events. */
  actor: string;
  /** The BullMQ job id, kept on the occurrences a job records. */
  jobId?: string;
  /**
   * Test hook: record occurrences one at a time and await this after each, with the count so far
   * (`keywarden worker --debug-hold-after`: to stop a worker mid-job at a known point).
   */
  afterRecord?: (recorded: number) => Promise<void>;
  /**
   * The rotation loop: new findings of a scan go to it (raw secret into the vault, the policy's job),
   * and the rotate and confirm-revocation kinds need it. @defaultValue none: scans only record
   */
  loop?: Loop;
}

/** Whether a scan keeps raw secrets in memory: only to hand them to the vault, and only if there is one. */
function keepsSecrets(ctx: ProcessorContext): boolean {
  return ctx.loop?.vault != null;
}

/** A job kind's work: its parsed data and the context in, its result out (BullMQ keeps it). */
export type Processor<K extends JobKind> = (data: JobData<K>, ctx: ProcessorContext) => Promise<JobResult<K>>;

/** What a scan found, before it is recorded. */
export interface Scanned {
  /** With complete provenance (repository, dump path, log batch): their occurrence keys are final. */
  findings: Finding[];
  bytes: number;
  /** Runs after the occurrences are stored (an incremental scan saves its tips only then). */
  after?: () => Promise<void>;
  /** The source failed part-way: what was found is stored, then the job fails with this (and is retried). */
  error?: KeywardenError;
}

/**
 * Settings from the built-in pack and the scan settings of the worker's config file (read at
 * start-up). `env` is the start-up environment, handed to git (credentials, ssh settings).
 */
export async function defaultScanSettings(
  config: KeywardenConfig,
  fingerprintKey: Buffer,
  cacheDir: string,
  env: Environment,
): Promise<ScanSettings> {
  const rules = await resolveRules(config);
  return { rules, globalAllow: config.allowlist, fingerprintKey, maxFileSize: config.maxFileSize, cacheDir, env };
}

const packs = new WeakMap<ScanSettings, CompiledPack>();
/** Compiled once per settings object: a log batch must not pay for compiling the pack. */
function packOf(s: ScanSettings): CompiledPack {
  let p = packs.get(s);
  if (!p) {
    p = compilePack(s.rules, s.globalAllow);
    packs.set(s, p);
  }
  return p;
}

/**
 * The one path every scan kind takes: scan, record every occurrence (keys from the provenance, so a
 * re-run adds nothing), then the follow-up and the counts.
 */
function scanProcessor<K extends ScanKind>(
  kind: K,
  scan: (data: JobData<K>, ctx: ProcessorContext) => Promise<Scanned>,
): Processor<K> {
  return async (data, ctx) => {
    const started = performance.now();
    const scanned = await scan(data, ctx);
    const recorded = await ctx.store.record(
      scanned.findings,
      { actor: ctx.actor },
      {
        ...(ctx.jobId !== undefined ? { jobId: ctx.jobId } : {}),
        ...(ctx.afterRecord ? { onBatch: ctx.afterRecord, batchSize: 1 } : {}),
      },
    );
    // Before the job can fail: what was recorded enters the loop even if the source broke part-way.
    if (ctx.loop) await handOver(ctx.loop, scanned.findings);
    if (scanned.error) throw scanned.error;
    if (scanned.after) await scanned.after();
    return { kind, ...recorded, bytes: scanned.bytes, durationMs: Math.round(performance.now() - started) } as JobResult<K>;
  };
}

/** Every job kind's processor: a kind added to jobs.ts without one here is a compile error. */
export const processors: { [K in JobKind]: Processor<K> } = {
  'scan-history': scanProcessor('scan-history', scanHistoryJob),
  'scan-diff': scanProcessor('scan-diff', scanDiffJob),
  'scan-dump': scanProcessor('scan-dump', scanDumpJob),
  'scan-log-batch': scanProcessor('scan-log-batch', scanLogBatchJob),
  rotate: (d, ctx) => processRotate(d, requireLoop(ctx.loop), ctx.actor),
  'confirm-revocation': (d, ctx) => processConfirmRevocation(d, requireLoop(ctx.loop), ctx.actor),
};

/** Runs `kind`'s processor on data already parsed for it. */
export function runProcessor<K extends JobKind>(kind: K, data: JobData<K>, ctx: ProcessorContext): Promise<JobResult<K>> {
  const processor: Processor<K> = processors[kind];
  return processor(data, ctx);
}

// ---- git ---------------------------------------------------------------------------------------

interface OpenedRepo {
  repo: GitRepo;
  /** The repository's name in the store (`targetOf`): every occurrence's `provenance.repo`. */
  target: string;
}

async function openTarget(repoArg: string, s: ScanSettings): Promise<OpenedRepo> {
  if (isRemoteUrl(repoArg)) {
    const r = await openRemote(repoArg, { env: s.env, cacheDir: s.cacheDir });
    return { repo: r.repo, target: targetOf(repoArg) };
  }
  const repo = await openRepo(resolve(repoArg), s.env);
  // Named by what git says the repository is, not by the directory given (a subdirectory, a link).
  return { repo, target: targetOf(repo.workTree ?? repo.gitDir) };
}

async function gitOptions(repo: GitRepo, s: ScanSettings, showSecrets: boolean): Promise<GitScanOptions> {
  if (repo.workTree === null)
    return {
      rules: s.rules,
      globalAllow: s.globalAllow,
      fingerprintKey: s.fingerprintKey,
      showSecrets,
      maxFileSize: s.maxFileSize,
    };
  const config = await loadConfig(repo.workTree);
  const rules = await resolveRules(config);
  return {
    rules,
    globalAllow: config.allowlist,
    fingerprintKey: s.fingerprintKey,
    showSecrets,
    maxFileSize: config.maxFileSize,
  };
}

/** The scan's findings with the repository on every occurrence's provenance. */
function inRepo(target: string, result: GitScanResult): Finding[] {
  return result.findings.map((f) => ({
    ...f,
    occurrences: f.occurrences.map((o) =>
      o.provenance.kind === 'git' ? { ...o, provenance: { ...o.provenance, repo: target } } : o,
    ),
  }));
}

async function scanHistoryJob(d: JobData<'scan-history'>, ctx: ProcessorContext): Promise<Scanned> {
  const { store } = ctx;
  const { repo, target } = await openTarget(d.repo, ctx.scan);
  const opts = await gitOptions(repo, ctx.scan, keepsSecrets(ctx));
  const scope = d.branch ?? '--all';
  // Old tips may be gone (force-push, deleted branch): exclude only the ones still present.
  const exclude = d.incremental ? await existingCommits(repo, await store.gitTips(target, scope)) : [];
  const result = await scanHistory(repo, { ...opts, ...(d.branch ? { branch: d.branch } : {}), exclude });
  const scanned: Scanned = { findings: inRepo(target, result), bytes: result.stats.bytes };
  if (d.incremental) scanned.after = () => store.saveGitTips(target, scope, [...result.tips.values()]);
  return scanned;
}

async function scanDiffJob(d: JobData<'scan-diff'>, ctx: ProcessorContext): Promise<Scanned> {
  const { repo, target } = await openTarget(d.repo, ctx.scan);
  const opts = await gitOptions(repo, ctx.scan, keepsSecrets(ctx));
  const result = await scanDiff(repo, { ...opts, base: d.base, head: d.head });
  return { findings: inRepo(target, result), bytes: result.stats.bytes };
}

// ---- dumps and logs ----------------------------------------------------------------------------

async function scanDumpJob(d: JobData<'scan-dump'>, ctx: ProcessorContext): Promise<Scanned> {
  const s = ctx.scan;
  const path = resolve(d.path);
  if (!existsSync(path)) throw new KeywardenError('KW_JOB_INVALID', `dump ${path} does not exist on this worker`);
  // String extraction, gzip and offsets are scanner/scan-dump.ts's; the dump is named as `findings list --dump` names it.
  const r = await scanDumpFile(packOf(s), path, targetOf(path), {
    fingerprintKey: s.fingerprintKey,
    showSecrets: keepsSecrets(ctx),
  });
  return { findings: r.findings, bytes: r.stats.bytes, ...(r.error ? { error: r.error } : {}) };
}

async function scanLogBatchJob(d: JobData<'scan-log-batch'>, ctx: ProcessorContext): Promise<Scanned> {
  const s = ctx.scan;
  const buf = Buffer.from(d.lines.join('\n'), 'utf8');
  // redactLines also finds JSON-escaped secrets in JSON log lines; its redacted output is not needed here.
  const redactor: Redactor = {
    pack: packOf(s),
    key: s.fingerprintKey,
    stream: d.stream,
    markers: new Map(),
    showSecrets: keepsSecrets(ctx),
  };
  const { findings } = redactLines(redactor, buf, true, (d.firstLine ?? 1) - 1);
  const batch: LogBatch = { stream: d.stream, body: buf };
  if (d.firstLine !== undefined) batch.firstLine = d.firstLine;
  if (d.time !== undefined) batch.time = d.time;
  return { findings: logBatchFindings(findings, batch), bytes: buf.length };
}
