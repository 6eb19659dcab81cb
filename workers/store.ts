// The finding store in Redis: one finding (model/finding.ts) per fingerprint with its occurrences,
// lifecycle state and an append-only audit stream. Writes are Lua scripts, so concurrent workers and re-run jobs never make a
// second finding or a second copy of an occurrence. No raw secret is ever written here.
import type { ClientContext, Redis, Result } from 'ioredis';
import { z } from 'zod';
import { KeywardenError } from '../errors/error.js';
import { Finding, FindingState, Occurrence } from '../model/finding.js';
import { occurrenceKey, occurrenceTarget } from '../model/occurrence.js';
import {
  CLOSED_STATES,
  isOpen,
  type LifecycleEvent,
  OPEN_STATES,
  RESOLUTIONS,
  type Resolution,
  transition,
} from './lifecycle.js';

/** A time as the store writes it: ISO 8601 in UTC (`Date.prototype.toISOString`). */
export const IsoTime = z.iso.datetime();

/** An occurrence as the store keeps it: the model's occurrence, its dedupe key (`occurrenceKey`), when and by what job it was recorded. */
export const StoredOccurrence = Occurrence.extend({
  key: z.string(),
  /** When the store first recorded it. */
  recordedAt: IsoTime,
  /** The job that saw it, for tracing. */
  jobId: z.string().optional(),
}).strict();
export type StoredOccurrence = z.infer<typeof StoredOccurrence>;

/**
 * A finding as the store keeps it: the model's finding without its secret and parts (never stored) and without
 * its occurrences (read with `occurrences(fp)`, so that lists stay small), plus when it was seen and
 * changed and how many occurrences it has.
 */
export const StoredFinding = Finding.omit({ occurrences: true, secret: true, parts: true })
  .extend({
    firstSeen: IsoTime,
    lastSeen: IsoTime,
    stateChangedAt: IsoTime,
    /** When the finding last entered each state it has been in (e.g. `revoked`). */
    stateTimes: z.partialRecord(FindingState, IsoTime),
    occurrenceCount: z.number().int().min(0),
  })
  .strict();
export type StoredFinding = z.infer<typeof StoredFinding>;

export interface AuditEvent {
  /** Redis stream entry id: orders events, unique per finding. */
  id: string;
  /** `detected` (first occurrence) or a lifecycle event. */
  what: string;
  from: FindingState | '';
  to: FindingState;
  /** ISO time. */
  at: string;
  /** Who or what: `worker:<host>:<pid>`, `cli:<user>`, `api` or `api:<the caller's own name for itself>`. */
  actor: string;
  reason: string;
  /**
   * The API token the change came through, by id (`admin`, `submit`, `read`, a listed id, `callback`),
   * never its value: unlike `actor`, which the caller chooses, the server vouches for it.
   */
  token?: string;
}

export interface RecordResult {
  /** Distinct fingerprints in the batch. */
  findings: number;
  newFindings: number;
  occurrences: number;
  newOccurrences: number;
}

export interface RecordOptions {
  /** The job whose findings these are, kept on each new occurrence. */
  jobId?: string;
  /** Runs after each pipeline round trip (progress, test pauses). */
  onBatch?: (done: number) => Promise<void>;
  /** Occurrences per round trip. @defaultValue 500 */
  batchSize?: number;
}

export interface ListFilter {
  state?: FindingState;
  ruleId?: string;
  target?: string;
  /** @defaultValue 1000 */
  limit?: number;
}

export interface AgeFigures {
  count: number;
  oldestSeconds: number | null;
  /** Counts by age since first seen. */
  ages: { under1d: number; d1to7: number; d7to30: number; over30d: number };
}

export interface HealthFigures {
  generatedAt: string;
  open: { total: number; byState: Partial<Record<FindingState, AgeFigures>> };
  closed: Partial<Record<FindingState, number>>;
  /** From first seen to confirmed revocation, over every revoked finding. */
  timeToRevoke: { count: number; medianSeconds: number | null; p90Seconds: number | null; maxSeconds: number | null };
}

