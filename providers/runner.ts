// The one HTTP runner for liveness checks and self-revocation: plan() -> guard -> sign -> fetch ->
// judge(). It owns what the pure core cannot: the clock, timeouts, bounded concurrency per provider,
// and rate-limit back-off (a 429's Retry-After blocks that provider and travels back as
// `retryAfterMs`). Failures of any kind come back as `unknown` results, never as `revoked` and never
// as a throw. A secret is sent only under the provider's resolved base URL, over https unless the
// base URL was overridden; redirects are never followed. Results and reasons never hold the secret.

import { isKeywardenError } from '../errors/error.js';
import type { Rule } from '../rules/schema.js';
import type { ProviderBaseUrls } from './base-urls.js';
import { judge, judgeRevocation, type ProviderResponse, type RevocationOutcome, type Verdict } from './judge.js';
import { providerEnvName } from './names.js';
import { describeCall, isUnderBase, type Parts, type PlannedRequest, plan, selectCheck } from './plan.js';
import { signRequest } from './sign.js';

export interface LivenessRunnerOptions {
  /** From resolveProviderBaseUrls(config env). */
  baseUrls: ProviderBaseUrls;
  /** Per request, connect to last body byte. @defaultValue 10000 (ms) */
  timeoutMs?: number;
  /** Requests in flight per provider; more wait their turn. @defaultValue 4 */
  concurrencyPerProvider?: number;
  /** Per-provider overrides of the above, by NAME (`{ GITHUB: 2 }`). */
  concurrency?: Readonly<Record<string, number>>;
  /** Largest answer read; a longer one is `unknown`. @defaultValue 1048576 (bytes) */
  maxBodyBytes?: number;
  /** Clock in ms (signing dates, Retry-After dates, back-off). @defaultValue Date.now */
  now?: () => number;
  /** Rules by id, for parts declared with `confirmWith` (the Datadog API key of an application key). */
  ruleById?: (id: string) => Pick<Rule, 'id' | 'provider' | 'liveness'> | undefined;
  /** The fetch to use. @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

/** What a caller asks: one secret of one rule, with the parts its check declares. */
export interface CheckRequest {
  rule: Pick<Rule, 'id' | 'provider' | 'liveness'>;
  secret: string;
  parts?: Parts;
  signal?: AbortSignal;
}

export interface RevokeRequest {
  rule: Pick<Rule, 'id' | 'provider' | 'revocation'>;
  secret: string;
  parts?: Parts;
  signal?: AbortSignal;
}

interface ResultBase {
  ruleId: string;
  /** NAME of the provider. */
  provider: string;
  reason: string;
  /** HTTP status, when an answer came back. */
  status?: number;
  /** The provider asked to wait this long before asking again (429, Retry-After). */
  retryAfterMs?: number;
  /** For an `unknown` result: false when asking again cannot help (no check, missing part, refused URL). */
  retryable: boolean;
  /** What was called, from the templates (`GET https://api.github.com/user`); never filled values. */
  call?: string;
  durationMs: number;
}

export interface CheckResult extends ResultBase {
  verdict: Verdict;
  /** The check's `revokedTrust`: `after-live` means believe `revoked` only for a pair once seen live. */
  revokedTrust: 'always' | 'after-live';
}

export interface RevokeResult extends ResultBase {
  outcome: RevocationOutcome;
}

/** A FIFO counting semaphore: at most `limit` holders, the rest wait in arrival order. */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Why a transport failed, by code only (a fetch error message may quote the URL, which may hold the key). */
function networkReason(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' && /^[A-Z0-9_]{2,40}$/.test(cause.code) ? cause.code : undefined;
  return `network error${code ? ` (${code})` : ''}`;
}

/** Replaces any occurrence of the secret or a part value in text meant for logs and audits. */
function scrub(text: string, secret: string, parts: Parts): string {
  let out = text;
  for (const v of [secret, ...Object.values(parts)]) {
    if (typeof v === 'string' && v.length >= 4) out = out.split(v).join('[redacted]');
  }
  return out;
}

class BodyTooLarge extends Error {}

async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

type Sent = { ok: true; response: ProviderResponse } | { ok: false; reason: string; retryable: boolean };

export class LivenessRunner {
  private readonly baseUrls: ProviderBaseUrls;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly now: () => number;
  private readonly fetchImpl: typeof fetch;
  private readonly ruleById: LivenessRunnerOptions['ruleById'];
  private readonly defaultConcurrency: number;
  private readonly concurrency: Readonly<Record<string, number>>;
  private readonly semaphores = new Map<string, Semaphore>();
  /** Provider NAME -> epoch ms before which it asked not to be called. */
  private readonly blockedUntil = new Map<string, number>();

