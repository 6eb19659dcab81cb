// One function per job kind: run the scan the job names and turn its findings into store occurrences
// with stable keys. No BullMQ here (worker.ts wires it), so tests and the bench can call these directly.
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Environment } from '../config/section.js';
import { KeywardenError } from '../errors/error.js';
import type { Rule } from '../rules/schema.js';
import { type KeywardenConfig, loadConfig, resolveRules } from '../scanner/config.js';
import { type CompiledPack, compilePack, type GlobalAllowlist } from '../scanner/engine/compile.js';
import { type Redactor, redactLines } from '../scanner/redact-stream.js';
import { scanDumpFile } from '../scanner/scan-dump.js';
import { type GitScanOptions, type GitScanResult, scanDiff, scanHistory } from '../scanner/scan-git.js';
import { isRemoteUrl, openRemote } from '../scanner/sources/git/remote.js';
import { existingCommits, type GitRepo, openRepo } from '../scanner/sources/git/repo.js';
import type { AnyJob, JobData } from './jobs.js';
import { type LogBatch, logBatchOccurrences } from './log-occurrences.js';
import type { FindingStore, Occurrence } from './store.js';

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

export interface Scanned {
  occurrences: Occurrence[];
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

export async function runScan(job: AnyJob, s: ScanSettings, store: FindingStore, jobId?: string): Promise<Scanned> {
  switch (job.kind) {
    case 'scan-history':
      return scanHistoryJob(job.data, s, store, jobId);
    case 'scan-diff':
      return scanDiffJob(job.data, s, jobId);
    case 'scan-dump':
      return scanDumpJob(job.data, s, jobId);
    case 'scan-log-batch':
      return scanLogBatchJob(job.data, s, jobId);
    case 'rotate':
    case 'confirm-revocation':
      throw new KeywardenError('KW_NOT_IMPLEMENTED', `${job.kind} jobs are not implemented until the rotation issue`);
    default: {
      const never: never = job;
      throw new KeywardenError('KW_JOB_INVALID', `unhandled job kind ${JSON.stringify(never)}`);
    }
  }
}

// ---- git ---------------------------------------------------------------------------------------

interface OpenedRepo {
  repo: GitRepo;
  /** Real path of the work tree (or git dir), or the URL without credentials: the occurrence target. */
  target: string;
}

async function openTarget(repoArg: string, s: ScanSettings): Promise<OpenedRepo> {
  if (isRemoteUrl(repoArg)) {
    const r = await openRemote(repoArg, { env: s.env, cacheDir: s.cacheDir });
    return { repo: r.repo, target: r.url };
  }
  const repo = await openRepo(resolve(repoArg), s.env);
  return { repo, target: realpathSync(repo.workTree ?? repo.gitDir) };
}

/** What `findings list --repo` compares with: the same normalization the workers apply. */
export function repoTarget(repoArg: string): string {
  if (isRemoteUrl(repoArg)) return repoArg.replace(/\/\/[^@/]*@/, '//');
  try {
    return realpathSync(resolve(repoArg));
  } catch {
    return repoArg;
  }
}

async function gitOptions(repo: GitRepo, s: ScanSettings): Promise<GitScanOptions> {
  if (repo.workTree === null)
    return {
      rules: s.rules,
      globalAllow: s.globalAllow,
      fingerprintKey: s.fingerprintKey,
      showSecrets: false,
      maxFileSize: s.maxFileSize,
    };
  const config = await loadConfig(repo.workTree);
  const rules = await resolveRules(config);
  return {
    rules,
    globalAllow: config.allowlist,
    fingerprintKey: s.fingerprintKey,
    showSecrets: false,
    maxFileSize: config.maxFileSize,
  };
}

function gitOccurrences(target: string, result: GitScanResult, jobId?: string): Occurrence[] {
  return result.findings.map((finding) => {
    const commit = finding.source.kind === 'git' ? finding.source.commit : '-';
    const o: Occurrence = { target, key: `git|${target}|${commit}|${finding.path}|${finding.line}|${finding.column}`, finding };
    if (jobId) o.jobId = jobId;
    return o;
  });
}

async function scanHistoryJob(
  d: JobData<'scan-history'>,
  s: ScanSettings,
  store: FindingStore,
  jobId?: string,
): Promise<Scanned> {
  const { repo, target } = await openTarget(d.repo, s);
  const opts = await gitOptions(repo, s);
  const scope = d.branch ?? '--all';
  // Old tips may be gone (force-push, deleted branch): exclude only the ones still present.
  const exclude = d.incremental ? await existingCommits(repo, await store.gitTips(target, scope)) : [];
  const result = await scanHistory(repo, { ...opts, ...(d.branch ? { branch: d.branch } : {}), exclude });
  const scanned: Scanned = { occurrences: gitOccurrences(target, result, jobId), bytes: result.stats.bytes };
  if (d.incremental) scanned.after = () => store.saveGitTips(target, scope, [...result.tips.values()]);
  return scanned;
}

async function scanDiffJob(d: JobData<'scan-diff'>, s: ScanSettings, jobId?: string): Promise<Scanned> {
  const { repo, target } = await openTarget(d.repo, s);
  const opts = await gitOptions(repo, s);
  const result = await scanDiff(repo, { ...opts, base: d.base, head: d.head });
  return { occurrences: gitOccurrences(target, result, jobId), bytes: result.stats.bytes };
}

// ---- dumps and logs ----------------------------------------------------------------------------

async function scanDumpJob(d: JobData<'scan-dump'>, s: ScanSettings, jobId?: string): Promise<Scanned> {
  const path = resolve(d.path);
  if (!existsSync(path)) throw new KeywardenError('KW_JOB_INVALID', `dump ${path} does not exist on this worker`);
  // String extraction, gzip and offsets are scanner/scan-dump.ts's; the worker only keys occurrences.
  const r = await scanDumpFile(packOf(s), path, path, { fingerprintKey: s.fingerprintKey, showSecrets: false });
  const occurrences = r.findings.map((finding): Occurrence => {
    const at = finding.source.kind === 'dump' ? finding.source.offset : 0;
    const o: Occurrence = { target: path, key: `dump|${path}|${at}`, finding };
    if (jobId) o.jobId = jobId;
    return o;
  });
  return { occurrences, bytes: r.bytes, ...(r.error ? { error: r.error } : {}) };
}

async function scanLogBatchJob(d: JobData<'scan-log-batch'>, s: ScanSettings, jobId?: string): Promise<Scanned> {
  const buf = Buffer.from(d.lines.join('\n'), 'utf8');
  // redactLines also finds JSON-escaped secrets in JSON log lines; its redacted output is not needed here.
  const redactor: Redactor = { pack: packOf(s), key: s.fingerprintKey, stream: d.stream, markers: new Map() };
  const { findings } = redactLines(redactor, buf, true, (d.firstLine ?? 1) - 1);
  const batch: LogBatch = { stream: d.stream, body: buf };
  if (d.firstLine !== undefined) batch.firstLine = d.firstLine;
  if (d.time !== undefined) batch.time = d.time;
  if (jobId !== undefined) batch.jobId = jobId;
  return { occurrences: logBatchOccurrences(findings, batch), bytes: buf.length };
}
