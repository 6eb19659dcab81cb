// One process of `npm run bench:rules -- --instructions`: loads a bench corpus into memory, compiles
// the built-in pack (without one rule, if named), and scans the corpus `passes` times. The parent runs
// it under callgrind and reads the instruction count: deterministic where CPU time on a shared
// machine is not (the same run twice differs by ~0.05%; CPU time by several percent).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { builtinRules } from '../rules/builtin.js';
import { compilePack } from '../scanner/engine/compile.js';
import { scanBuffer } from '../scanner/engine/engine.js';
import { walkFiles } from './corpus.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { corpus: { type: 'string' }, drop: { type: 'string' }, passes: { type: 'string', default: '1' } },
  strict: true,
});
if (values.corpus === undefined) throw new Error('--corpus DIR is required');
const files = [...walkFiles(values.corpus)].map((f) => ({ path: f.rel, buf: readFileSync(f.abs) }));
const rules = await builtinRules();
const pack = compilePack(rules.filter((r) => r.id !== values.drop));
const passes = Number(values.passes);
// A full collection before each pass (the parent runs node with --expose-gc): each pass then starts
// from the same heap, so when a major GC falls is no longer decided by how much the pack allocated in
// earlier passes. Without it two packs that differ by one rule differed by +-25 M instructions per pass.
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
for (let i = 0; i < passes; i++) {
  collect();
  for (const f of files) scanBuffer(pack, f.buf, { path: f.path });
}
