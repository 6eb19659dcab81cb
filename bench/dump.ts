// `node dist/bench/dump.js`: writes a generated core-like binary (default 2 GB: zero pages, random
// pages, text and UTF-16 pages, secrets sprinkled) to the temp dir, times `keywarden dump` on it with
// its peak RSS, checks every planted secret was found, and deletes the file. Targets from issue 4.

import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { expandTemplate, seededRng } from '../rules/examples.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin', 'keywarden.js');
const MB = 1e6;
const BLOCK = 1 << 20;
const TARGETS = { mbPerSec: 100, peakRssMB: 300 } as const;

/** Block kinds by share of the file, like a core: mostly zero and binary pages, some strings. */
function blockKind(r: number): 'zero' | 'random' | 'text' | 'wide' {
  if (r < 0.45) return 'zero';
  if (r < 0.8) return 'random';
  if (r < 0.95) return 'text';
  return 'wide';
}

function textBlock(rng: () => number, wide: boolean): Buffer {
  const words = [
    'PATH=/usr/local/bin:/usr/bin',
    'LANG=C.UTF-8',
    'libc.so.6',
    '/proc/self/maps',
    'GLIBC_2.34',
    'HOME=/home/app',
    'Content-Type: application/json',
    'SELECT id FROM users WHERE id = $1',
    'node:internal/modules',
    'Accept-Encoding: gzip',
  ];
  const parts: string[] = [];
  let n = 0;
  while (n < (wide ? BLOCK / 2 : BLOCK)) {
    const w = words[Math.floor(rng() * words.length)]!;
    parts.push(w);
    n += w.length + 1;
  }
  const b = Buffer.from(parts.join('\0'), wide ? 'utf16le' : 'latin1');
  return b.subarray(0, BLOCK);
}

async function writeCorpus(path: string, sizeMB: number, secretEvery: number): Promise<string[]> {
  const rng = seededRng(11);
  const random = Buffer.allocUnsafe(BLOCK);
  randomFillSync(random);
  const zero = Buffer.alloc(BLOCK);
  const text = textBlock(rng, false);
  const wide = textBlock(rng, true);
  const secrets: string[] = [];
  const out = createWriteStream(path);
  const blocks = Math.ceil((sizeMB * MB) / BLOCK);
  for (let k = 0; k < blocks; k++) {
    const kind = blockKind(rng());
    let block = kind === 'zero' ? zero : kind === 'random' ? random : kind === 'text' ? text : wide;
    if (k % secretEvery === secretEvery - 1) {
      const secret = expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
      secrets.push(secret);
      block = Buffer.from(block);
      const planted = Buffer.from(`\0GITHUB_TOKEN=${secret}\0`, k % 2 === 0 ? 'latin1' : 'utf16le');
      planted.copy(block, Math.floor(rng() * (BLOCK - planted.length)) & ~1);
    }
    if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  return secrets;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'size-mb': { type: 'string', default: '2048' }, json: { type: 'boolean', default: false } },
  });
  const sizeMB = Number(values['size-mb']);
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-dump-'));
  const file = join(dir, 'core.bin');
  const report = join(dir, 'report.json');
  try {
    const t0 = performance.now();
    const secrets = await writeCorpus(file, sizeMB, 97);
    const genMs = performance.now() - t0;
    // Dropping the file from the page cache is not possible unprivileged; the scan reads it warm.
    const bytes = Math.ceil((sizeMB * MB) / BLOCK) * BLOCK;
    // GNU time gives CPU seconds beside wall time: on a shared 2-core box the wall clock also
    // measures the neighbours, CPU time measures keywarden.
    const timeFile = join(dir, 'time.txt');
    const useTime = existsSync('/usr/bin/time');
    const load = loadavg()[0]!;
    const started = performance.now();
    const argv = [BIN, 'dump', file, '--format', 'json', '--output', report];
    const child = useTime
      ? spawnSync('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, process.execPath, ...argv], { encoding: 'utf8' })
      : spawnSync(process.execPath, argv, { encoding: 'utf8' });
    const wallMs = performance.now() - started;
    const [user, sys, maxKb] = useTime ? readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) : [];
    const run = {
      code: child.status,
      wallMs,
      cpuMs: user !== undefined && sys !== undefined ? (user + sys) * 1000 : null,
      peakRss: maxKb ? maxKb * 1024 : null,
      stderr: child.stderr,
    };
    const found = new Set<string>();
    if (run.code === 1) {
      const parsed = JSON.parse(readFileSync(report, 'utf8')) as { findings: Array<{ ruleId: string; fingerprint: string }> };
      for (const f of parsed.findings) if (f.ruleId === 'github-pat') found.add(f.fingerprint);
    }
    const result = {
      sizeMB: bytes / MB,
      generateSec: Math.round(genMs) / 1000,
      exitCode: run.code,
      wallSec: Math.round(run.wallMs) / 1000,
      mbPerSec: Math.round((bytes / MB / (run.wallMs / 1000)) * 10) / 10,
      cpuSec: run.cpuMs === null ? null : Math.round(run.cpuMs) / 1000,
      mbPerCpuSec: run.cpuMs === null ? null : Math.round((bytes / MB / (run.cpuMs / 1000)) * 10) / 10,
      loadAverage: Math.round(load * 100) / 100,
      peakRssMB: run.peakRss === null ? null : Math.round(run.peakRss / MB),
      planted: secrets.length,
      distinctFound: found.size,
      targets: TARGETS,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
      process.stdout.write(
        [
          `keywarden dump on a ${result.sizeMB.toFixed(0)} MB generated core (written in ${result.generateSec}s)`,
          `  throughput  ${result.mbPerSec} MB/s   (target >= ${TARGETS.mbPerSec}) ${ok(result.mbPerSec >= TARGETS.mbPerSec)}`,
          `  per CPU s   ${result.mbPerCpuSec ?? '?'} MB/s   (user+sys ${result.cpuSec ?? '?'}s; 1-min load average at start ${result.loadAverage})`,
          `  peak RSS    ${result.peakRssMB ?? '?'} MB   (target < ${TARGETS.peakRssMB}) ${ok((result.peakRssMB ?? Infinity) < TARGETS.peakRssMB)}`,
          `  secrets     ${result.distinctFound}/${result.planted} found (exit ${result.exitCode})`,
          run.stderr ? `  stderr: ${run.stderr.trim().slice(0, 500)}` : '',
        ].join('\n') + '\n',
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
