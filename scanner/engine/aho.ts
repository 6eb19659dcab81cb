// Keyword prefilter: a byte-level Aho–Corasick DFA with ASCII case folded into the table.
// This design (positions recorded, then only that keyword's rules on the line around each hit) measured
// as the fastest multi-pattern strategy in Node: 100–118 MB/s per thread (docs/benchmarks.md, design measurements).
// Buffers of 512 bytes and more run the same DFA in WebAssembly (aho-wasm.ts), two streams at once.
import { WASM_MIN_BYTES, wasmAutomaton } from './aho-wasm.js';

/**
 * Transition table over byte classes, premultiplied by the class count so the hot loop is two loads
 * and an add per byte. (With 247 keywords the 256-column table was 1.5 MB and missed cache.)
 * An entry is negative when the target state has outputs (keywords ending there): the sign bit
 * saves a second table load per byte. The root (state 0) never has outputs.
 */
export interface Automaton {
  /** Byte → equivalence class. Bytes in no keyword share class 0: the table shrinks ~5x (cache). */
  readonly classOf: Uint8Array;
  readonly classes: number;
  readonly table: Int32Array;
  /** Keyword ids ending at each state (index = state number, not premultiplied). */
  readonly outputs: ReadonlyArray<Int32Array>;
  readonly keywordLengths: Int32Array;
}

function foldByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
}

export function buildAutomaton(keywords: readonly string[]): Automaton {
  // Equivalence classes first: every byte that occurs in no keyword behaves like every other such
  // byte, so the DFA is built at class width (a 256-wide working table was ~4 MB for the pack's
  // keywords and most of a worker's pack compile).
  const encoded = keywords.map((kw) => Buffer.from(kw, 'utf8'));
  const classOf = new Uint8Array(256);
  const used = new Uint8Array(256);
  for (const bytes of encoded) for (const b of bytes) used[foldByte(b)] = 1;
  let classes = 1;
  for (let b = 0; b < 256; b++) if (used[b] === 1) classOf[b] = classes++;
  for (let b = 0x41; b <= 0x5a; b++) classOf[b] = classOf[b + 0x20]!;

  // Trie over classes (folded bytes map to one class, so case folding is in the edges already).
  const goto: Array<Map<number, number>> = [new Map()];
  const out: number[][] = [[]];
  const lengths = new Int32Array(keywords.length);
  encoded.forEach((bytes, id) => {
    lengths[id] = bytes.length;
    let s = 0;
    for (const raw of bytes) {
      const c = classOf[foldByte(raw)]!;
      let next = goto[s]!.get(c);
      if (next === undefined) {
        next = goto.length;
        goto.push(new Map());
        out.push([]);
        goto[s]!.set(c, next);
      }
      s = next;
    }
    out[s]!.push(id);
  });

  const n = goto.length;
  const fail = new Int32Array(n);
  const delta = new Int32Array(n * classes);
  // Breadth-first: complete the DFA and merge outputs along failure links. A state's row starts as a
  // copy of its failure state's row (complete already: failure states are shallower), then its own
  // edges overwrite it.
  const queue: number[] = [];
  for (const [c, next] of goto[0]!) {
    fail[next] = 0;
    delta[c] = next;
    queue.push(next);
  }
  for (let qi = 0; qi < queue.length; qi++) {
    const st = queue[qi]!;
    const f = fail[st]!;
    if (out[f]!.length > 0) out[st]!.push(...out[f]!);
    delta.copyWithin(st * classes, f * classes, f * classes + classes);
    for (const [c, next] of goto[st]!) {
      fail[next] = delta[f * classes + c]!;
      delta[st * classes + c] = next;
      queue.push(next);
    }
  }

  // Premultiplied, and negative where the target state has outputs.
  const table = new Int32Array(n * classes);
  for (let i = 0; i < table.length; i++) {
    const t = delta[i]!;
    table[i] = out[t]!.length > 0 ? -(t * classes) : t * classes;
  }
  return { classOf, classes, table, outputs: out.map((o) => Int32Array.from(new Set(o))), keywordLengths: lengths };
}

/** Reusable hit buffer: parallel arrays of (keyword id, end offset exclusive). */
export class HitList {
  ids = new Int32Array(256);
  ends = new Int32Array(256);
  length = 0;

  push(id: number, end: number): void {
    if (this.length === this.ids.length) {
      const ids = new Int32Array(this.length * 2);
      ids.set(this.ids);
      this.ids = ids;
      const ends = new Int32Array(this.length * 2);
      ends.set(this.ends);
      this.ends = ends;
    }
    this.ids[this.length] = id;
    this.ends[this.length] = end;
    this.length++;
  }
}

/**
 * A check on a keyword hit `[start, end)` run before the hit is recorded: a keyword whose every rule
 * has the same prefilter is gated by it, so the hits it rejects (nearly all, for `https://`) are never
 * stored nor walked again.
 */
export type KeywordGate = (buf: Uint8Array, start: number, end: number) => boolean;

/**
 * Records every keyword occurrence in `buf[from, to)` into `hits` (cleared first); with `gates`, only
 * those their keyword's gate (if any) passes.
 */
export function findKeywords(
  ac: Automaton,
  buf: Uint8Array,
  hits: HitList,
  from = 0,
  to = buf.length,
  gates: ReadonlyArray<KeywordGate | null> | null = null,
): void {
  hits.length = 0;
  const lengths = ac.keywordLengths;
  const wasm = to - from >= WASM_MIN_BYTES ? wasmAutomaton(ac) : null;
  const count = wasm === null ? -1 : wasm.find(buf, from, to);
  if (count >= 0) {
    const { states, ends } = wasm!.raw;
    for (let r = 0; r < count; r++) {
      const ids = ac.outputs[states[r]!]!;
      const end = ends[r]!;
      for (let k = 0; k < ids.length; k++) {
        const id = ids[k]!;
        if (gates !== null) {
          const gate = gates[id]!;
          if (gate !== null && !gate(buf, end - lengths[id]!, end)) continue;
        }
        hits.push(id, end);
      }
    }
    return;
  }
  findKeywordsInJs(ac, buf, hits, from, to, gates);
}

/** `findKeywords` in JavaScript: short buffers, and the fallback where WebAssembly does not take one. */
export function findKeywordsInJs(
  ac: Automaton,
  buf: Uint8Array,
  hits: HitList,
  from: number,
  to: number,
  gates: ReadonlyArray<KeywordGate | null> | null,
): void {
  hits.length = 0;
  const lengths = ac.keywordLengths;
  const table = ac.table;
  const classOf = ac.classOf;
  const classes = ac.classes;
  let s = 0;
  for (let i = from; i < to; i++) {
    const t = table[s + classOf[buf[i]!]!]!;
    if (t < 0) {
      s = -t;
      const ids = ac.outputs[(s / classes) | 0]!;
      for (let k = 0; k < ids.length; k++) {
        const id = ids[k]!;
        if (gates !== null) {
          const gate = gates[id]!;
          if (gate !== null && !gate(buf, i + 1 - lengths[id]!, i + 1)) continue;
        }
        hits.push(id, i + 1);
      }
    } else {
      s = t;
    }
  }
}
