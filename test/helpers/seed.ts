// Random test data from a seeded PRNG (rules/examples.ts's seededRng). The seed is
// KEYWARDEN_TEST_SEED when set, else drawn fresh for each run of the file, so runs keep exploring new
// inputs; each test draws from its own stream (seed + the test's name), so a failure that prints
// its seed replays exactly, alone (`-t`) or with its file.
import { randomInt } from 'node:crypto';
import { beforeEach } from 'vitest';
import { seededRng } from '../../rules/examples.js';

export const SEED_ENV = 'KEYWARDEN_TEST_SEED';

export interface SeededRandom {
  readonly seed: number;
  /** [0, 1) */
  next(): number;
  /** An integer in [0, max). */
  int(max: number): number;
  bytes(n: number): Buffer;
}

function seedFromEnv(): number | undefined {
  const v = process.env[SEED_ENV];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${SEED_ENV} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

/** FNV-1a over the test's name, mixed with the seed: a stream per test that other tests cannot shift. */
function streamSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Call at a test file's top level; the returned source is re-seeded before each test. */
export function seededRandom(): SeededRandom {
  const seed = seedFromEnv() ?? randomInt(2 ** 31);
  let rng = seededRng(seed);
  beforeEach((ctx) => {
    const names: string[] = [];
    for (let t: { name: string; suite?: unknown } | undefined = ctx.task; t; t = t.suite as typeof t) names.unshift(t.name);
    rng = seededRng(streamSeed(seed, names.join(' > ')));
    ctx.onTestFailed(() => {
      console.error(`[seed] "${ctx.task.name}" drew its random data from seed ${seed}: rerun with ${SEED_ENV}=${seed}`);
    });
  });
  const next = () => rng();
  return {
    seed,
    next,
    int: (max) => Math.floor(next() * max),
    bytes: (n) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
  };
}
