// judge(check, response) -> live | revoked | unknown, and why. Pure. The asymmetry is the point: a
// key is called revoked only when the provider's answer matches what the check declares revoked; a
// rate limit, a redirect, a 5xx, an ambiguous or unexpected answer is `unknown`, never `revoked`.
// Reasons quote only the status and short codes from the body (`error=token_revoked`), never the
// body itself, which could echo the key.
import type { AnswerMatcher, JsonCondition, LivenessCheck, RevocationPlan } from '../rules/schema.js';

/** What came back, as the runner read it (header names lower-case, body capped by the runner). */
export interface ProviderResponse {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: string;
}

export type Verdict = 'live' | 'revoked' | 'unknown';

export interface Judgement {
  verdict: Verdict;
  reason: string;
  /** Set when the provider asked us to wait (429, Retry-After, an exhausted rate-limit window). */
  retryAfterMs?: number;
}

export type RevocationOutcome = 'accepted' | 'rejected' | 'unknown';

export interface RevocationJudgement {
  outcome: RevocationOutcome;
  reason: string;
  retryAfterMs?: number;
}

export interface JudgeOptions {
  /** The clock, for `Retry-After: <HTTP date>` and `x-ratelimit-reset`; without it dates use the default wait. */
  nowMs?: number;
}

/** Wait when a provider rate-limits without saying for how long (GitHub: "wait at least one minute"). */
export const DEFAULT_RETRY_AFTER_MS = 60_000;
/** Longest wait honoured: a provider asking for more is re-asked after this. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

function clampDelay(ms: number): number {
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_RETRY_AFTER_MS);
}

/** Retry-After (seconds or an HTTP date, RFC 9110 10.2.3) in ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs?: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return clampDelay(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return nowMs === undefined ? DEFAULT_RETRY_AFTER_MS : clampDelay(at - nowMs);
}

/** A rate-limit answer: 429, or 403 with an exhausted window (GitHub, x-ratelimit-remaining: 0). */
function rateLimitDelay(res: ProviderResponse, nowMs: number | undefined): number | undefined {
  const exhausted = res.headers['x-ratelimit-remaining'] === '0' && (res.status === 403 || res.status === 429);
  if (res.status !== 429 && !exhausted) return undefined;
  const retryAfter = parseRetryAfter(res.headers['retry-after'], nowMs);
  if (retryAfter !== undefined) return retryAfter;
  const reset = res.headers['x-ratelimit-reset'];
  if (reset !== undefined && /^\d+$/.test(reset) && nowMs !== undefined) return clampDelay(Number(reset) * 1000 - nowMs);
  return DEFAULT_RETRY_AFTER_MS;
}

/** Parsed JSON body, or undefined when the body is not JSON. */
function parseJson(body: string): unknown {
  const t = body.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** Value at a dot path (`errors.0.code`); undefined when any step is missing. */
export function jsonAt(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const step of path.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(step)) cur = cur[Number(step)];
    else if (typeof cur === 'object' && cur !== null && Object.hasOwn(cur, step)) cur = (cur as Record<string, unknown>)[step];
    else return undefined;
  }
  return cur;
}

function conditionHolds(json: unknown, c: JsonCondition): boolean {
  const v = jsonAt(json, c.path);
  if (c.exists !== undefined) return c.exists ? v !== undefined && v !== null : v === undefined || v === null;
  if (c.in !== undefined) return c.in.some((x) => x === v);
  return v === c.equals;
}

function matches(m: AnswerMatcher, res: ProviderResponse, json: unknown): boolean {
  if (!m.status.includes(res.status)) return false;
  if (m.bodyIncludes && !m.bodyIncludes.every((s) => res.body.includes(s))) return false;
  if (m.bodyIsJson && json === undefined) return false;
  if (m.json && (json === undefined || !m.json.every((c) => conditionHolds(json, c)))) return false;
  return true;
}

/** A body value fit for a reason: a short code (`token_revoked`, `InvalidClientTokenId`), else elided. */
function quote(v: unknown): string {
  if (typeof v === 'boolean' || typeof v === 'number' || v === null) return String(v);
  if (typeof v === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(v)) return v;
  return v === undefined ? 'absent' : '…';
}

