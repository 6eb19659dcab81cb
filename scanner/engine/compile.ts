// Stage two of the rule pipeline: validated `Rule`s (rules/schema.ts) become what the engine runs:
// RE2 programs compiled once, keywords folded into one Aho–Corasick automaton, checks resolved.

import { KeywardenError } from '../../errors/error.js';
import { checksums } from '../../rules/checksums.js';
import type { FormatParser, Rule, RuleKind } from '../../rules/schema.js';
import { type Automaton, buildAutomaton } from './aho.js';
import { foldAsciiCase } from './ascii-fold.js';
import { type Prefilter, prefilters } from './prefilters.js';
import { compileRe2, type RE2Instance } from './re2.js';

/** Allowlist applied to every rule (from the user's config). */
export interface GlobalAllowlist {
  regexes?: readonly string[];
  stopwords?: readonly string[];
  paths?: readonly string[];
}

export interface CompiledRule {
  readonly rule: Rule;
  readonly index: number;
  /**
   * Global + indices ('gd'): byte offsets of every group on Buffer input. Compiled from the pattern
   * with wide counted repetitions relaxed (`{16,256}` → `{16,}`, see `relaxRepetitions`).
   */
  readonly re: RE2Instance;
  readonly secretGroup: number;
  /** 256-entry table: 1 where a byte may not touch the secret. Null for `boundary: none`. */
  readonly boundary: Uint8Array | null;
  readonly minEntropy: number;
  readonly verifyChecksum: ((secret: string) => boolean) | null;
  readonly allowRegexes: readonly RE2Instance[];
  readonly stopwords: readonly string[];
  readonly pathAllow: readonly RE2Instance[];
  readonly placeholderFilter: boolean;
  /**
   * Who wins when two rules match overlapping text: 3 provider rules (they know the format and its
   * liveness check), 2 credential-file rules (they know the file), 1 generic rules that validate a
   * structure (the JWT checksum), 0 generic name = value rules. Lower ranks yield.
   */
  readonly rank: number;
  /** Indices of the rules this rule supersedes on overlapping text. */
  readonly supersedes: readonly number[];
  readonly before: number;
  readonly after: number;
  readonly multiline: boolean;
  /** `window.anchored`: the pattern is tried once per keyword hit, anchored there (`stickyRe`). */
  readonly anchored: boolean;
  readonly stickyRe: RE2Instance;
  readonly kind: RuleKind;
  /** Checked on each keyword hit before the window is queued (`prefilter` in the rule). */
  readonly prefilter: Prefilter | null;
  /** `allowlist.names`: a match whose name (its text before the secret) matches one is dropped. */
  readonly nameAllow: readonly RE2Instance[] | null;
  /** `paths`: the rule runs only on files whose relative path matches one; null = every file. */
  readonly gate: readonly RE2Instance[] | null;
  /** Gated and without keywords: the pattern (or parser) runs over the whole of each selected file. */
  readonly wholeFile: boolean;
  /** `format.parser`; `path` rules report the file itself (engine.ts `scanPathRules`). */
  readonly format: FormatParser | null;
  /** `format.keys`: which parsed values the rule looks at (all when null). */
  readonly formatKeys: RE2Instance | null;
  /** The pattern anchored to a whole parsed value (`^(?:p)$`), for format rules. */
  readonly valueRe: RE2Instance;
  readonly near: { readonly re: RE2Instance; readonly lines: number } | null;
  readonly pair: {
    readonly re: RE2Instance;
    readonly secretGroup: number;
    readonly lines: number;
    readonly parts: readonly [string, string];
  } | null;
}

export interface CompiledPack {
  readonly rules: readonly CompiledRule[];
  readonly automaton: Automaton;
  /** Keyword id → indices of the rules that keyword triggers. */
  readonly keywordRules: ReadonlyArray<Int32Array>;
  /**
   * Keyword id → a check run before the hit is recorded (aho.ts `KeywordGate`): the prefilter every
   * rule of that keyword shares, or where their prefilters differ, any of them passing (`token` is
   * generic-token's and generic-cli-credential-flag's: ungated, each of its ~330 hits per MB went on
   * to the window pass, and the file to its set-up); null where one of the rules has none.
   */
  readonly keywordGates: ReadonlyArray<Prefilter | null>;
  /** 1 where the keyword's gate is the one prefilter all its rules share: passing it passes each. */
  readonly keywordGateShared: Uint8Array;
  readonly globalAllowRegexes: readonly RE2Instance[];
  readonly globalStopwords: readonly string[];
  readonly globalPathAllow: readonly RE2Instance[];
  /** Rules with path allowlists: the only ones whose set depends on the scanned path. */
  readonly pathSensitive: readonly number[];
  /** The largest window any rule looks at: chunked sources overlap by at least this much. */
  readonly maxWindow: number;
  /** Indices of the rules with `paths`. */
  readonly gatedRules: readonly number[];
  /**
   * One alternation of every rule's paths: a file whose path it rejects (nearly all) opens no gate,
   * at the cost of one RE2 test on the path. Null when no rule is gated.
   */
  readonly gateAny: RE2Instance | null;
  /** 1 for gated rules: the keyword pass skips them unless the file's path opened their gate. */
  readonly gatedMask: Uint8Array | null;
}

