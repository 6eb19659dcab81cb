// The engine: bytes + compiled pack in, raw matches out. Pure (no fs, clock, logger), so it runs
// the same in tests, in worker threads and in queue workers.
//   1. Aho–Corasick finds keyword positions (one pass over the bytes).
//   2. For each rule a keyword triggers, a window around the hit (its line, clipped) is queued;
//      overlapping windows of one rule merge, then RE2 runs once per window.
//   3. Checks on the few matches: boundaries, entropy, checksum, allowlists, placeholders, inline allow.
//   4. Base64 and percent-encoded segments are decoded and scanned again (depth-limited); their
//      matches point at the encoded text.

import { findKeywords, HitList } from './aho.js';
import { forEachBase64Run } from './base64-runs.js';
import type { CompiledPack, CompiledRule } from './compile.js';
import { shannonEntropy } from './entropy.js';
import { looksLikePlaceholder } from './placeholder.js';
import { compileRe2 } from './re2.js';
import type { RawMatch, ScanContext } from './types.js';

const NL = 0x0a;
/** How far back/forward to look for a line break; rules' windows are clipped by their own limits. */
const LINE_SEARCH = 65536;
/** Decoded text may itself be encoded (base64 of a URL with %40 in it): two levels, no more. */
const MAX_DECODE_DEPTH = 2;
const PERCENT_ESCAPE = '%[0-9A-Fa-f]{2}';
/**
 * One instance per decode depth: a global RE2 carries `lastIndex`, and decoded text is scanned
 * recursively while the outer loop is still iterating.
 */
const percentEscapes = Array.from({ length: MAX_DECODE_DEPTH }, () => compileRe2(PERCENT_ESCAPE, 'g'));
const ALLOW_MARKER = Buffer.from('keywarden:allow');
/**
 * Rule examples are templates (`«ghp_{base62:30}{checksum}»`, rules/README.md): text that still holds
 * a marker or a placeholder is a template, never a secret, so keywarden can scan its own rule pack.
 */
const TEMPLATE_TEXT =
  /[«»]|\{(?:base62|hex|HEX|base64|base64url|upper|lower|letters|digits|upperdigits|lowerdigits|base32|bech32|BECH32|checksum|badchecksum|jwt|uuid)(?::\d+)?\}/;

/** Per-call scratch state; module-level reuse keeps allocations off the hot path. */
const hitLists: HitList[] = [];

export function scanBuffer(pack: CompiledPack, buf: Buffer, ctx: ScanContext = {}): RawMatch[] {
  return scanAtDepth(pack, buf, ctx, 0);
}

function scanAtDepth(pack: CompiledPack, buf: Buffer, ctx: ScanContext, depth: number): RawMatch[] {
  const path = ctx.path;
  if (path !== undefined && pack.globalPathAllow.some((re) => re.test(path))) return [];
  let disabled: Uint8Array | null = null;
  if (path !== undefined && pack.pathSensitive.length > 0) {
    for (const ri of pack.pathSensitive) {
      if (pack.rules[ri]!.pathAllow.some((re) => re.test(path))) {
        disabled ??= new Uint8Array(pack.rules.length);
        disabled[ri] = 1;
      }
    }
  }

  let hits = hitLists[depth];
  if (hits === undefined) {
    hits = new HitList();
    hitLists[depth] = hits;
  }
  findKeywords(pack.automaton, buf, hits);
  const out: RawMatch[] = [];
  if (hits.length > 0) runWindows(pack, buf, hits, disabled, out);
  if (depth < MAX_DECODE_DEPTH) decodeAndScan(pack, buf, ctx, depth, out);
  return out.length > 1 ? dropGenericOverlaps(pack, out) : out;
}

/**
 * `token = "ghp_…"` matches both the GitHub rule and a generic assignment rule: one secret, one
 * report, from the rule that knows the format (and its checksum and liveness check). A match is
 * dropped when a higher-ranked rule matched overlapping text (see `CompiledRule.rank`).
 */
function dropGenericOverlaps(pack: CompiledPack, matches: RawMatch[]): RawMatch[] {
  const rule = (m: RawMatch) => pack.rules[m.ruleIndex]!;
  return matches.filter((m) => {
    const r = rule(m);
    return !matches.some((p) => {
      if (p === m || !(p.start < m.end && m.start < p.end)) return false;
      const q = rule(p);
      return q.rank > r.rank || q.supersedes.includes(m.ruleIndex);
    });
  });
}

