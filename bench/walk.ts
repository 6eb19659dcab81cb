// Walker benchmark: keywarden's tree walker against fast-glob listing the same tree, so the choice of
// a hand-written walker on the scan's hot path stays a measured one. `node dist/bench/walk.js [DIR]`
// (default: the bench corpus). Prints files/s for each, median of 5, warm cache.
import { fileURLToPath } from 'node:url';
import fg from 'fast-glob';
import { walkTree } from '../scanner/sources/files.js';

const dir = process.argv[2] ?? fileURLToPath(new URL('../../bench/.corpus/200MB', import.meta.url));

async function ours(): Promise<number> {
  let n = 0;
  for await (const ev of walkTree(dir, { excludes: [], maxFileSize: Number.MAX_SAFE_INTEGER, noIgnore: true })) {
    if (ev.kind === 'file') n++;
  }
  return n;
}

async function fastGlob(): Promise<number> {
  let n = 0;
  // What the scan needs from a listing: every file with its size, dotfiles included, links not followed.
  for await (const _ of fg.stream('**', { cwd: dir, dot: true, onlyFiles: true, stats: true, followSymbolicLinks: false })) n++;
  return n;
}

async function time(f: () => Promise<number>): Promise<{ files: number; ms: number }> {
  const runs: number[] = [];
  let files = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    files = await f();
    runs.push(performance.now() - t);
  }
  runs.sort((a, b) => a - b);
  return { files, ms: runs[2]! };
}

const a = await time(ours);
const b = await time(fastGlob);
for (const [name, r] of [
  ['keywarden walkTree', a],
  ['fast-glob stream (stats)', b],
] as const) {
  process.stdout.write(
    `${name.padEnd(26)} ${r.files} files in ${r.ms.toFixed(0)} ms = ${Math.round(r.files / (r.ms / 1000))} files/s\n`,
  );
}
