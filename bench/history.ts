// History-scan benchmark (not a test): `keywarden history`'s engine on a large repository against the
// floor, `git cat-file --batch-all-objects --batch` streaming the same objects. Prints commits/s,
// MB/s of unique content scanned, peak RSS of this process, and the ratio to the floor.
//   node dist/bench/history.js [REPO]             an existing repository (e.g. a clone of rails/rails)
//   node dist/bench/history.js --generate 50000   a generated one (git fast-import), kept in $TMPDIR
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinRules } from '../rules/builtin.js';
import { type Rule, RuleSpec } from '../rules/schema.js';
import { scanHistory } from '../scanner/scan-git.js';
import { openRepo } from '../scanner/sources/git/repo.js';

const MB = 1e6;

function git(args: string[], cwd: string, input?: NodeJS.ReadableStream | string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn('git', args, { cwd, stdio: ['pipe', 'pipe', 'inherit'] });
    let bytes = 0;
    p.stdout.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`git ${args[0]} exited ${code}`))));
    if (typeof input === 'string') p.stdin.end(input);
    else if (input) input.pipe(p.stdin);
    else p.stdin.end();
  });
}

/** Text that looks like source: identifiers, numbers, punctuation; ~`lines` lines. */
function sourceLines(n: number, seed: number): string[] {
  const words = [
    'const',
    'value',
    'return',
    'function',
    'config',
    'user',
    'request',
    'if',
    'else',
    'await',
    'items',
    'map',
    'filter',
    'token',
    'id',
  ];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let line = '  '.repeat((i + seed) % 4);
    for (let w = 0; w < 6; w++) line += `${words[(i * 7 + w * 3 + seed) % words.length]}${(i * w + seed) % 97} `;
    out.push(`${line};`);
  }
  return out;
}

/** Generates `commits` commits over a pool of files with git fast-import (seconds, not hours). */
async function generate(commits: number): Promise<string> {
  const dir = join(tmpdir(), `kw-bench-history-${commits}`);
  if (existsSync(join(dir, 'HEAD'))) return dir;
  mkdirSync(dir, { recursive: true });
  await git(['init', '-q', '--bare', '-b', 'main'], dir);
  const { Readable } = await import('node:stream');
  const FILES = 3000;
  const contents: string[][] = Array.from({ length: FILES }, (_, f) => sourceLines(40 + (f % 80), f));
  const b62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  function* stream(): Generator<string> {
    for (let c = 1; c <= commits; c++) {
      const files = c === 1 ? Array.from({ length: FILES }, (_, i) => i) : [(c * 31) % FILES, (c * 17 + 5) % FILES];
      let body = '';
      for (const f of files) {
        const lines = contents[f]!;
        if (c > 1) lines[(c * 13) % lines.length] = sourceLines(1, c)[0]!;
        // One commit in 1,000 leaks a (test-only) token, which a later commit may overwrite.
        if (c % 1000 === 0 && f === files[0])
          lines[0] = `token = "kwtest_${[...randomBytes(32)].map((b) => b62[b % 62]).join('')}"`;
        const data = `${lines.join('\n')}\n`;
        body += `M 100644 inline src/mod${f % 50}/file${f}.js\ndata ${Buffer.byteLength(data)}\n${data}\n`;
      }
      const msg = `commit ${c}`;
      yield `commit refs/heads/main\ncommitter Bench <bench@example.com> ${1_600_000_000 + c * 60} +0000\ndata ${msg.length}\n${msg}\n${c > 1 ? '' : ''}${body}\n`;
    }
  }
  await git(['fast-import', '--quiet'], dir, Readable.from(stream()));
  return dir;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const gi = args.indexOf('--generate');
  const repoDir = gi !== -1 ? await generate(Number(args[gi + 1] ?? 50000)) : (args[0] ?? '.');
  const repo = await openRepo(repoDir, process.env);

  // Floor: git alone streaming every object (what any blob-based scanner must at least read).
  let t = performance.now();
  const floorBytes = await git(['cat-file', '--batch-all-objects', '--batch'], repo.cwd);
  const floorS = (performance.now() - t) / 1000;

  let rules: Rule[];
  // The generated history plants `kwtest_` tokens; the built-in pack (when it loads) scans beside it.
  const plantedRule = RuleSpec.parse({
    id: 'kwtest-token',
    description: 't',
    provider: 't',
    category: 'generic',
    pattern: 'kwtest_[A-Za-z0-9]{32}',
    keywords: ['kwtest_'],
    examples: ['«kwtest_{base62:32}»'],
  });
  try {
    rules = [...(await builtinRules()), plantedRule];
  } catch {
    rules = [plantedRule];
  }
  rules = [...new Map(rules.map((r) => [r.id, r])).values()];

  t = performance.now();
  const r = await scanHistory(repo, {
    rules,
    globalAllow: {},
    fingerprintKey: Buffer.alloc(32, 1),
    showSecrets: false,
    maxFileSize: 10 * MB,
  });
  const scanS = (performance.now() - t) / 1000;
  const peakRssMb = (process.resourceUsage().maxRSS * 1024) / MB;

  const floorRate = floorBytes / MB / floorS;
  const scanRate = r.stats.bytes / MB / scanS;
  console.log(`repository        ${repoDir}`);
  console.log(`rules             ${rules.length}`);
  console.log(
    `floor             git cat-file --batch-all-objects --batch: ${(floorBytes / MB).toFixed(1)} MB in ${floorS.toFixed(2)} s = ${floorRate.toFixed(1)} MB/s`,
  );
  console.log(
    `history scan      ${r.commits} commits, ${r.stats.files} unique blobs, ${(r.stats.bytes / MB).toFixed(1)} MB in ${scanS.toFixed(2)} s`,
  );
  console.log(
    `                  ${(r.commits / scanS).toFixed(0)} commits/s, ${scanRate.toFixed(1)} MB/s, peak RSS ${peakRssMb.toFixed(0)} MB (this process)`,
  );
  console.log(
    `findings          ${r.findings.reduce((n, f) => n + f.occurrences.length, 0)} occurrences (${r.findings.length} distinct), skipped ${JSON.stringify(r.stats.skipped)}`,
  );
  console.log(`ratio to floor    ${((100 * scanRate) / floorRate).toFixed(0)}% of cat-file MB/s (target >= 50%)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