function runWindows(pack: CompiledPack, buf: Buffer, hits: HitList, disabled: Uint8Array | null, out: RawMatch[]): void {
  const n = buf.length;
  const nRules = pack.rules.length;
  const curStart = new Int32Array(nRules).fill(-1);
  const curEnd = new Int32Array(nRules);
  const touched: number[] = [];
  const seen = new Set<string>();
  const kwLen = pack.automaton.keywordLengths;
  // Line bounds of the last hit, reused while hits stay on one line.
  let lineStart = -1;
  let lineEnd = -1;

  for (let h = 0; h < hits.length; h++) {
    const kid = hits.ids[h]!;
    const end = hits.ends[h]!;
    const start = end - kwLen[kid]!;
    const ruleIdx = pack.keywordRules[kid]!;
    if (!(start >= lineStart && end <= lineEnd)) {
      const lo = Math.max(0, start - LINE_SEARCH);
      const back = buf.subarray(lo, start).lastIndexOf(NL);
      lineStart = back === -1 ? lo : lo + back + 1;
      const hi = Math.min(n, end + LINE_SEARCH);
      const fwd = buf.subarray(end, hi).indexOf(NL);
      lineEnd = fwd === -1 ? hi : end + fwd;
    }
    for (let k = 0; k < ruleIdx.length; k++) {
      const ri = ruleIdx[k]!;
      if (disabled !== null && disabled[ri] === 1) continue;
      const r = pack.rules[ri]!;
      let ws = start - r.before;
      let we = end + r.after;
      if (r.multiline) {
        if (ws < 0) ws = 0;
        if (we > n) we = n;
      } else {
        if (ws < lineStart) ws = lineStart;
        if (we > lineEnd) we = lineEnd;
      }
      const cs = curStart[ri]!;
      if (cs === -1) {
        curStart[ri] = ws;
        curEnd[ri] = we;
        touched.push(ri);
      } else if (ws <= curEnd[ri]!) {
        if (we > curEnd[ri]!) curEnd[ri] = we;
      } else {
        runRule(pack, r, buf, cs, curEnd[ri]!, seen, out);
        curStart[ri] = ws;
        curEnd[ri] = we;
      }
    }
  }
  for (const ri of touched) runRule(pack, pack.rules[ri]!, buf, curStart[ri]!, curEnd[ri]!, seen, out);
}

