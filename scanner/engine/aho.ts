// Keyword prefilter: a byte-level Aho–Corasick DFA with ASCII case folded into the table.
// This design (positions recorded, then only that keyword's rules on the line around each hit) measured
// as the fastest multi-pattern strategy in Node: 100–118 MB/s per thread (docs/benchmarks.md, design measurements).

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

/** Sets the transition on folded byte `b` and, for a letter, on its upper-case twin. */
function setEdge(delta: Int32Array, state: number, b: number, next: number): void {
  delta[state * 256 + b] = next;
  if (b >= 0x61 && b <= 0x7a) delta[state * 256 + b - 0x20] = next;
}

function foldByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
}

export function buildAutomaton(keywords: readonly string[]): Automaton {
  // Trie over folded bytes.
  const goto: Array<Map<number, number>> = [new Map()];
  const out: number[][] = [[]];
  const lengths = new Int32Array(keywords.length);
  keywords.forEach((kw, id) => {
    const bytes = Buffer.from(kw, 'utf8');
    lengths[id] = bytes.length;
    let s = 0;
    for (const raw of bytes) {
      const b = foldByte(raw);
      let next = goto[s]!.get(b);
      if (next === undefined) {
        next = goto.length;
        goto.push(new Map());
        out.push([]);
        goto[s]!.set(b, next);
      }
      s = next;
    }
    out[s]!.push(id);
  });

  const n = goto.length;
  const fail = new Int32Array(n);
  const delta = new Int32Array(n * 256);
  // Breadth-first: complete the DFA and merge outputs along failure links. A state's row starts as a
  // copy of its failure state's row (complete already: failure states are shallower), then its own
  // edges overwrite it. Trie edges hold folded bytes; each letter edge is mirrored to its upper case.
  const queue: number[] = [];
  for (const [b, next] of goto[0]!) {
    fail[next] = 0;
    setEdge(delta, 0, b, next);
    queue.push(next);
  }
  for (let qi = 0; qi < queue.length; qi++) {
    const st = queue[qi]!;
    const f = fail[st]!;
    if (out[f]!.length > 0) out[st]!.push(...out[f]!);
    delta.copyWithin(st * 256, f * 256, f * 256 + 256);
    for (const [b, next] of goto[st]!) {
      fail[next] = delta[f * 256 + b]!;
      setEdge(delta, st, b, next);
      queue.push(next);
    }
  }

  // Equivalence classes: every byte that occurs in no keyword behaves like every other such byte.
  const classOf = new Uint8Array(256);
  const representative: number[] = [0x00];
  const used = new Set<number>();
  for (const kw of keywords) for (const b of Buffer.from(kw, 'utf8')) used.add(foldByte(b));
  for (const b of [...used].sort((x, y) => x - y)) {
    classOf[b] = representative.length;
    representative.push(b);
  }
  for (let b = 0x41; b <= 0x5a; b++) classOf[b] = classOf[b + 0x20]!;
  // Class 0's representative must be a byte in no keyword.
  for (let b = 0; b < 256; b++) {
    if (classOf[b] === 0) {
      representative[0] = b;
      break;
    }
  }
  const classes = representative.length;
  const table = new Int32Array(n * classes);
  for (let st = 0; st < n; st++) {
    for (let c = 0; c < classes; c++) {
      const t = delta[st * 256 + representative[c]!]!;
      table[st * classes + c] = out[t]!.length > 0 ? -(t * classes) : t * classes;
    }
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
  const table = ac.table;
  const classOf = ac.classOf;
  const classes = ac.classes;
  const lengths = ac.keywordLengths;
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
