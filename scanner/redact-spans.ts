// Span redaction: what a secret becomes in redacted output. A `Redactor` (compiled pack, fingerprint
// key, stream name, marker cache) names each secret by a marker; spans of bytes are merged where
// rules overlap and replaced by their markers. Used by the batch (redact-lines.ts), the JSON-line
// decoder (redact-json.ts) and the stream (redact-stream.ts); no I/O.
import type { Finding } from '../model/finding.js';
import type { Rule } from '../rules/schema.js';
import { type CompiledPack, compilePack, type GlobalAllowlist } from './engine/compile.js';
import type { RawMatch } from './engine/types.js';
import { fingerprint } from './fingerprint.js';
import { findingAt } from './pipeline.js';

export interface RedactorOptions {
  rules: readonly Rule[];
  globalAllow?: GlobalAllowlist;
  fingerprintKey: Buffer;
  /** Names the log stream in findings (`source.stream`, `path`). @defaultValue `-` */
  stream?: string;
}

/** A compiled pack plus the marker cache; build once per process (compiling the pack costs ~100 ms). */
export interface Redactor {
  readonly pack: CompiledPack;
  readonly key: Buffer;
  readonly stream: string;
  readonly markers: Map<string, string>;
  /**
   * Findings carry their secret, in memory (a service worker hands it to the sealed vault; the
   * redacted output never holds it either way). @defaultValue false
   */
  readonly showSecrets?: boolean;
  /**
   * Remember the secrets it redacts across batches, so later repeats with no context go too
   * (redact-recent.ts). `createRedactor` sets it: one redactor is one stream. Leave it off where
   * callers see their own redacted text and are not the stream's owner (callback notes): the memory
   * would tell them whether a guess was a secret redacted for someone else. @defaultValue false
   */
  readonly remember?: boolean;
}

export function createRedactor(opts: RedactorOptions): Redactor {
  return {
    pack: compilePack(opts.rules, opts.globalAllow ?? {}),
    key: opts.fingerprintKey,
    stream: opts.stream ?? '-',
    markers: new Map(),
    remember: true,
  };
}

/** Bounds the marker cache: a stream of distinct secrets must not grow memory without limit. */
const MARKER_CACHE_MAX = 4096;

/** `[REDACTED:<rule-id>:kw1:<first 6 hex of the keyed fingerprint>]`: correlatable, never reversible. */
export function markerFor(r: Redactor, ruleIndex: number, secret: string): string {
  const cacheKey = `${ruleIndex}\0${secret}`;
  let m = r.markers.get(cacheKey);
  if (m === undefined) {
    const id = r.pack.rules[ruleIndex]!.rule.id;
    const fp = fingerprint(r.key, id, secret); // `kw1:` + 32 hex
    m = `[REDACTED:${id}:kw1:${fp.slice(4, 10)}]`;
    if (r.markers.size >= MARKER_CACHE_MAX) r.markers.clear();
    r.markers.set(cacheKey, m);
  }
  return m;
}

/**
 * The marker of a secret that context found (redact-context.ts): the context kind stands where a
 * rule id would (`[REDACTED:ctx-header:kw1:ab12cd]`), with the same keyed fingerprint. Not cached:
 * the marker cache above is keyed by the secret itself.
 */
export function contextMarker(r: Redactor, kind: string, secret: string): string {
  return `[REDACTED:${kind}:kw1:${fingerprint(r.key, kind, secret).slice(4, 10)}]`;
}

/** Bytes [start, end) to replace by `marker`. */
export interface Span {
  start: number;
  end: number;
  marker: string;
  /** Rule confidence (high 2, medium 1, low 0): where two rules claim one span, the surer names it. */
  rank: number;
}

const RANK = { high: 2, medium: 1, low: 0 } as const;

/** The span of one match, at its offsets minus `base`. */
export function spanOf(r: Redactor, m: RawMatch, base = 0): Span {
  return {
    start: m.start - base,
    end: m.end - base,
    marker: markerFor(r, m.ruleIndex, m.secret),
    rank: RANK[r.pack.rules[m.ruleIndex]!.rule.confidence],
  };
}

/** Sorted, overlap-free spans; overlapping matches (two rules on one key) become one marker. */
export function mergeSpans(spans: Span[]): Span[] {
  if (spans.length < 2) return spans;
  spans.sort((a, b) => a.start - b.start || b.end - a.end || b.rank - a.rank);
  const out: Span[] = [spans[0]!];
  for (let i = 1; i < spans.length; i++) {
    const sp = spans[i]!;
    const last = out[out.length - 1]!;
    if (sp.start < last.end) {
      if (sp.end > last.end) last.end = sp.end;
    } else out.push(sp);
  }
  return out;
}

/** `line` with each (sorted, disjoint) span replaced by its marker; the input itself when there are none. */
export function replaceSpans(line: Buffer, spans: readonly Span[]): Buffer {
  if (spans.length === 0) return line;
  const parts: Buffer[] = [];
  let c = 0;
  for (const sp of spans) {
    parts.push(line.subarray(c, sp.start), Buffer.from(sp.marker, 'utf8'));
    c = sp.end;
  }
  parts.push(line.subarray(c));
  return Buffer.concat(parts);
}

/**
 * The finding of a secret at a known line but no known column (found in decoded text: column 1), or
 * at the byte columns the caller gives (an over-long line), with the redactor's stream as provenance.
 */
export function findingOnLine(r: Redactor, m: RawMatch, line: number, column = 1, endColumn = 1): Finding {
  return findingAt(
    r.pack,
    m,
    { kind: 'log', stream: r.stream },
    { line, column, endLine: line, endColumn },
    { fingerprintKey: r.key, showSecrets: r.showSecrets ?? false },
  );
}
