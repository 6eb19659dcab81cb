// The engine: bytes + compiled pack in, raw matches out. Pure (no fs, clock, logger), so it runs
// the same in tests, in worker threads and in queue workers.
//   1. Aho–Corasick finds keyword positions (one pass over the bytes).
//   2. For each rule a keyword triggers, a window around the hit (its line, clipped) is queued;
//      overlapping windows of one rule merge, then RE2 runs once per window.
//   3. Checks on the few matches: boundaries, entropy, checksum, allowlists, placeholders, inline allow.
//   4. Base64 and percent-encoded segments are decoded and scanned again (depth-limited); their
//      matches point at the encoded text.

import { createHash } from 'node:crypto';
import { findKeywords, HitList } from './aho.js';
import { base64Runs } from './base64-runs.js';
import type { CompiledPack, CompiledRule } from './compile.js';
import { shannonEntropy } from './entropy.js';
import { type FormatValue, parseFormat } from './formats.js';
import { looksLikePlaceholder } from './placeholder.js';
import { forgetScannedText } from './prefilters.js';
import { compileRe2, type RE2Instance } from './re2.js';
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

/**
 * The path-gated rules whose `paths` match `path` (usually none: one RE2 test of the path against
 * the alternation of every gate rejects nearly every file). Decoded text is no file: gates stay shut.
 */
function openGates(pack: CompiledPack, path: string | undefined): number[] | null {
  if (path === undefined || pack.gateAny === null) return null;
  // A file is scanned by path rules and by the engine right after: one RE2 test per file, on the
  // path's UTF-8 bytes: given a string, RE2 converts it on every call, which made this test cost
  // ~1.8 us a file (4% of a scan of small files); given bytes, ~0.5 us with the conversion.
  if (path === memo.path && pack === memo.pack) return memo.open;
  let open: number[] | null = null;
  const bytes = Buffer.from(path, 'utf8');
  if (pack.gateAny.test(bytes)) {
    open = [];
    for (const ri of pack.gatedRules) if (pack.rules[ri]!.gate!.some((re) => re.test(bytes))) open.push(ri);
    if (open.length === 0) open = null;
  }
  memo.pack = pack;
  memo.path = path;
  memo.open = open;
  return open;
}
const memo: { pack: CompiledPack | null; path: string | undefined; open: number[] | null } = {
  pack: null,
  path: undefined,
  open: null,
};

function scanAtDepth(pack: CompiledPack, buf: Buffer, ctx: ScanContext, depth: number): RawMatch[] {
  const path = ctx.path;
  if (path !== undefined && pack.globalPathAllow.some((re) => re.test(path))) return [];
  // Shared (never written) until this file needs its own copy: gated rules off, allowlisted rules off.
  let disabled: Uint8Array | null = pack.gatedMask;
  let own = false;
  const writable = (): Uint8Array => {
    if (!own) {
      disabled = disabled === null ? new Uint8Array(pack.rules.length) : Uint8Array.from(disabled);
      own = true;
    }
    return disabled!;
  };
  const open = depth === 0 ? openGates(pack, path ?? ctx.gatePath) : null;
  if (open !== null) for (const ri of open) writable()[ri] = 0;
  if (path !== undefined && pack.pathSensitive.length > 0) {
    for (const ri of pack.pathSensitive) {
      if (pack.rules[ri]!.pathAllow.some((re) => re.test(path))) writable()[ri] = 1;
    }
  }

  let hits = hitLists[depth];
  if (hits === undefined) {
    hits = new HitList();
    hitLists[depth] = hits;
  }
  forgetScannedText();
  findKeywords(pack.automaton, buf, hits, 0, buf.length, pack.keywordGates);
  const out: RawMatch[] = [];
  if (hits.length > 0) runWindows(pack, buf, hits, disabled, out);
  if (open !== null) runWholeFileRules(pack, buf, open, disabled, out);
  if (depth < MAX_DECODE_DEPTH) decodeAndScan(pack, buf, ctx, depth, out);
  return out.length > 1 ? dropGenericOverlaps(pack, out) : out;
}