function runRule(
  pack: CompiledPack,
  r: CompiledRule,
  buf: Buffer,
  ws: number,
  we: number,
  seen: Set<string>,
  out: RawMatch[],
): void {
  const window = buf.subarray(ws, we);
  // Touched only now: a thread compiles only the rules its files trigger.
  const re = r.re;
  re.lastIndex = 0;
  for (let m = re.exec(window); m !== null; m = re.exec(window)) {
    const whole = m.indices?.[0];
    if (whole && whole[1] === whole[0]) re.lastIndex = whole[1] + 1; // empty match: step on
    const span = m.indices?.[r.secretGroup];
    if (!span) continue;
    const s = ws + span[0];
    const e = ws + span[1];
    if (e <= s) continue;
    const key = `${r.index}:${s}:${e}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const match = checkMatch(pack, r, buf, s, e);
    if (match !== null) out.push(match);
  }
}

/** The checks that run only on matches, cheapest first. Returns null when the match is rejected. */
function checkMatch(pack: CompiledPack, r: CompiledRule, buf: Buffer, s: number, e: number): RawMatch | null {
  const b = r.boundary;
  if (b !== null && ((s > 0 && b[buf[s - 1]!] === 1) || (e < buf.length && b[buf[e]!] === 1))) return null;
  const secret = buf.toString('utf8', s, e);
  if (TEMPLATE_TEXT.test(secret)) return null;
  const entropy = shannonEntropy(secret);
  if (entropy < r.minEntropy) return null;
  if (r.verifyChecksum !== null && !r.verifyChecksum(secret)) return null;
  if (r.placeholderFilter && looksLikePlaceholder(secret)) return null;
  if (isAllowlisted(secret, r.allowRegexes, r.stopwords)) return null;
  if (isAllowlisted(secret, pack.globalAllowRegexes, pack.globalStopwords)) return null;
  if (hasInlineAllow(buf, s, e)) return null;
  return { ruleIndex: r.index, start: s, end: e, secret, entropy };
}

function isAllowlisted(secret: string, regexes: CompiledRule['allowRegexes'], stopwords: readonly string[]): boolean {
  if (regexes.length > 0 && regexes.some((re) => re.test(secret))) return true;
  if (stopwords.length > 0) {
    const lower = secret.toLowerCase();
    if (stopwords.some((w) => lower.includes(w))) return true;
  }
  return false;
}

/** `keywarden:allow` anywhere on the first or last line of the match suppresses it. */
function hasInlineAllow(buf: Buffer, s: number, e: number): boolean {
  const lo = Math.max(0, s - LINE_SEARCH);
  const back = buf.subarray(lo, s).lastIndexOf(NL);
  const ls = back === -1 ? lo : lo + back + 1;
  const hi = Math.min(buf.length, e + LINE_SEARCH);
  const fwd = buf.subarray(e, hi).indexOf(NL);
  const le = fwd === -1 ? hi : e + fwd;
  return buf.subarray(ls, le).indexOf(ALLOW_MARKER) !== -1;
}

// ---- decoding -------------------------------------------------------------------------------

function decodeAndScan(pack: CompiledPack, buf: Buffer, ctx: ScanContext, depth: number, out: RawMatch[]): void {
  const plainCount = out.length;
  const add = (inner: RawMatch[], s: number, e: number, encoding: 'base64' | 'percent') => {
    for (const m of inner) {
      // The plain scan already reported this rule here (e.g. a URI rule reading `p%40ss`).
      let dup = false;
      for (let i = 0; i < plainCount; i++) {
        const p = out[i]!;
        if (p.ruleIndex === m.ruleIndex && p.start < e && s < p.end) {
          dup = true;
          break;
        }
      }
      if (!dup) out.push({ ruleIndex: m.ruleIndex, start: s, end: e, secret: m.secret, entropy: m.entropy, encoding });
    }
  };

  // Runs of 32+ base64 characters (24+ bytes decoded): see base64-runs.ts for why not a regex.
  forEachBase64Run(buf, (s, e) => {
    const decoded = decodeBase64(buf, s, e);
    if (decoded !== null) add(scanAtDepth(pack, decoded, ctx, depth + 1), s, e, 'base64');
  });

  const pct = percentEscapes[depth]!;
  pct.lastIndex = 0;
  let tokenEnd = -1;
  for (let m = pct.exec(buf); m !== null; m = pct.exec(buf)) {
    if (m.index < tokenEnd) continue;
    const [s, e] = tokenAround(buf, m.index);
    tokenEnd = e;
    pct.lastIndex = e;
    const decoded = decodePercent(buf, s, e);
    if (decoded === null) continue;
    add(scanAtDepth(pack, decoded, ctx, depth + 1), s, e, 'percent');
  }
}

/** Decodes when the result is text (>= 95% printable ASCII or whitespace); null otherwise. */
function decodeBase64(buf: Buffer, s: number, e: number): Buffer | null {
  const decoded = Buffer.from(buf.toString('latin1', s, e), 'base64');
  if (decoded.length < 16) return null;
  let printable = 0;
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded[i]!;
    if ((c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x0d || c === 0x09) printable++;
  }
  return printable >= decoded.length * 0.95 ? decoded : null;
}

const TOKEN_STOP = new Uint8Array(256);
for (const c of ' \t\r\n"\'`<>()[]{},;') TOKEN_STOP[c.charCodeAt(0)] = 1;
const TOKEN_MAX = 4096;

function tokenAround(buf: Buffer, at: number): [number, number] {
  let s = at;
  const lo = Math.max(0, at - TOKEN_MAX);
  while (s > lo && TOKEN_STOP[buf[s - 1]!] !== 1) s--;
  let e = at;
  const hi = Math.min(buf.length, at + TOKEN_MAX);
  while (e < hi && TOKEN_STOP[buf[e]!] !== 1) e++;
  return [s, e];
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function decodePercent(buf: Buffer, s: number, e: number): Buffer | null {
  const out = Buffer.allocUnsafe(e - s);
  let j = 0;
  let changed = false;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c === 0x25 && i + 2 < e) {
      const hi = hexVal(buf[i + 1]!);
      const lo = hexVal(buf[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[j++] = (hi << 4) | lo;
        i += 2;
        changed = true;
        continue;
      }
    }
    out[j++] = c;
  }
  return changed ? out.subarray(0, j) : null;
}
