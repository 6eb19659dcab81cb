// What the rotation loop's processors share, built once per process (worker, serve, the CLI's verify and
// rotate): the settled rotation settings, the finding store and the loop's state beside it, the queues
// follow-up jobs go to, the vault (only with KEYWARDEN_SECRET_KEY), one liveness runner (per-provider
// concurrency and rate-limit back-off are per process), the rules by id, and GitHub alert resolution.
import type { RotationSettings } from '../config/sections/rotation.js';
import type { Occurrence } from '../model/finding.js';
import type { ProviderBaseUrls } from '../providers/base-urls.js';
import { createLivenessRunner, type LivenessRunner } from '../providers/runner.js';
import type { RotationFindingView, RotationLocation } from '../rotation/finding-view.js';
import { SecretVault, type VaultRead } from '../rotation/vault.js';
import type { Rule } from '../rules/schema.js';
import type { GitHubAlerts } from './github-alerts.js';
import type { JobQueues } from './queue.js';
import { RotationStore } from './rotation-store.js';
import type { FindingStore, StoredFinding, StoredOccurrence } from './store.js';

export interface LoopOptions {
  /** `ServiceConfig.rotation`. */
  settings: RotationSettings;
  store: FindingStore;
  /** Where follow-up jobs go (deliveries, retries, checks, deadlines). */
  queues: JobQueues;
  /** The rules findings are made with (provider names, liveness checks, revocation plans). */
  rules: readonly Rule[];
  /** `resolveProviderBaseUrls(start-up environment)`. */
  baseUrls: ProviderBaseUrls;
  /** Replaces the runner built from `baseUrls` (tests). */
  runner?: LivenessRunner;
  /** Per liveness request, connect to last byte. @defaultValue 10000 (ms) */
  checkTimeoutMs?: number;
  /** Liveness requests in flight per provider in this process. @defaultValue 4 */
  concurrencyPerProvider?: number;
  /** Resolves GitHub secret scanning alerts once their key is confirmed revoked. @defaultValue none */
  github?: GitHubAlerts | null;
  /** @defaultValue Date.now */
  now?: () => number;
}

export interface Loop {
  readonly settings: RotationSettings;
  readonly store: FindingStore;
  readonly rotation: RotationStore;
  readonly queues: JobQueues;
  /** Null without KEYWARDEN_SECRET_KEY: no raw secret is kept and no check can run. */
  readonly vault: SecretVault | null;
  readonly runner: LivenessRunner;
  readonly github: GitHubAlerts | null;
  readonly rules: readonly Rule[];
  rule(id: string): Rule | undefined;
  now(): number;
}

export function createLoop(opts: LoopOptions): Loop {
  const rotation = new RotationStore(opts.store);
  const byId = new Map(opts.rules.map((r) => [r.id, r]));
  const keeping = opts.settings.rawSecrets;
  return {
    settings: opts.settings,
    store: opts.store,
    rotation,
    queues: opts.queues,
    vault: keeping.kept ? new SecretVault(keeping.key, rotation.ciphertext()) : null,
    runner:
      opts.runner ??
      createLivenessRunner({
        baseUrls: opts.baseUrls,
        timeoutMs: opts.checkTimeoutMs ?? 10_000,
        concurrencyPerProvider: opts.concurrencyPerProvider ?? 4,
        ruleById: (id) => byId.get(id),
      }),
    github: opts.github ?? null,
    rules: opts.rules,
    rule: (id) => byId.get(id),
    now: opts.now ?? Date.now,
  };
}

/** Whether keywarden can ask the provider about keys of this rule at all. */
export function hasLivenessCheck(rule: Rule | undefined): boolean {
  return (rule?.liveness?.length ?? 0) > 0;
}

/** The stored secret, or null when no vault is configured (nothing could have been kept). */
export async function storedSecret(loop: Loop, fp: string): Promise<VaultRead | null> {
  return loop.vault ? loop.vault.get(fp) : null;
}

/** An occurrence as a webhook location: the fields that apply to its kind, never its text. */
export function locationOf(o: Occurrence): RotationLocation {
  const p = o.provenance;
  const line = o.span.line;
  switch (p.kind) {
    case 'git':
      return { kind: 'git', ...(p.repo !== undefined ? { repo: p.repo } : {}), commit: p.commit, path: p.path, line };
    case 'file':
      return { kind: 'file', path: p.path, line };
    case 'stdin':
      return { kind: 'stdin', line };
    case 'dump':
      return { kind: 'dump', ...(p.path !== undefined ? { repo: p.path, path: p.path } : {}), offset: p.offset };
    case 'log':
      return { kind: 'log', stream: p.stream, line };
    case 'github-alert':
      return {
        kind: 'github-alert',
        repo: p.repo,
        ...(p.commit !== undefined ? { commit: p.commit } : {}),
        ...(p.path !== undefined ? { path: p.path, line } : {}),
        url: p.locationUrl ?? p.url,
      };
    default: {
      const never: never = p;
      throw new Error(`unknown provenance kind ${(never as { kind: string }).kind}`);
    }
  }
}

/** The finding as rotation/ sees it: the provider from its rule, locations from its occurrences. */
export function findingView(
  loop: Pick<Loop, 'rule'>,
  f: StoredFinding,
  occurrences: readonly StoredOccurrence[],
): RotationFindingView {
  return {
    fingerprint: f.fingerprint,
    ruleId: f.ruleId,
    provider: loop.rule(f.ruleId)?.provider ?? 'unknown',
    redacted: f.redacted,
    firstSeen: f.firstSeen,
    locations: occurrences.map(locationOf),
    occurrences: f.occurrenceCount,
  };
}
