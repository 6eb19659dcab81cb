// The rotation loop's state in Redis, beside each finding (workers/store.ts names the keys): the sealed
// raw secret (`f:<fp>:secret`, the vault's storage; deleted by the transition that closes the finding),
// the callback token hashes (`f:<fp>:callback`, compare-and-set), and the loop's progress
// (`f:<fp>:rotation`: the policy's decision, request numbers and times, confirmation rounds, whether
// the key was ever read live, deliveries done, once-markers of audit notes). Never a raw secret or a
// token in clear: only ciphertext and SHA-256 hashes.
import type { ClientContext, Result } from 'ioredis';
import { type CallbackTokens, CallbackTokens as CallbackTokensSchema, issueCallbackToken } from '../rotation/callback.js';
import type { CiphertextStorage } from '../rotation/vault.js';
import type { FindingStore } from './store.js';

// KEYS: the key. ARGV: expected value ('' = absent), new value. 1 if set, 0 if it changed meanwhile.
const CAS_LUA = `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

// KEYS: rotation hash. ARGV: cause field, now. The round a cause started (a re-run gets the same one).
const ROUND_LUA = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {tonumber(existing), 0} end
local round = redis.call('HINCRBY', KEYS[1], 'round', 1)
redis.call('HSET', KEYS[1], ARGV[1], round, 'roundAt:' .. round, ARGV[2])
return {round, 1}
`;

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    kwCas(...args: (string | number)[]): Result<number, Context>;
    kwRound(...args: (string | number)[]): Result<[number, number], Context>;
  }
}

/** What the policy decided for a new finding, as kept (target names only). */
export interface StoredDecision {
  action: 'rotate' | 'notify' | 'none';
  rotationTargets: string[];
  notifyTargets: string[];
  selfRevoke: string;
  reason: string;
  /** Epoch ms. */
  at: number;
}

/** A GitHub secret scanning alert a finding came from, resolved once the key is confirmed revoked. */
export interface AlertLink {
  /** `owner/repo`. */
  repository: string;
  number: number;
  url: string;
}

/** The loop's progress for one finding, read in one round trip. Times are epoch ms. */
export interface RotationProgress {
  decision: StoredDecision | null;
  /** The current rotation request's number (0: none yet). */
  sequence: number;
  /** When request `sequence` was made. */
  requestedAt: number | null;
  /** The current confirmation round (0: none yet) and when it started. */
  round: number;
  roundAt: number | null;
  /** Checks done in the current round, and when the last ran. */
  checksDone: number;
  lastCheckAt: number | null;
  /** The key was once read `live` (what `revokedTrust: after-live` checks need). */
  seenLiveAt: number | null;
  alerts: AlertLink[];
  /** Every field, for `findings show` and tests. */
  raw: Record<string, string>;
}

const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));

export class RotationStore {
  constructor(readonly store: FindingStore) {
    const redis = store.redis;
    redis.defineCommand('kwCas', { numberOfKeys: 1, lua: CAS_LUA });
    redis.defineCommand('kwRound', { numberOfKeys: 1, lua: ROUND_LUA });
  }

  private get redis() {
    return this.store.redis;
  }

  private hash(fp: string): string {
    return this.store.keyOf(fp, 'rotation');
  }

  /** The vault's storage: sealed records only (rotation/vault.ts seals before this is called). */
  ciphertext(): CiphertextStorage {
    return {
      get: async (fp) => this.redis.get(this.store.keyOf(fp, 'secret')),
      set: async (fp, sealed) => {
        await this.redis.set(this.store.keyOf(fp, 'secret'), sealed);
      },
      delete: async (fp) => (await this.redis.del(this.store.keyOf(fp, 'secret'))) === 1,
    };
  }

  async progress(fp: string): Promise<RotationProgress> {
    const h = await this.redis.hgetall(this.hash(fp));
    const sequence = Number(h.sequence ?? 0);
    const round = Number(h.round ?? 0);
    let decision: StoredDecision | null = null;
    const alerts: AlertLink[] = [];
    try {
      if (h.decision) decision = JSON.parse(h.decision) as StoredDecision;
      for (const [k, v] of Object.entries(h)) if (k.startsWith('alert:')) alerts.push(JSON.parse(v) as AlertLink);
    } catch {
      // A damaged field reads as absent; the loop decides again rather than stopping.
    }
    return {
      decision,
      sequence,
      requestedAt: num(h[`requestedAt:${sequence}`]),
      round,
      roundAt: num(h[`roundAt:${round}`]),
      checksDone: Number(h[`checks:${round}`] ?? 0),
      lastCheckAt: num(h[`lastCheckAt:${round}`]),
      seenLiveAt: num(h.seenLiveAt),
      alerts,
      raw: h,
    };
  }