const WORD = boundaryTable(/[A-Za-z0-9_]/);
const ALNUM = boundaryTable(/[A-Za-z0-9]/);

function boundaryTable(re: RegExp): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 128; b++) if (re.test(String.fromCharCode(b))) t[b] = 1;
  return t;
}

function compileAt(source: string, flags: string, where: string): RE2Instance {
  try {
    return compileRe2(source, flags);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new KeywardenError('KW_RULES_INVALID', `${where}: ${reason}`, [`${where}: ${reason}`]);
  }
}

/** Counted repetitions wider than this are relaxed in the compiled pattern. */
const WIDE_REPEAT = 32;

/**
 * `X{m,n}` with n - m > WIDE_REPEAT becomes `X{m,}` (escaped braces are left alone). Wide bounds
 * unroll into hundreds of NFA states: RE2 then spent 1–25 ms per matching window extracting groups
 * (a 200 MB scan met ~50 such windows per thread, ~130 ms). The relaxed form costs microseconds, and
 * the upper bound still holds in practice: the rule's window (`window.after`, sized to the format)
 * caps how far a match can reach, and the boundary check rejects a run cut off by the window.
 */
export function relaxRepetitions(pattern: string): string {
  return pattern.replace(/(?<!\\)\{(\d+),(\d+)\}/g, (whole, m: string, n: string) =>
    Number(n) - Number(m) > WIDE_REPEAT ? `{${m},}` : whole,
  );
}

/**
 * A rule pattern as the engine compiles it: wide repetitions relaxed and case-insensitive parts
 * folded to ASCII classes (see ascii-fold.ts). Both rewrites keep what the pattern matches on the
 * keys and names the pack looks for; the loader validates the pattern as written.
 */
export function enginePattern(pattern: string): string {
  return foldAsciiCase(relaxRepetitions(pattern));
}