/** One more key a transition compares and sets (`expected` null: the key must be absent). */
export interface Guarded {
  key: string;
  expected: string | null;
  value: string;
}

export interface Actor {
  actor: string;
  /** The API token's id (AuditEvent's `token`), when the change came through the API. */
  token?: string;
  /** Milliseconds since the epoch; the caller's clock (tests pass a fixed one). */
  now?: number;
}

// KEYS: finding, occurrences, audit, index, state:detected, rule set, target set
// ARGV: fp, ruleId, description, redacted, confidence, now, occKey, occJson, actor, target, entropy
const RECORD_LUA = `
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'ruleId', ARGV[2], 'description', ARGV[3], 'redacted', ARGV[4],
    'confidence', ARGV[5], 'entropy', ARGV[11], 'state', 'detected', 'firstSeen', ARGV[6], 'lastSeen', ARGV[6],
    'stateChangedAt', ARGV[6], 'at:detected', ARGV[6], 'occurrences', 0)
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])
  redis.call('SADD', KEYS[5], ARGV[1])
  redis.call('SADD', KEYS[6], ARGV[1])
  redis.call('XADD', KEYS[3], '*', 'what', 'detected', 'from', '', 'to', 'detected', 'at', ARGV[6], 'actor', ARGV[9],
    'reason', 'first seen in ' .. ARGV[10])
  created = 1
end
local added = redis.call('HSETNX', KEYS[2], ARGV[7], ARGV[8])
if added == 1 then
  redis.call('HINCRBY', KEYS[1], 'occurrences', 1)
  local last = tonumber(redis.call('HGET', KEYS[1], 'lastSeen'))
  if last == nil or tonumber(ARGV[6]) > last then redis.call('HSET', KEYS[1], 'lastSeen', ARGV[6]) end
  redis.call('SADD', KEYS[7], ARGV[1])
end
return {created, added}
`;

// KEYS: finding, audit, from-state set, to-state set, the finding's raw-secret record, a guarded key
// ARGV: expected state, new state, event, now, actor, reason, fp, closing ('1': delete the raw secret),
//       guard ('1': KEYS[6] must hold ARGV[10], or be absent when ARGV[10] is empty; then set to ARGV[11]),
//       token id ('' for none)
// Returns -1 (no finding), 0 (state changed meanwhile: caller retries), -2 (the guarded key changed
// meanwhile: caller re-reads and decides again) or the audit entry id.
const TRANSITION_LUA = `
local cur = redis.call('HGET', KEYS[1], 'state')
if not cur then return -1 end
if cur ~= ARGV[1] then return 0 end
if ARGV[9] == '1' then
  local held = redis.call('GET', KEYS[6])
  if (held or '') ~= ARGV[10] then return -2 end
  redis.call('SET', KEYS[6], ARGV[11])
end
local reason = ARGV[6]
if ARGV[8] == '1' and redis.call('DEL', KEYS[5]) == 1 then reason = reason .. '; raw secret deleted' end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'stateChangedAt', ARGV[4], 'at:' .. ARGV[2], ARGV[4])
redis.call('SMOVE', KEYS[3], KEYS[4], ARGV[7])
local entry = {'what', ARGV[3], 'from', ARGV[1], 'to', ARGV[2], 'at', ARGV[4], 'actor', ARGV[5], 'reason', reason}
if ARGV[12] ~= '' then table.insert(entry, 'token'); table.insert(entry, ARGV[12]) end
return redis.call('XADD', KEYS[2], '*', unpack(entry))
`;