function describe(m: AnswerMatcher, res: ProviderResponse, json: unknown): string {
  const bits = [`HTTP ${res.status}`];
  for (const c of m.json ?? []) bits.push(`${c.path}=${quote(jsonAt(json, c.path))}`);
  for (const s of m.bodyIncludes ?? []) {
    // An XML code element reads best as its text: <Code>InvalidClientTokenId</Code> -> InvalidClientTokenId.
    const code = /^<([A-Za-z]+)>([A-Za-z0-9_.:-]{1,64})<\/\1>$/.exec(s);
    bits.push(code ? `${code[1]}=${code[2]}` : 'body matched');
  }
  return bits.join(', ');
}

/** Why an answer matched nothing: status, and the JSON `error`-ish code if the body has one. */
function describeUnexpected(res: ProviderResponse, json: unknown): string {
  if (json === undefined)
    return `unexpected answer: HTTP ${res.status}${res.body.trim() === '' ? ', empty body' : ', body is not JSON'}`;
  for (const path of ['error.code', 'error.type', 'error', 'errors.0.code', 'errors.0.message', 'code', 'message', 'id']) {
    const v = jsonAt(json, path);
    if (typeof v === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(v)) return `unexpected answer: HTTP ${res.status}, ${path}=${v}`;
  }
  return `unexpected answer: HTTP ${res.status}`;
}

type Preliminary = { reason: string; retryAfterMs?: number } | null;

/** Answers that mean "ask again later" whatever the check says. */
function transport(res: ProviderResponse, nowMs: number | undefined): Preliminary {
  const wait = rateLimitDelay(res, nowMs);
  if (wait !== undefined)
    return { reason: `rate limited (HTTP ${res.status}); retry in ${Math.ceil(wait / 1000)}s`, retryAfterMs: wait };
  if (res.status >= 500) {
    const retryAfter = parseRetryAfter(res.headers['retry-after'], nowMs);
    return { reason: `provider error: HTTP ${res.status}`, ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) };
  }
  if (res.status >= 300 && res.status < 400) return { reason: `redirect (HTTP ${res.status}) not followed` };
  if (res.status < 200) return { reason: `unexpected answer: HTTP ${res.status}` };
  return null;
}

/** Reads a liveness answer. See the module header for why unknown is the default. */
export function judge(
  check: Pick<LivenessCheck, 'live' | 'revoked' | 'unknown'>,
  res: ProviderResponse,
  opts: JudgeOptions = {},
): Judgement {
  const pre = transport(res, opts.nowMs);
  if (pre) return { verdict: 'unknown', ...pre };
  const json = parseJson(res.body);
  const unknown = check.unknown.find((m) => matches(m, res, json));
  if (unknown) return { verdict: 'unknown', reason: `inconclusive: ${describe(unknown, res, json)}` };
  const revoked = check.revoked.find((m) => matches(m, res, json));
  const live = check.live.find((m) => matches(m, res, json));
  if (revoked && live)
    return { verdict: 'unknown', reason: `ambiguous: ${describe(revoked, res, json)} matches both live and revoked` };
  if (revoked) return { verdict: 'revoked', reason: `provider rejects the key: ${describe(revoked, res, json)}` };
  if (live) return { verdict: 'live', reason: `provider accepts the key: ${describe(live, res, json)}` };
  return { verdict: 'unknown', reason: describeUnexpected(res, json) };
}

/** Reads a self-revocation answer: accepted, rejected, or unknown (rate limit, 5xx, anything else). */
export function judgeRevocation(
  plan: Pick<RevocationPlan, 'accepted' | 'rejected' | 'unknown'>,
  res: ProviderResponse,
  opts: JudgeOptions = {},
): RevocationJudgement {
  const pre = transport(res, opts.nowMs);
  if (pre) return { outcome: 'unknown', ...pre };
  const json = parseJson(res.body);
  const unknown = plan.unknown.find((m) => matches(m, res, json));
  if (unknown) return { outcome: 'unknown', reason: `inconclusive: ${describe(unknown, res, json)}` };
  const rejected = plan.rejected.find((m) => matches(m, res, json));
  const accepted = plan.accepted.find((m) => matches(m, res, json));
  if (rejected && accepted) return { outcome: 'unknown', reason: `ambiguous: ${describe(accepted, res, json)}` };
  if (accepted) return { outcome: 'accepted', reason: `provider accepted the revocation: ${describe(accepted, res, json)}` };
  if (rejected) return { outcome: 'rejected', reason: `provider refused the revocation: ${describe(rejected, res, json)}` };
  return { outcome: 'unknown', reason: describeUnexpected(res, json) };
}
