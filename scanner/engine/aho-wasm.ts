// The keyword automaton's hot loop in WebAssembly, two streams at once. The JavaScript loop
// (aho.ts) is bound by the latency of one table load per byte, each depending on the last; two
// halves of a buffer walked in the same loop are two independent chains the CPU overlaps, and
// WebAssembly compiles them without the bounds checks and register spills that made the same
// interleaving slower in JavaScript. Measured on the 20 MB bench corpus, one thread: the JavaScript
// loop ~360 MB/s, this ~800 MB/s, with the copy into WebAssembly memory (docs/benchmarks.md).
//
// The module is assembled here, byte by byte, from the instruction list below (no toolchain, no
// binary blob in the repository); test/scanner/engine/aho-wasm.test.ts holds it to the JavaScript
// loop on random and real text.

/** What of aho.ts's `Automaton` the WebAssembly loop reads (named here: aho.ts imports this module). */
interface AutomatonTables {
  readonly classOf: Uint8Array;
  readonly classes: number;
  readonly table: Int32Array;
  readonly keywordLengths: Int32Array;
}

/** Streams walked together. Two measured best here (three ~the same, four slower: registers). */
const STREAMS = 2;
/** Memory layout: counters at 0, the byte-class table (i32, class x 4) at CLASS, the DFA at TABLE. */
const CLASS = 1024;
const TABLE = 2048;
/** Hits each stream may record per call; a buffer with more is left to the JavaScript loop. */
const HITS_PER_STREAM = 1 << 16;
/** Buffers shorter than this go to the JavaScript loop: the call and the copy would cost more. */
export const WASM_MIN_BYTES = 512;
/** Buffers longer than this go to the JavaScript loop too (the memory would have to grow past it). */
const WASM_MAX_BYTES = 256 << 20;
const PAGE = 65536;

// Opcodes (WebAssembly core spec, binary format).
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  localGet: 0x20,
  localSet: 0x21,
  i32Load: 0x28,
  i32Load8u: 0x2d,
  i32Store: 0x36,
  i32Const: 0x41,
  i32LtS: 0x48,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Shl: 0x74,
  void: 0x40,
  i32: 0x7f,
} as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Buffer.from(s, 'utf8')];
}

/**
 * `scan(p0, p1, steps, tailEnd, h0, h1, e0, e1) -> 0 | 1`: stream k starts at address p_k in state 0
 * and takes `steps` bytes, both together; then stream 1 goes on alone to `tailEnd`. Each step into
 * an output state (a negative table entry) appends (state, address after the byte) to h_k; a stream
 * whose h_k reaches e_k stops the call with 1. On 0, the final h_k are stored at 4k.
 */