  constructor(opts: LivenessRunnerOptions) {
    this.baseUrls = opts.baseUrls;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxBodyBytes = opts.maxBodyBytes ?? 1 << 20;
    this.now = opts.now ?? Date.now;
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    this.ruleById = opts.ruleById;
    this.defaultConcurrency = Math.max(1, opts.concurrencyPerProvider ?? 4);
    this.concurrency = opts.concurrency ?? {};
  }

  private semaphore(provider: string): Semaphore {
    let s = this.semaphores.get(provider);
    if (!s) {
      s = new Semaphore(Math.max(1, this.concurrency[provider] ?? this.defaultConcurrency));
      this.semaphores.set(provider, s);
    }
    return s;
  }

  /** Remaining back-off for a provider, in ms (0 when it may be called). */
  blockedFor(provider: string): number {
    const until = this.blockedUntil.get(providerEnvName(provider)) ?? 0;
    return Math.max(0, until - this.now());
  }

  /** The guard every request passes: under the resolved base URL, https unless overridden. */
  private refusal(req: PlannedRequest): string | null {
    let u: URL;
    try {
      u = new URL(req.url);
    } catch {
      return 'request URL is not a URL';
    }
    if (!isUnderBase(req.url, req.baseUrl)) return 'request URL is outside the provider base URL';
    if (u.protocol !== 'https:' && !(req.allowHttp && u.protocol === 'http:')) {
      return 'refusing to send a key over plain http to a base URL that was not explicitly overridden';
    }
    return null;
  }

  private async send(req: PlannedRequest, signal: AbortSignal | undefined): Promise<Sent> {
    const refused = this.refusal(req);
    if (refused) return { ok: false, reason: `not sent: ${refused}`, retryable: false };
    return this.semaphore(req.provider).run(async () => {
      const signed = await signRequest(req, new Date(this.now()));
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
      try {
        const res = await this.fetchImpl(signed.url, {
          method: signed.method,
          headers: signed.headers,
          ...(signed.body !== undefined ? { body: signed.body } : {}),
          // A redirect is an answer to judge (unknown), never a hop: the key goes nowhere else.
          redirect: 'manual',
          signal: combined,
        });
        const headers: Record<string, string> = {};
        res.headers.forEach((v, k) => {
          headers[k.toLowerCase()] = v;
        });
        const body = signed.method === 'HEAD' ? '' : await readCapped(res, this.maxBodyBytes);
        return { ok: true, response: { status: res.status, headers, body } };
      } catch (err) {
        if (err instanceof BodyTooLarge)
          return { ok: false, reason: `answer larger than ${this.maxBodyBytes} bytes`, retryable: true };
        if (signal?.aborted) return { ok: false, reason: 'cancelled by the caller', retryable: true };
        return { ok: false, reason: networkReason(err, timeout.aborted, this.timeoutMs), retryable: true };
      }
    });
  }

  /** Runs a rule's liveness check once for a secret. Never throws for provider or input trouble. */
  async check(request: CheckRequest): Promise<CheckResult> {
    return this.checkAt(request, 0);
  }

  private async checkAt(request: CheckRequest, depth: number): Promise<CheckResult> {
    const started = this.now();
    const { rule, secret } = request;
    const parts = request.parts ?? {};
    const provider = providerEnvName(rule.provider);
    const base = { ruleId: rule.id, provider };
    const done = (r: Omit<CheckResult, 'ruleId' | 'provider' | 'durationMs'>): CheckResult => ({
      ...base,
      ...r,
      reason: scrub(r.reason, secret, parts),
      durationMs: Math.max(0, this.now() - started),
    });

    const check = selectCheck(rule.liveness, secret, parts);
    if (!check) {
      const reason = rule.liveness?.length
        ? 'no liveness check of this rule applies to this secret'
        : `rule ${rule.id} has no liveness check`;
      return done({ verdict: 'unknown', reason, retryable: false, revokedTrust: 'always' });
    }
    const trust = check.revokedTrust;
    const baseUrl = this.baseUrls.get(rule.provider);
    if (!baseUrl) {
      return done({
        verdict: 'unknown',
        reason: `no base URL for provider ${provider}: set KEYWARDEN_PROVIDER_${provider}_BASE_URL`,
        retryable: false,
        revokedTrust: trust,
      });
    }
    const call = describeCall(check, baseUrl);
    const wait = this.blockedFor(provider);
    if (wait > 0) {
      return done({
        verdict: 'unknown',
        reason: `provider asked to wait; not sent (${Math.ceil(wait / 1000)}s left)`,
        retryAfterMs: wait,
        retryable: true,
        revokedTrust: trust,
        call,
      });
    }
    let planned: PlannedRequest;
    try {
      planned = plan(check, secret, parts, baseUrl);
    } catch (err) {
      if (isKeywardenError(err))
        return done({ verdict: 'unknown', reason: err.message, retryable: false, revokedTrust: trust, call });
      throw err;
    }
    const sent = await this.send(planned, request.signal);
    if (!sent.ok) return done({ verdict: 'unknown', reason: sent.reason, retryable: sent.retryable, revokedTrust: trust, call });
    const j = judge(check, sent.response, { nowMs: this.now() });
    if (j.retryAfterMs !== undefined) this.blockedUntil.set(provider, this.now() + j.retryAfterMs);
    const status = sent.response.status;
    if (j.verdict === 'revoked') {
      const unconfirmed = await this.unconfirmedPart(check.parts, parts, request.signal, depth);
      if (unconfirmed)
        return done({
          verdict: 'unknown',
          reason: `${j.reason}; but ${unconfirmed}`,
          status,
          retryable: true,
          revokedTrust: trust,
          call,
        });
    }
    return done({
      verdict: j.verdict,
      reason: j.reason,
      status,
      ...(j.retryAfterMs !== undefined ? { retryAfterMs: j.retryAfterMs } : {}),
      retryable: j.verdict === 'unknown',
      revokedTrust: trust,
      call,
    });
  }