/**
 * Gated rules without keywords, on a file their paths selected: a pattern over the whole file, or a
 * parser's values (each parser runs once per file, whatever number of rules read its values).
 */
function runWholeFileRules(
  pack: CompiledPack,
  buf: Buffer,
  open: readonly number[],
  disabled: Uint8Array | null,
  out: RawMatch[],
): void {
  const parsed = new Map<string, FormatValue[]>();
  const seen = new Set<string>();
  for (const ri of open) {
    if (disabled !== null && disabled[ri] === 1) continue;
    const r = pack.rules[ri]!;
    if (r.format === 'path') continue; // reported by scanPathRules, which sees binary files too
    if (r.format === null) {
      if (r.wholeFile) runRule(pack, r, buf, 0, buf.length, seen, out);
      continue;
    }
    let values = parsed.get(r.format);
    if (values === undefined) {
      values = parseFormat(r.format, buf);
      parsed.set(r.format, values);
    }
    const re = r.valueRe;
    for (const v of values) {
      if (r.formatKeys !== null && !r.formatKeys.test(v.key)) continue;
      const m = re.exec(buf.subarray(v.start, v.end));
      const span = m?.indices?.[r.secretGroup];
      if (!span || span[1] <= span[0]) continue;
      const match = checkMatch(pack, r, buf, v.start + span[0], v.start + span[1]);
      if (match !== null) out.push(match);
    }
  }
}

/**
 * Rules with `format: {parser: path}`: the file is the credential (a Java keystore, a PKCS#12
 * bundle), so the match holds no content: offset 0, and as its secret a digest of the bytes, which
 * gives the same file the same fingerprint wherever it lies. Called for binary files too.
 */
export function scanPathRules(pack: CompiledPack, buf: Buffer, ctx: ScanContext): RawMatch[] {
  const path = ctx.path ?? ctx.gatePath;
  const open = openGates(pack, path);
  if (open === null) return [];
  if (ctx.path !== undefined && pack.globalPathAllow.some((re) => re.test(ctx.path!))) return [];
  const out: RawMatch[] = [];
  for (const ri of open) {
    const r = pack.rules[ri]!;
    if (r.format !== 'path' || (ctx.path !== undefined && r.pathAllow.some((re) => re.test(ctx.path!)))) continue;
    const secret = `sha256:${createHash('sha256').update(buf).digest('hex')}`;
    out.push({ ruleIndex: ri, start: 0, end: 0, secret, entropy: 0 });
  }
  return out;
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
      if (p === m) return false;
      const q = rule(p);
      // A rule that supersedes another wins over it whatever the ranks: otherwise a credential-file
      // rule superseding a provider rule (npmrc-credential over npmrc-auth-token-legacy) and that
      // provider rule would drop each other, and the secret would go unreported.
      if (p.start < m.end && m.start < p.end)
        return q.supersedes.includes(m.ruleIndex) || (q.rank > r.rank && !r.supersedes.includes(p.ruleIndex));
      // A pair's report stands for both halves: the id's own rule yields to it if it supersedes it.
      const w = p.pairedWith;
      return w !== undefined && w.start < m.end && m.start < w.end && q.supersedes.includes(m.ruleIndex);
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
    const gated = pack.keywordGateShared[kid] === 1; // its rules' one prefilter passed in findKeywords
    for (let k = 0; k < ruleIdx.length; k++) {
      const ri = ruleIdx[k]!;
      if (disabled !== null && disabled[ri] === 1) continue;
      const r = pack.rules[ri]!;
      if (!gated && r.prefilter !== null && !r.prefilter(buf, start, end)) continue;
      // Line bounds only for a hit some rule takes (weak keywords' rejected hits cost no search),
      // reused while hits stay on one line.
      if (!r.multiline && !(start >= lineStart && end <= lineEnd)) {
        const lo = Math.max(0, start - LINE_SEARCH);
        const back = start > 0 ? buf.lastIndexOf(NL, start - 1) : -1;
        lineStart = back < lo ? lo : back + 1;
        const hi = Math.min(n, end + LINE_SEARCH);
        const fwd = buf.indexOf(NL, end);
        lineEnd = fwd === -1 || fwd > hi ? hi : fwd;
      }
      if (r.anchored) {
        let we = end + r.after;
        if (we > (r.multiline ? n : lineEnd)) we = r.multiline ? n : lineEnd;
        runAnchored(pack, r, buf, start, we, seen, out);
        continue;
      }
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
    if (r.pair !== null) {
      const match = pairMatch(pack, r, buf, s, e);
      if (match === null) continue;
      const pairKey = `${r.index}:${match.start}:${match.end}`;
      if (seen.has(pairKey)) continue;
      seen.add(pairKey);
      out.push(match);
      continue;
    }
    const match = checkMatch(pack, r, buf, s, e);
    if (match === null) continue;
    if (r.nameAllow !== null && nameAllowed(r.nameAllow, buf, ws + (whole?.[0] ?? span[0]), s)) continue;
    if (r.near !== null && !nearby(buf, s, e, r.near.re, r.near.lines)) continue;
    out.push(match);
  }
}