// KEYS: finding, audit, the finding's rotation hash (once-markers)
// ARGV: what, reason, now, actor, once field ('' for none), token id ('' for none)
// An audit entry that changes no state (a check, a delivery, a refused callback): from = to = the
// current state. With a once field, written at most once (a re-run job does not repeat its entry).
// Returns -1 (no finding), 0 (already written) or the audit entry id.
const NOTE_LUA = `
local cur = redis.call('HGET', KEYS[1], 'state')
if not cur then return -1 end
if ARGV[5] ~= '' and redis.call('HSETNX', KEYS[3], ARGV[5], ARGV[3]) == 0 then return 0 end
local entry = {'what', ARGV[1], 'from', cur, 'to', cur, 'at', ARGV[3], 'actor', ARGV[4], 'reason', ARGV[2]}
if ARGV[6] ~= '' then table.insert(entry, 'token'); table.insert(entry, ARGV[6]) end
return redis.call('XADD', KEYS[2], '*', unpack(entry))
`;

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    kwRecord(...args: (string | number)[]): Result<[number, number], Context>;
    kwTransition(...args: (string | number)[]): Result<string | number, Context>;
    kwNote(...args: (string | number)[]): Result<string | number, Context>;
  }
}

/** Occurrences written per pipeline round trip. */
const RECORD_BATCH = 500;
const DAY = 86_400;