  /**
   * A `revoked` answer of a pair is only the key's when its partner works: for each part declared
   * `confirmWith: <rule>`, that rule's check must find the part live. Returns why not, or null.
   */
  private async unconfirmedPart(
    declared: NonNullable<NonNullable<Rule['liveness']>[number]['parts']>,
    parts: Parts,
    signal: AbortSignal | undefined,
    depth: number,
  ): Promise<string | null> {
    for (const [name, spec] of Object.entries(declared)) {
      if (!spec.confirmWith) continue;
      // A partner's own partners are confirmed too, but a cycle in rule data must not recurse forever.
      if (depth >= 2) return `part "${name}" cannot be confirmed (confirmWith chain too deep)`;
      const value = parts[name];
      const partner = this.ruleById?.(spec.confirmWith);
      if (value === undefined || value === '') continue;
      if (!partner) return `part "${name}" cannot be confirmed (rule ${spec.confirmWith} unknown to this runner)`;
      const r = await this.checkAt({ rule: partner, secret: value, ...(signal ? { signal } : {}) }, depth + 1);
      if (r.verdict !== 'live') return `part "${name}" is not confirmed live (${r.verdict}: ${r.reason})`;
    }
    return null;
  }

  /** Asks the provider to revoke the key with the rule's revocation plan. Never throws for provider trouble. */
  async revoke(request: RevokeRequest): Promise<RevokeResult> {
    const started = this.now();
    const { rule, secret } = request;
    const parts = request.parts ?? {};
    const provider = providerEnvName(rule.provider);
    const done = (r: Omit<RevokeResult, 'ruleId' | 'provider' | 'durationMs'>): RevokeResult => ({
      ruleId: rule.id,
      provider,
      ...r,
      reason: scrub(r.reason, secret, parts),
      durationMs: Math.max(0, this.now() - started),
    });
    const revocation = selectCheck(rule.revocation, secret, parts);
    if (!revocation)
      return done({ outcome: 'unknown', reason: `rule ${rule.id} has no revocation plan for this secret`, retryable: false });
    const baseUrl = this.baseUrls.get(rule.provider);
    if (!baseUrl) {
      return done({
        outcome: 'unknown',
        reason: `no base URL for provider ${provider}: set KEYWARDEN_PROVIDER_${provider}_BASE_URL`,
        retryable: false,
      });
    }
    const call = describeCall(revocation, baseUrl);
    const wait = this.blockedFor(provider);
    if (wait > 0)
      return done({ outcome: 'unknown', reason: 'provider asked to wait; not sent', retryAfterMs: wait, retryable: true, call });
    let planned: PlannedRequest;
    try {
      planned = plan(revocation, secret, parts, baseUrl);
    } catch (err) {
      if (isKeywardenError(err)) return done({ outcome: 'unknown', reason: err.message, retryable: false, call });
      throw err;
    }
    const sent = await this.send(planned, request.signal);
    if (!sent.ok) return done({ outcome: 'unknown', reason: sent.reason, retryable: sent.retryable, call });
    const j = judgeRevocation(revocation, sent.response, { nowMs: this.now() });
    if (j.retryAfterMs !== undefined) this.blockedUntil.set(provider, this.now() + j.retryAfterMs);
    return done({
      outcome: j.outcome,
      reason: j.reason,
      status: sent.response.status,
      ...(j.retryAfterMs !== undefined ? { retryAfterMs: j.retryAfterMs } : {}),
      retryable: j.outcome === 'unknown',
      call,
    });
  }
}

export function createLivenessRunner(opts: LivenessRunnerOptions): LivenessRunner {
  return new LivenessRunner(opts);
}
