// The WebAssembly keyword loop (engine/aho-wasm.ts) against the JavaScript one: the same hits, in
// the same order, on random text dense with keywords, on the real pack's keywords, across the
// middle where the two streams meet, with gates, sub-ranges, growing buffers and overflowing hits.
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../../rules/builtin.js';
import {
  type Automaton,
  buildAutomaton,
  findKeywords,
  findKeywordsInJs,
  HitList,
  type KeywordGate,
} from '../../../scanner/engine/aho.js';
import { WASM_MIN_BYTES, wasmAutomaton } from '../../../scanner/engine/aho-wasm.js';
import { seededRandom } from '../../helpers/seed.js';

const random = seededRandom();

function hitsOf(
  ac: Automaton,
  buf: Uint8Array,
  from: number,
  to: number,
  gates: ReadonlyArray<KeywordGate | null> | null,
  js: boolean,
) {
  const hits = new HitList();
  if (js) findKeywordsInJs(ac, buf, hits, from, to, gates);
  else findKeywords(ac, buf, hits, from, to, gates);
  return { ids: Array.from(hits.ids.subarray(0, hits.length)), ends: Array.from(hits.ends.subarray(0, hits.length)) };
}

/** Text from a small alphabet with keywords (and their case variants) dropped in at random. */
function denseText(keywords: readonly string[], size: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < size) {
    const r = random.int(10);
    let piece: string;
    if (r < 4) {
      const kw = keywords[random.int(keywords.length)]!;
      piece = random.int(2) === 0 ? kw : kw.toUpperCase();
    } else {
      piece = 'abcdeXYZ_-:/. \n'.charAt(random.int(15)).repeat(1 + random.int(3));
    }
    parts.push(piece);
    n += piece.length;
  }
  return Buffer.from(parts.join('').slice(0, size), 'latin1');
}

describe('the WebAssembly keyword loop', () => {
  it('is there on Node (else every scan runs the JavaScript loop, slower but the same)', () => {
    expect(wasmAutomaton(buildAutomaton(['abc']))).not.toBeNull();
  });

  it('finds what the JavaScript loop finds, in its order, on keyword-dense text of every length', () => {
    const keywords = ['abc', 'bcd', 'c', 'ab', 'xyz_', 'a:/', 'abcdeabcde', 'e_-'];
    const ac = buildAutomaton(keywords);
    for (const size of [0, 1, WASM_MIN_BYTES - 1, WASM_MIN_BYTES, WASM_MIN_BYTES + 1, 777, 4096, 65_537, 300_000]) {
      const buf = denseText(keywords, size);
      const js = hitsOf(ac, buf, 0, buf.length, null, true);
      expect(hitsOf(ac, buf, 0, buf.length, null, false), `size ${size}`).toEqual(js);
    }
  });

  it('finds a keyword across the middle of the buffer once, wherever the middle falls', () => {
    const kw = 'abcdefghijklmnopqrstuvwxyzabcdefghijklmn';
    const ac = buildAutomaton([kw, 'hooks.slack.com/services']);
    for (let len = 1000; len < 1100; len++) {
      for (const at of [len / 2 - 40, len / 2 - 20, len / 2 - 1, len / 2, len / 2 + 1].map(Math.floor)) {
        const buf = Buffer.alloc(len, 0x20);
        buf.write(kw, at, 'latin1');
        const got = hitsOf(ac, buf, 0, len, null, false);
        expect(got, `len ${len} at ${at}`).toEqual({ ids: [0], ends: [at + kw.length] });
      }
    }
  });

  it('matches the JavaScript loop on the built-in pack, with its gates, on sub-ranges', async () => {
    const { compilePack } = await import('../../../scanner/engine/compile.js');
    const pack = compilePack(await builtinRules());
    const keywords = [...new Set((await builtinRules()).flatMap((r) => (r.format ? [] : r.keywords)))];
    const buf = Buffer.concat([
      denseText(keywords, 200_000),
      Buffer.from('password = "hunter2hunter2"\ntoken: abcdefghijklmnop\nhttps://user:pw@host/\n'.repeat(200)),
      random.bytes(50_000),
    ]);
    for (const [from, to] of [
      [0, buf.length],
      [1, buf.length - 1],
      [12_345, 99_999],
      [150_000, 150_000 + WASM_MIN_BYTES],
    ] as const) {
      for (const gates of [null, pack.keywordGates]) {
        const js = hitsOf(pack.automaton, buf, from, to, gates, true);
        expect(js.ids.length).toBeGreaterThan(0);
        expect(hitsOf(pack.automaton, buf, from, to, gates, false), `[${from}, ${to}) gates ${gates !== null}`).toEqual(js);
      }
    }
  });

  it('grows its memory for a large buffer and hands back to JavaScript when the hits overflow', () => {
    const ac = buildAutomaton(['a', 'zz']);
    const sparse = Buffer.alloc(5 << 20, 0x20);
    sparse.write('zz', 3 << 20, 'latin1');
    expect(hitsOf(ac, sparse, 0, sparse.length, null, false)).toEqual({ ids: [1], ends: [(3 << 20) + 2] });
    // Every byte a hit: more than one stream may record in a call.
    const dense = Buffer.alloc(300_000, 0x61);
    const got = hitsOf(ac, dense, 0, dense.length, null, false);
    expect(got.ids.length).toBe(dense.length);
    expect(got).toEqual(hitsOf(ac, dense, 0, dense.length, null, true));
  });
});