export function compilePack(rules: readonly Rule[], global: GlobalAllowlist = {}): CompiledPack {
  const keywordIds = new Map<string, number>();
  const keywordRules: number[][] = [];
  const compiled: CompiledRule[] = rules.map((rule, index) => {
    // A format rule reads parsed values, never keyword windows: its keywords (if any) only document.
    for (const kw of rule.format ? [] : rule.keywords) {
      const folded = kw.replace(/[A-Z]/g, (c) => c.toLowerCase());
      let id = keywordIds.get(folded);
      if (id === undefined) {
        id = keywordIds.size;
        keywordIds.set(folded, id);
        keywordRules.push([]);
      }
      const list = keywordRules[id]!;
      if (!list.includes(index)) list.push(index);
    }
    const allow = rule.allowlist;
    const check = rule.checksum ? checksums[rule.checksum] : null;
    let re: RE2Instance | undefined;
    let valueRe: RE2Instance | undefined;
    let stickyRe: RE2Instance | undefined;
    let near: CompiledRule['near'] | undefined;
    let pair: CompiledRule['pair'] | undefined;
    const nearSpec = rule.near;
    const pairSpec = rule.pair;
    return {
      rule,
      index,
      // Compiled on first use: a worker thread meets a few dozen of the 240 rules, and compiling all
      // of them up front cost each thread ~150 ms of a scan's start. The loader has already checked
      // that every pattern compiles.
      get re() {
        if (re === undefined) re = compileAt(enginePattern(rule.pattern), 'gd', `rule ${rule.id} > pattern`);
        return re;
      },
      secretGroup: rule.secretGroup,
      boundary: rule.boundary === 'none' ? null : rule.boundary === 'alnum' ? ALNUM : WORD,
      minEntropy: rule.entropy ?? 0,
      verifyChecksum: check ? (s: string) => check.verify(s) : null,
      allowRegexes: (allow?.regexes ?? []).map((r, i) => compileAt(r, '', `rule ${rule.id} > allowlist.regexes[${i}]`)),
      stopwords: (allow?.stopwords ?? []).map((w) => w.toLowerCase()),
      pathAllow: (allow?.paths ?? []).map((r, i) => compileAt(r, '', `rule ${rule.id} > allowlist.paths[${i}]`)),
      nameAllow: allow?.names?.length
        ? allow.names.map((r, i) => compileAt(r, '', `rule ${rule.id} > allowlist.names[${i}]`))
        : null,
      placeholderFilter: rule.placeholderFilter,
      rank: rule.category === 'generic' ? (rule.checksum ? 1 : 0) : rule.category === 'credential-file' ? 2 : 3,
      // Resolved below, once every rule has an index; an unknown id is simply ignored (the rule may be disabled).
      supersedes: [] as number[],
      before: rule.window?.before ?? 256,
      after: rule.window?.after ?? 512,
      multiline: rule.window?.multiline ?? false,
      anchored: rule.window?.anchored ?? false,
      get stickyRe() {
        if (stickyRe === undefined) stickyRe = compileAt(enginePattern(rule.pattern), 'yd', `rule ${rule.id} > pattern`);
        return stickyRe;
      },
      kind: rule.kind ?? 'credential',
      prefilter: rule.prefilter ? prefilters[rule.prefilter] : null,
      gate: rule.paths?.length ? rule.paths.map((p, i) => compileAt(p, '', `rule ${rule.id} > paths[${i}]`)) : null,
      wholeFile: (rule.paths?.length ?? 0) > 0 && (rule.keywords.length === 0 || rule.format !== undefined),
      format: rule.format?.parser ?? null,
      formatKeys: rule.format?.keys ? compileAt(rule.format.keys, '', `rule ${rule.id} > format.keys`) : null,
      get valueRe() {
        if (valueRe === undefined) valueRe = compileAt(`^(?:${enginePattern(rule.pattern)})$`, 'd', `rule ${rule.id} > pattern`);
        return valueRe;
      },
      get near() {
        if (near === undefined)
          near = nearSpec
            ? { re: compileAt(foldAsciiCase(nearSpec.pattern), '', `rule ${rule.id} > near.pattern`), lines: nearSpec.lines }
            : null;
        return near;
      },
      get pair() {
        if (pair === undefined)
          pair = pairSpec
            ? {
                re: compileAt(enginePattern(pairSpec.pattern), 'gd', `rule ${rule.id} > pair.pattern`),
                secretGroup: pairSpec.secretGroup,
                lines: pairSpec.lines,
                parts: pairSpec.parts,
              }
            : null;
        return pair;
      },
    };
  });
  const indexOf = new Map(rules.map((r, i) => [r.id, i]));
  for (const c of compiled) {
    for (const id of c.rule.supersedes) {
      const i = indexOf.get(id);
      if (i !== undefined) (c.supersedes as number[]).push(i);
    }
  }
  const gatedRules = compiled.filter((r) => r.gate !== null).map((r) => r.index);
  let gatedMask: Uint8Array | null = null;
  if (gatedRules.length > 0) {
    gatedMask = new Uint8Array(compiled.length);
    for (const i of gatedRules) gatedMask[i] = 1;
  }
  const gateSources = rules.flatMap((r) => (r.paths ?? []).map((p) => `(?:${p})`));
  const automaton = buildAutomaton([...keywordIds.keys()]);
  const gates = keywordRules.map((l) => keywordGate(l.map((ri) => compiled[ri]!.prefilter)));
  return {
    rules: compiled,
    automaton,
    keywordRules: keywordRules.map((l) => Int32Array.from(l)),
    keywordGates: gates.map((g) => g.gate),
    keywordGateShared: Uint8Array.from(gates, (g) => (g.shared ? 1 : 0)),
    globalAllowRegexes: (global.regexes ?? []).map((r, i) => compileAt(r, '', `allowlist.regexes[${i}]`)),
    globalStopwords: (global.stopwords ?? []).map((w) => w.toLowerCase()),
    globalPathAllow: (global.paths ?? []).map((r, i) => compileAt(r, '', `allowlist.paths[${i}]`)),
    pathSensitive: compiled.filter((r) => r.pathAllow.length > 0).map((r) => r.index),
    maxWindow: Math.max(4096, ...compiled.map((r) => r.before + r.after)),
    gatedRules,
    gateAny: gateSources.length > 0 ? compileAt(gateSources.join('|'), '', 'rule paths') : null,
    gatedMask,
  };
}

/** A keyword's gate from its rules' prefilters (see `CompiledPack.keywordGates`). */
function keywordGate(prefilters: ReadonlyArray<Prefilter | null>): { gate: Prefilter | null; shared: boolean } {
  if (prefilters.length === 0 || prefilters.some((p) => p === null)) return { gate: null, shared: false };
  const distinct = [...new Set(prefilters as Prefilter[])];
  if (distinct.length === 1) return { gate: distinct[0]!, shared: true };
  const any: Prefilter = (buf, start, end) => {
    for (let i = 0; i < distinct.length; i++) if (distinct[i]!(buf, start, end)) return true;
    return false;
  };
  return { gate: any, shared: false };
}