/**
 * One anchored attempt at a keyword hit (`window.anchored`): a rule whose matches all start at
 * their keyword fails in a few bytes where a window search would scan hundreds (a weak keyword's
 * windows merge into kilobytes in minified code: generic-token spent ~6 us per hit, docs/benchmarks.md).
 */
function runAnchored(
  pack: CompiledPack,
  r: CompiledRule,
  buf: Buffer,
  start: number,
  we: number,
  seen: Set<string>,
  out: RawMatch[],
): void {
  const window = buf.subarray(start, we);
  const re = r.stickyRe;
  re.lastIndex = 0;
  const m = re.exec(window);
  const span = m?.indices?.[r.secretGroup];
  if (!span || span[1] <= span[0]) return;
  const s = start + span[0];
  const e = start + span[1];
  const key = `${r.index}:${s}:${e}`;
  if (seen.has(key)) return;
  seen.add(key);
  const match = checkMatch(pack, r, buf, s, e);
  if (match === null || (r.nameAllow !== null && nameAllowed(r.nameAllow, buf, start, s))) return;
  if (r.near === null || nearby(buf, s, e, r.near.re, r.near.lines)) out.push(match);
}

/** Bytes of a name (`authenticity_token`, `X-CSRF-Token`): where a name a match begins in starts. */
const NAME_BYTE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-') NAME_BYTE[c.charCodeAt(0)] = 1;

/**
 * True when the name a match assigns its secret to matches `allowlist.names`: the text from the
 * start of the name the match begins in (up to 64 bytes back: an anchored match begins at its
 * keyword, inside `authenticity_token`) to the secret. Run only on matches that passed every other check.
 */
function nameAllowed(names: readonly RE2Instance[], buf: Buffer, matchStart: number, s: number): boolean {
  let lo = matchStart;
  const floor = Math.max(0, matchStart - 64);
  while (lo > floor && NAME_BYTE[buf[lo - 1]!] === 1) lo--;
  const name = buf.toString('latin1', lo, s);
  return names.some((re) => re.test(name));
}

/** Start of the line `lines` lines above `s`, and end of the line `lines` lines below `e`. */
function linesAround(buf: Buffer, s: number, e: number, lines: number): [number, number] {
  let lo = s;
  const floor = Math.max(0, s - LINE_SEARCH);
  for (let k = 0; k <= lines && lo > floor; k++) {
    const nl = buf.lastIndexOf(NL, lo - 1);
    if (nl < floor) {
      lo = floor;
      break;
    }
    lo = k < lines ? nl : nl + 1;
  }
  if (lo < s && buf[lo] === NL) lo++;
  let hi = e;
  const ceil = Math.min(buf.length, e + LINE_SEARCH);
  for (let k = 0; k <= lines && hi < ceil; k++) {
    const nl = buf.indexOf(NL, k === 0 ? hi : hi + 1);
    if (nl === -1 || nl >= ceil) {
      hi = ceil;
      break;
    }
    hi = nl;
  }
  return [lo, hi];
}