export class FindingStore {
  readonly redis: Redis;
  /** `<prefix>:store`: every key of the store starts with it. */
  readonly ns: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.ns = `${prefix}:store`;
    // Scripts are sent as EVALSHA; ioredis falls back to EVAL after a Redis restart empties the cache.
    redis.defineCommand('kwRecord', { numberOfKeys: 7, lua: RECORD_LUA });
    redis.defineCommand('kwTransition', { numberOfKeys: 6, lua: TRANSITION_LUA });
    redis.defineCommand('kwNote', { numberOfKeys: 3, lua: NOTE_LUA });
  }

  private fKey(fp: string): string {
    return `${this.ns}:f:${fp}`;
  }
  private occKey(fp: string): string {
    return `${this.ns}:f:${fp}:occ`;
  }
  private auditKey(fp: string): string {
    return `${this.ns}:f:${fp}:audit`;
  }
  private stateKey(s: FindingState): string {
    return `${this.ns}:state:${s}`;
  }
  private get indexKey(): string {
    return `${this.ns}:all`;
  }
  private ruleKey(id: string): string {
    return `${this.ns}:rule:${id}`;
  }
  private targetKey(t: string): string {
    return `${this.ns}:target:${t}`;
  }

  /**
   * The finding's other keys, for the rotation loop (workers/rotation-store.ts): `secret` (the sealed
   * raw secret, deleted by the transition that closes the finding), `rotation` (progress and
   * once-markers), `callback` (callback token hashes).
   */
  keyOf(fp: string, part: 'secret' | 'rotation' | 'callback'): string {
    return `${this.ns}:f:${fp}:${part}`;
  }

  /**
   * Records every occurrence of `findings`: creates a finding (state `detected`, one audit event) if
   * its fingerprint is new, adds each occurrence unless its key (`occurrenceKey`) is already there.
   * Safe to run twice and concurrently. The secret, if a finding carries one, is never written.
   */
  async record(findings: readonly Finding[], who: Actor, opts: RecordOptions = {}): Promise<RecordResult> {
    const now = who.now ?? Date.now();
    const batchSize = opts.batchSize ?? RECORD_BATCH;
    const items: Array<[Finding, Occurrence]> = [];
    for (const f of findings) for (const o of f.occurrences) items.push([f, o]);
    const fps = new Set<string>();
    let newFindings = 0;
    let newOccurrences = 0;
    for (let i = 0; i < items.length; i += batchSize) {
      const pipe = this.redis.pipeline();
      const batch = items.slice(i, i + batchSize);
      for (const [f, o] of batch) {
        fps.add(f.fingerprint);
        const key = occurrenceKey(o);
        const target = occurrenceTarget(o);
        const stored: StoredOccurrence = { key, ...o, recordedAt: new Date(now).toISOString() };
        if (opts.jobId) stored.jobId = opts.jobId;
        pipe.kwRecord(
          this.fKey(f.fingerprint),
          this.occKey(f.fingerprint),
          this.auditKey(f.fingerprint),
          this.indexKey,
          this.stateKey('detected'),
          this.ruleKey(f.ruleId),
          this.targetKey(target),
          f.fingerprint,
          f.ruleId,
          f.description,
          f.redacted,
          f.confidence,
          now,
          key,
          JSON.stringify(stored),
          who.actor,
          target,
          f.entropy,
        );
      }
      const results = (await pipe.exec()) ?? [];
      for (const [err, res] of results) {
        if (err) throw new KeywardenError('KW_REDIS', `recording findings failed: ${err.message}`, [], { cause: err });
        const [created, added] = res as [number, number];
        newFindings += created;
        newOccurrences += added;
      }
      if (opts.onBatch) await opts.onBatch(i + batch.length);
    }
    return { findings: fps.size, newFindings, occurrences: items.length, newOccurrences };
  }

  async get(fp: string): Promise<StoredFinding | null> {
    const h = await this.redis.hgetall(this.fKey(fp));
    return h.fingerprint ? toStored(h) : null;
  }

  async mustGet(fp: string): Promise<StoredFinding> {
    const f = await this.get(fp);
    if (!f) throw new KeywardenError('KW_FINDING_NOT_FOUND', `no finding ${fp}`);
    return f;
  }

  /** Occurrences of a finding, ordered by key (kind, then target, then place). */
  async occurrences(fp: string): Promise<StoredOccurrence[]> {
    const h = await this.redis.hgetall(this.occKey(fp));
    return Object.values(h)
      .map((v) => JSON.parse(v) as StoredOccurrence)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The audit trail of a finding, oldest first. */
  async audit(fp: string): Promise<AuditEvent[]> {
    const entries = await this.redis.xrange(this.auditKey(fp), '-', '+');
    return entries.map(([id, fields]) => {
      const m = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
      return {
        id,
        what: m.get('what') ?? '',
        from: (m.get('from') ?? '') as FindingState | '',
        to: (m.get('to') ?? 'detected') as FindingState,
        at: new Date(Number(m.get('at'))).toISOString(),
        actor: m.get('actor') ?? '',
        reason: m.get('reason') ?? '',
        ...(m.has('token') ? { token: m.get('token')! } : {}),
      };
    });
  }

  /** Findings matching every given filter, oldest first. */
  async list(filter: ListFilter = {}): Promise<StoredFinding[]> {
    const limit = filter.limit ?? 1000;
    const sets: string[] = [];
    if (filter.state) sets.push(this.stateKey(filter.state));
    if (filter.ruleId) sets.push(this.ruleKey(filter.ruleId));
    if (filter.target) sets.push(this.targetKey(filter.target));
    const fps = sets.length > 0 ? await this.redis.sinter(...sets) : await this.redis.zrange(this.indexKey, '0', '-1');
    const pipe = this.redis.pipeline();
    for (const fp of fps) pipe.hgetall(this.fKey(fp));
    const rows = ((await pipe.exec()) ?? []).map(([, h]) => h as Record<string, string>).filter((h) => h?.fingerprint);
    return rows
      .map(toStored)
      .sort((a, b) => (a.firstSeen < b.firstSeen ? -1 : a.firstSeen > b.firstSeen ? 1 : a.fingerprint < b.fingerprint ? -1 : 1))
      .slice(0, limit);
  }

  /**
   * Applies a lifecycle event: the pure `transition` decides, a script writes the new state and the
   * audit event together, only if the state is still the one decided from (else it re-reads and
   * decides again). Entering a closed state deletes the raw secret in the same script. `guard`, called
   * with the current finding on every try, names one more key to compare-and-set with the move (the
   * callback route spends its token this way); it may throw to refuse. Throws KW_ILLEGAL_TRANSITION or
   * KW_FINDING_NOT_FOUND.
   */
  async apply(
    fp: string,
    event: LifecycleEvent,
    who: Actor & { reason: string },
    opts: { guard?: (current: StoredFinding) => Promise<Guarded> | Guarded } = {},
  ): Promise<{ from: FindingState; to: FindingState; auditId: string }> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.mustGet(fp);
      const next = transition(current.state, event);
      const guard = opts.guard ? await opts.guard(current) : null;
      const now = who.now ?? Date.now();
      const r = await this.redis.kwTransition(
        this.fKey(fp),
        this.auditKey(fp),
        this.stateKey(current.state),
        this.stateKey(next),
        this.keyOf(fp, 'secret'),
        guard?.key ?? this.keyOf(fp, 'callback'),
        current.state,
        next,
        event,
        now,
        who.actor,
        who.reason,
        fp,
        CLOSED_STATES.includes(next) ? '1' : '0',
        guard ? '1' : '0',
        guard?.expected ?? '',
        guard?.value ?? '',
        who.token ?? '',
      );
      if (r === -1) throw new KeywardenError('KW_FINDING_NOT_FOUND', `no finding ${fp}`);
      if (r !== 0 && r !== -2) return { from: current.state, to: next, auditId: String(r) };
    }
    throw new KeywardenError('KW_REDIS', `finding ${fp} keeps changing state; gave up after 10 tries`);
  }

  /**
   * An audit entry that changes no state (a liveness check, a webhook delivery, a refused callback);
   * with `once`, at most one entry per finding for that name (a re-run job does not repeat it).
   * Returns the entry id, or null when `once` was already written. Throws KW_FINDING_NOT_FOUND.
   */
  async note(fp: string, what: string, who: Actor & { reason: string }, once?: string): Promise<string | null> {
    const r = await this.redis.kwNote(
      this.fKey(fp),
      this.auditKey(fp),
      this.keyOf(fp, 'rotation'),
      what,
      who.reason,
      who.now ?? Date.now(),
      who.actor,
      once === undefined ? '' : `once:${once}`,
      who.token ?? '',
    );
    if (r === -1) throw new KeywardenError('KW_FINDING_NOT_FOUND', `no finding ${fp}`);
    return r === 0 ? null : String(r);
  }

  /**
   * The service's own audit stream (`<prefix>:store:audit`), for what belongs to no finding: a
   * rejected GitHub webhook, a callback for a fingerprint that does not exist. Capped near 10,000.
   */
  async serviceNote(what: string, who: Actor & { reason: string }): Promise<string> {
    const at = who.now ?? Date.now();
    const id = await this.redis.xadd(
      `${this.ns}:audit`,
      'MAXLEN',
      '~',
      '10000',
      '*',
      'what',
      what,
      'at',
      String(at),
      'actor',
      who.actor,
      'reason',
      who.reason,
    );
    return String(id);
  }

  /** The service audit stream, oldest first. */
  async serviceAudit(): Promise<Array<{ id: string; what: string; at: string; actor: string; reason: string }>> {
    const entries = await this.redis.xrange(`${this.ns}:audit`, '-', '+');
    return entries.map(([id, fields]) => {
      const m = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
      return {
        id,
        what: m.get('what') ?? '',
        at: new Date(Number(m.get('at'))).toISOString(),
        actor: m.get('actor') ?? '',
        reason: m.get('reason') ?? '',
      };
    });
  }

  /** `findings resolve --as false_positive|accepted_risk --reason …` */
  resolve(fp: string, as: Resolution, who: Actor & { reason: string }) {
    return this.apply(fp, RESOLUTIONS[as], who);
  }

  /** Open findings by state and age, closed counts, and time from first seen to revoked. */
  async health(now = Date.now()): Promise<HealthFigures> {
    const states = FindingState.options;
    const pipe = this.redis.pipeline();
    for (const s of states) pipe.smembers(this.stateKey(s));
    const members = ((await pipe.exec()) ?? []).map(([, m]) => (m as string[]) ?? []);
    const byState: Partial<Record<FindingState, AgeFigures>> = {};
    const closed: Partial<Record<FindingState, number>> = {};
    let total = 0;
    const durations: number[] = [];
    for (const [i, s] of states.entries()) {
      const fps = members[i]!;
      if (!isOpen(s) && s !== 'revoked') {
        closed[s] = fps.length;
        continue;
      }
      const p = this.redis.pipeline();
      for (const fp of fps) p.hmget(this.fKey(fp), 'firstSeen', 'at:revoked');
      const times = ((await p.exec()) ?? []).map(([, v]) => (v as (string | null)[]) ?? []);
      if (s === 'revoked') {
        closed[s] = fps.length;
        for (const [first, revoked] of times) if (first && revoked) durations.push((Number(revoked) - Number(first)) / 1000);
        continue;
      }
      const fig: AgeFigures = { count: fps.length, oldestSeconds: null, ages: { under1d: 0, d1to7: 0, d7to30: 0, over30d: 0 } };
      for (const [first] of times) {
        const age = Math.max(0, (now - Number(first ?? now)) / 1000);
        fig.oldestSeconds = Math.max(fig.oldestSeconds ?? 0, Math.round(age));
        if (age < DAY) fig.ages.under1d++;
        else if (age < 7 * DAY) fig.ages.d1to7++;
        else if (age < 30 * DAY) fig.ages.d7to30++;
        else fig.ages.over30d++;
      }
      byState[s] = fig;
      total += fps.length;
    }
    durations.sort((a, b) => a - b);
    const q = (p: number) =>
      durations.length === 0 ? null : Math.round(durations[Math.min(durations.length - 1, Math.floor(p * durations.length))]!);
    return {
      generatedAt: new Date(now).toISOString(),
      open: { total, byState },
      closed,
      timeToRevoke: {
        count: durations.length,
        medianSeconds: q(0.5),
        p90Seconds: q(0.9),
        maxSeconds: durations.length ? Math.round(durations.at(-1)!) : null,
      },
    };
  }

  /** Ref tips the last incremental history scan of (repo, scope) started from. */
  async gitTips(repoKey: string, scope: string): Promise<string[]> {
    const v = await this.redis.hget(`${this.ns}:git-tips`, `${repoKey}\0${scope}`);
    return v ? (JSON.parse(v) as string[]) : [];
  }

  /** Saved only after the scan's findings are recorded, so a crashed job is rescanned in full. */
  async saveGitTips(repoKey: string, scope: string, tips: readonly string[]): Promise<void> {
    await this.redis.hset(`${this.ns}:git-tips`, `${repoKey}\0${scope}`, JSON.stringify([...new Set(tips)].sort()));
  }
}

export { OPEN_STATES };

function iso(ms: string | undefined): string {
  return new Date(Number(ms ?? 0)).toISOString();
}

function toStored(h: Record<string, string>): StoredFinding {
  const stateTimes: Partial<Record<FindingState, string>> = {};
  for (const [k, v] of Object.entries(h)) {
    if (!k.startsWith('at:')) continue;
    const s = FindingState.safeParse(k.slice(3));
    if (s.success) stateTimes[s.data] = iso(v);
  }
  return {
    fingerprint: h.fingerprint ?? '',
    ruleId: h.ruleId ?? '',
    description: h.description ?? '',
    confidence: (h.confidence ?? 'low') as Finding['confidence'],
    redacted: h.redacted ?? '',
    entropy: Number(h.entropy ?? 0),
    state: FindingState.parse(h.state),
    firstSeen: iso(h.firstSeen),
    lastSeen: iso(h.lastSeen),
    stateChangedAt: iso(h.stateChangedAt),
    stateTimes,
    // The hash field keeps its name: the Lua scripts count in it.
    occurrenceCount: Number(h.occurrences ?? 0),
  };
}