function scanModule(): Uint8Array {
  const K = STREAMS;
  const p = (k: number) => k;
  const steps = K;
  const tailEnd = K + 1;
  const h = (k: number) => K + 2 + k;
  const e = (k: number) => 2 * K + 2 + k;
  const s = (k: number) => 3 * K + 2 + k;
  const t = 4 * K + 2;
  const end0 = 4 * K + 3;
  const get = (i: number) => [OP.localGet, ...uleb(i)];
  const set = (i: number) => [OP.localSet, ...uleb(i)];
  const i32 = (n: number) => [OP.i32Const, ...sleb(n)];
  const load = (offset: number) => [OP.i32Load, 2, ...uleb(offset)];
  const store = (offset: number) => [OP.i32Store, 2, ...uleb(offset)];
  const step = (k: number) => [
    // t = TABLE[s_k + CLASS[byte(p_k) * 4]]
    ...get(s(k)),
    ...get(p(k)),
    OP.i32Load8u,
    0,
    0,
    ...i32(2),
    OP.i32Shl,
    ...load(CLASS),
    OP.i32Add,
    ...load(TABLE),
    ...set(t),
    ...get(p(k)),
    ...i32(1),
    OP.i32Add,
    ...set(p(k)),
    ...get(t),
    ...i32(0),
    OP.i32LtS,
    OP.if,
    OP.void,
    ...i32(0),
    ...get(t),
    OP.i32Sub,
    ...set(s(k)),
    ...get(h(k)),
    ...get(s(k)),
    ...store(0),
    ...get(h(k)),
    ...get(p(k)),
    ...store(4),
    ...get(h(k)),
    ...i32(8),
    OP.i32Add,
    ...set(h(k)),
    ...get(h(k)),
    ...get(e(k)),
    OP.i32GeU,
    OP.if,
    OP.void,
    ...i32(1),
    OP.return,
    OP.end,
    OP.else,
    ...get(t),
    ...set(s(k)),
    OP.end,
  ];
  const loopWhileBelow = (ptr: number, limit: number, body: number[]) => [
    OP.block,
    OP.void,
    OP.loop,
    OP.void,
    ...get(ptr),
    ...get(limit),
    OP.i32GeU,
    OP.brIf,
    1,
    ...body,
    OP.br,
    0,
    OP.end,
    OP.end,
  ];
  const streams: number[] = [];
  for (let k = 0; k < K; k++) streams.push(...step(k));
  const code = [
    ...get(p(0)),
    ...get(steps),
    OP.i32Add,
    ...set(end0),
    ...loopWhileBelow(p(0), end0, streams),
    ...loopWhileBelow(p(K - 1), tailEnd, step(K - 1)),
    ...Array.from({ length: K }, (_, k) => [...i32(0), ...get(h(k)), ...store(4 * k)]).flat(),
    ...i32(0),
    OP.end,
  ];
  const params = 3 * K + 2; // K starts, steps, tailEnd, K hit pointers, K hit ends
  const locals = [1, ...uleb(K + 2), OP.i32]; // s_0..s_K-1, t, end0
  const body = [...locals, ...code];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, ...uleb(params), ...Array<number>(params).fill(OP.i32), 1, OP.i32]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [2, ...name('mem'), 0x02, 0, ...name('scan'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

// The few WebAssembly JS API members used here (the project's TypeScript libs leave out the DOM's).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmModule {
  readonly kind?: never;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: WasmModule | null | undefined;

function scanWasm(): WasmModule | null {
  if (compiled === undefined) {
    try {
      if (wasmApi === undefined) throw new Error('no WebAssembly');
      compiled = new wasmApi.Module(scanModule());
    } catch {
      compiled = null; // no WebAssembly here: the JavaScript loop does the work
    }
  }
  return compiled;
}

type ScanFn = (...args: number[]) => number;

/** One automaton's tables in one instance's memory, and a place for the buffer and the hits. */
export interface WasmAutomaton {
  /**
   * The raw hits of `buf[from, to)`, in end order, into `raw` (reused): `raw.states[i]` indexes
   * `the automaton's `outputs``, `raw.ends[i]` is the hit's exclusive end in `buf`. Returns their number,
   * or -1 when the buffer was not taken (too short or too long, too many hits): the caller runs
   * the JavaScript loop then.
   */
  find(buf: Uint8Array, from: number, to: number): number;
  readonly raw: { states: Int32Array; ends: Int32Array };
}

const instances = new WeakMap<AutomatonTables, WasmAutomaton | null>();

/** The automaton's WebAssembly runner (made once per automaton and thread), or null. */
export function wasmAutomaton(ac: AutomatonTables): WasmAutomaton | null {
  let w = instances.get(ac);
  if (w === undefined) {
    w = build(ac);
    instances.set(ac, w);
  }
  return w;
}

function build(ac: AutomatonTables): WasmAutomaton | null {
  const mod = scanWasm();
  if (mod === null) return null;
  const instance = new wasmApi!.Instance(mod, {});
  const memory = instance.exports.mem as WasmMemory;
  const scan = instance.exports.scan as ScanFn;
  const bufAt = TABLE + ac.table.length * 4;
  // The longest keyword less one: how far stream 1 starts back inside stream 0's part.
  const overlap = Math.max(0, ...ac.keywordLengths) - 1;
  const divisor = ac.classes * 4;
  let bufCap = 0;
  let hitsAt = 0;
  let u8 = new Uint8Array(0);
  let i32 = new Int32Array(0);
  const growTo = (len: number) => {
    const need = bufAt + len + 8 + STREAMS * HITS_PER_STREAM * 8;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
    bufCap = len;
    hitsAt = (bufAt + len + 7) & ~7;
    // Growing detaches the old views.
    u8 = new Uint8Array(memory.buffer);
    i32 = new Int32Array(memory.buffer);
  };
  growTo(1 << 20);
  for (let b = 0; b < 256; b++) i32[CLASS / 4 + b] = ac.classOf[b]! * 4;
  for (let i = 0; i < ac.table.length; i++) i32[TABLE / 4 + i] = ac.table[i]! * 4;
  const raw = { states: new Int32Array(1024), ends: new Int32Array(1024) };
  const hits1 = HITS_PER_STREAM * 8;

  return {
    raw,
    find(buf, from, to) {
      const len = to - from;
      const n = Math.floor((len - overlap) / STREAMS);
      if (len < WASM_MIN_BYTES || len > WASM_MAX_BYTES || n < 64) return -1;
      if (len > bufCap) growTo(Math.min(WASM_MAX_BYTES, Math.max(len, bufCap * 2)));
      u8.set(buf.subarray(from, to), bufAt);
      const h0 = hitsAt;
      const h1 = hitsAt + hits1;
      // Stream 0 walks [0, n + overlap), stream 1 [n, len). Stream 0 owns the hits ending in
      // (0, n + overlap], stream 1 those ending after: a hit stream 1 owns starts at n or later
      // (no keyword is longer than overlap + 1), so it sees all of it, and none is counted twice.
      if (scan(bufAt, bufAt + n, n + overlap, bufAt + len, h0, h1, h1, h1 + hits1) !== 0) return -1;
      const end0 = i32[0]!;
      const end1 = i32[1]!;
      const most = ((end0 - h0) >> 3) + ((end1 - h1) >> 3);
      if (raw.states.length < most) {
        raw.states = new Int32Array(most * 2);
        raw.ends = new Int32Array(most * 2);
      }
      const states = raw.states;
      const ends = raw.ends;
      let count = 0;
      for (let part = 0; part < STREAMS; part++) {
        const lo = part === 0 ? 0 : n + overlap;
        const hi = part === 0 ? n + overlap : len;
        const stop = (part === 0 ? end0 : end1) >> 2;
        for (let q = (part === 0 ? h0 : h1) >> 2; q < stop; q += 2) {
          const end = i32[q + 1]! - bufAt;
          if (end > lo && end <= hi) {
            states[count] = i32[q]! / divisor;
            ends[count] = end + from;
            count++;
          }
        }
      }
      return count;
    },
  };
}