/** True when `re` matches within `lines` lines of the match [s, e) (`near:` in a rule). */
function nearby(buf: Buffer, s: number, e: number, re: RE2Instance, lines: number): boolean {
  const [lo, hi] = linesAround(buf, s, e, lines);
  return re.test(buf.subarray(lo, hi));
}

/**
 * A paired credential: [s, e) is the half with a prefix (checked as any match, but without the
 * entropy floor and placeholder filter, which judge the secret); the pair pattern's nearest match
 * within `lines` lines is the secret reported, and `parts` names both halves.
 */
function pairMatch(pack: CompiledPack, r: CompiledRule, buf: Buffer, s: number, e: number): RawMatch | null {
  const pair = r.pair!;
  const b = r.boundary;
  if (b !== null && ((s > 0 && b[buf[s - 1]!] === 1) || (e < buf.length && b[buf[e]!] === 1))) return null;
  const anchor = buf.toString('utf8', s, e);
  // A documented example id (AKIAIOSFODNN7EXAMPLE) pairs with nothing: the rule's allowlist judges both halves.
  if (TEMPLATE_TEXT.test(anchor) || hasInlineAllow(buf, s, e) || isAllowlisted(anchor, r.allowRegexes, r.stopwords)) return null;
  const [lo, hi] = linesAround(buf, s, e, pair.lines);
  const window = buf.subarray(lo, hi);
  const re = pair.re;
  re.lastIndex = 0;
  let best: RawMatch | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (let m = re.exec(window); m !== null; m = re.exec(window)) {
    const whole = m.indices?.[0];
    if (whole && whole[1] === whole[0]) re.lastIndex = whole[1] + 1;
    const span = m.indices?.[pair.secretGroup];
    if (!span || span[1] <= span[0]) continue;
    const ps = lo + span[0];
    const pe = lo + span[1];
    if (ps < e && s < pe) continue; // the anchor itself
    const distance = ps >= e ? ps - e : s - pe;
    if (distance >= bestDistance) continue;
    const secret = checkSecret(pack, r, buf, ps, pe);
    if (secret === null) continue;
    best = { ...secret, parts: { [pair.parts[0]]: anchor, [pair.parts[1]]: secret.secret }, pairedWith: { start: s, end: e } };
    bestDistance = distance;
  }
  return best;
}

/** The checks that run only on matches, cheapest first. Returns null when the match is rejected. */
function checkMatch(pack: CompiledPack, r: CompiledRule, buf: Buffer, s: number, e: number): RawMatch | null {
  const b = r.boundary;
  if (b !== null && ((s > 0 && b[buf[s - 1]!] === 1) || (e < buf.length && b[buf[e]!] === 1))) return null;
  return checkSecret(pack, r, buf, s, e);
}

/** The checks on the secret's text (all but the boundary, which the pair pattern draws itself). */
function checkSecret(pack: CompiledPack, r: CompiledRule, buf: Buffer, s: number, e: number): RawMatch | null {
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
      if (dup) continue;
      const decoded: RawMatch = { ruleIndex: m.ruleIndex, start: s, end: e, secret: m.secret, entropy: m.entropy, encoding };
      if (m.parts) decoded.parts = m.parts;
      out.push(decoded);
    }
  };

  // Runs of 32+ base64 characters (24+ bytes decoded): see base64-runs.ts for why not a regex.
  const runs = base64Runs(buf);
  for (let k = 0; k < runs.length; k += 2) {
    const s = runs[k]!;
    const e = runs[k + 1]!;
    const decoded = decodeBase64(buf, s, e);
    if (decoded !== null) add(scanAtDepth(pack, decoded, ctx, depth + 1), s, e, 'base64');
  }

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