  /** Fingerprints among `fps` the policy has not decided yet (new findings, or ones a crash left undecided). */
  async undecided(fps: readonly string[]): Promise<Set<string>> {
    const pipe = this.redis.pipeline();
    for (const fp of fps) pipe.hexists(this.hash(fp), 'decision');
    const res = (await pipe.exec()) ?? [];
    return new Set(fps.filter((_, i) => res[i]?.[1] === 0));
  }

  /** Written last by the decision job: from then on the finding is never decided again. */
  async markDecided(fp: string, d: StoredDecision): Promise<void> {
    await this.redis.hsetnx(this.hash(fp), 'decision', JSON.stringify(d));
  }

  /** Request 1 (the policy's), once: its time, kept on a re-run. Returns that time. */
  async firstRequest(fp: string, now: number): Promise<number> {
    const key = this.hash(fp);
    await this.redis.hsetnx(key, 'requestedAt:1', String(now));
    await this.redis.hsetnx(key, 'sequence', '1');
    return Number(await this.redis.hget(key, 'requestedAt:1'));
  }

  /** A new request number (`keywarden rotate`), with its time. */
  async nextRequest(fp: string, now: number): Promise<number> {
    const seq = await this.redis.hincrby(this.hash(fp), 'sequence', 1);
    await this.redis.hset(this.hash(fp), `requestedAt:${seq}`, String(now));
    return seq;
  }

  async requestedAt(fp: string, sequence: number): Promise<number | null> {
    return num((await this.redis.hget(this.hash(fp), `requestedAt:${sequence}`)) ?? undefined);
  }

  /**
   * The confirmation round started by `cause` (a callback's token id, a self-revocation): a new round
   * the first time, the same one on a re-run. `created` says which.
   */
  async roundFor(fp: string, cause: string, now: number): Promise<{ round: number; created: boolean }> {
    const [round, created] = await this.redis.kwRound(this.hash(fp), `roundFor:${cause}`, now);
    return { round, created: created === 1 };
  }

  async recordCheck(fp: string, round: number, check: number, at: number): Promise<void> {
    await this.redis.hset(this.hash(fp), `checks:${round}`, String(check), `lastCheckAt:${round}`, String(at));
  }

  async markSeenLive(fp: string, at: number): Promise<void> {
    await this.redis.hsetnx(this.hash(fp), 'seenLiveAt', String(at));
  }

  /** A delivery (request number, target, type) reached its receiver: later tries and re-runs send nothing. */
  async markDelivered(fp: string, key: string, at: number): Promise<void> {
    await this.redis.hsetnx(this.hash(fp), `delivered:${key}`, String(at));
  }

  async delivered(fp: string, key: string): Promise<boolean> {
    return (await this.redis.hexists(this.hash(fp), `delivered:${key}`)) === 1;
  }

  /** Sets `field` unless set; true the first time (an escalation of one stage per round, say). */
  async once(fp: string, field: string, now: number): Promise<boolean> {
    return (await this.redis.hsetnx(this.hash(fp), field, String(now))) === 1;
  }

  /** Like `once`, and the time the first caller wrote: a re-run redoes its idempotent steps with that time. */
  async onceAt(fp: string, field: string, now: number): Promise<{ first: boolean; at: number }> {
    const first = (await this.redis.hsetnx(this.hash(fp), field, String(now))) === 1;
    return { first, at: first ? now : Number(await this.redis.hget(this.hash(fp), field)) };
  }

  async has(fp: string, field: string): Promise<boolean> {
    return (await this.redis.hexists(this.hash(fp), field)) === 1;
  }

  /** One field per alert (`alert:<owner/repo>#<n>`): two webhooks for two alerts cannot lose one. */
  async linkAlert(fp: string, alert: AlertLink): Promise<void> {
    await this.redis.hset(this.hash(fp), `alert:${alert.repository}#${alert.number}`, JSON.stringify(alert));
  }

  /** The callback token hashes, and the raw JSON they were read from (for compare-and-set). */
  async tokens(fp: string): Promise<{ raw: string | null; state: CallbackTokens | null }> {
    const raw = await this.redis.get(this.store.keyOf(fp, 'callback'));
    if (raw === null) return { raw: null, state: null };
    const parsed = CallbackTokensSchema.safeParse(safeJson(raw));
    return { raw, state: parsed.success ? parsed.data : null };
  }

  /** A fresh one-time callback token for a delivery; only its hash is stored. */
  async issueToken(fp: string, now: number, ttlMs: number): Promise<{ token: string; tokenId: string }> {
    for (let i = 0; i < 20; i++) {
      const { raw, state } = await this.tokens(fp);
      const issued = issueCallbackToken(state, { now, ttlMs });
      if ((await this.redis.kwCas(this.store.keyOf(fp, 'callback'), raw ?? '', JSON.stringify(issued.state))) === 1)
        return { token: issued.token, tokenId: issued.tokenId };
    }
    throw new Error(`callback tokens of ${fp} keep changing`);
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}
