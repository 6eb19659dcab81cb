// Queue-path benchmark (`node dist/bench/queue.js`): a private redis-server and 2 worker processes;
// prints small log-batch jobs/s, MB/s of a large scan-dump job, and its overhead over the embedded
// CLI (`keywarden dump FILE`) on the same generated input. Targets: >= 200 jobs/s, < 15% overhead.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinRules } from '../rules/builtin.js';
import { expandTemplate, seededRng } from '../rules/examples.js';
import { createRedactor } from '../scanner/redact-spans.js';
import { JobQueues } from '../workers/queue.js';
import { createRedis } from '../workers/redis.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'keywarden.js');
const SMALL_JOBS = Number(process.env.KW_BENCH_JOBS ?? 2000);
const LARGE_MB = Number(process.env.KW_BENCH_MB ?? 50);
const CONCURRENCY = Number(process.env.KW_BENCH_CONCURRENCY ?? 16);
const KEY = 'keywarden-bench-fingerprint-key-000000';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function writeCorpus(path: string, mb: number): Promise<void> {
  const rng = seededRng(42);
  const out = createWriteStream(path);
  const words = [
    'GET',
    'POST',
    '/api/v1/users',
    'status=200',
    'latency_ms=12',
    'user_id=48213',
    'trace=af93b1',
    'cache=miss',
    'region=eu-west-1',
  ];
  let written = 0;
  let i = 0;
  while (written < mb * 1_000_000) {
    let line = `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`;
    for (let w = 0; w < 10; w++) line += ` ${words[Math.floor(rng() * words.length)]}`;
    if (i % 50_000 === 0)
      line += ` retry with ${expandTemplate('«ghp_{base62:30}{checksum}»', { checksum: 'github-crc32', rng }).secret}`;
    line += '\n';
    written += line.length;
    i++;
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-queue-'));
  const port = await freePort();
  const children: ChildProcess[] = [];
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'],
    { stdio: 'ignore' },
  );
  children.push(redis);
  const url = `redis://127.0.0.1:${port}`;
  const env = { ...process.env, REDIS_URL: url, KEYWARDEN_PREFIX: 'bench', KEYWARDEN_FINGERPRINT_KEY: KEY, XDG_CONFIG_HOME: dir };
  try {
    await sleep(300);
    for (let w = 0; w < 2; w++) {
      const p = spawn(process.execPath, [BIN, 'worker', '--concurrency', String(CONCURRENCY)], {
        env,
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      children.push(p);
    }
    await sleep(1500);
    const conn = createRedis(url);
    // Log batches are scanned before they are queued (workers/processors/log-batch.ts), as the API does.
    const logBatches = createRedactor({ rules: await builtinRules(), fingerprintKey: Buffer.from(KEY, 'utf8') });
    const queues = new JobQueues(conn, 'bench', { logBatches });

    // Small jobs: 10-line log batches, 1 in 20 holding a secret.
    const rng = seededRng(7);
    const batches = Array.from({ length: SMALL_JOBS }, (_, i) => ({
      stream: `svc-${i % 16}`,
      lines: Array.from({ length: 10 }, (_, l) =>
        i % 20 === 0 && l === 5
          ? `token ${expandTemplate('«ghp_{base62:30}{checksum}»', { checksum: 'github-crc32', rng }).secret}`
          : `req ${i}.${l} status=200 latency_ms=${l}`,
      ),
      firstLine: i * 10 + 1,
    }));
    const t0 = performance.now();
    for (let i = 0; i < batches.length; i += 500) await queues.enqueueMany('scan-log-batch', batches.slice(i, i + 500));
    for (;;) {
      const c = (await queues.counts(['scan-log-batch']))['scan-log-batch']!;
      if ((c.completed ?? 0) + (c.failed ?? 0) >= SMALL_JOBS) break;
      await sleep(20);
    }
    const smallSec = (performance.now() - t0) / 1000;

    // Large: the same file through the queue (scan-dump) and through the embedded CLI (scan -).
    const file = join(dir, 'large.log');
    await writeCorpus(file, LARGE_MB);
    const bytes = statSync(file).size;
    const runs: { queue: number[]; cli: number[] } = { queue: [], cli: [] };
    let largeResult: unknown = null;
    for (let r = 0; r < 3; r++) {
      const c0 = performance.now();
      // The same engine path as the job (scanner/scan-dump.ts), process start-up included: what a user runs.
      spawnSync(process.execPath, [BIN, 'dump', file, '-f', 'json', '-o', join(dir, 'out.json')], { env, stdio: 'ignore' });
      runs.cli.push((performance.now() - c0) / 1000);
      const q0 = performance.now();
      const job = await queues.enqueue('scan-dump', { path: file }, { jobId: `bench-large-${r}` });
      const view = await queues.waitFor('scan-dump', job.id, 600_000, 10);
      if (view.state !== 'completed') throw new Error(`large job ${view.state}: ${view.failedReason ?? ''}`);
      runs.queue.push((performance.now() - q0) / 1000);
      largeResult = view.returnvalue;
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const q = med(runs.queue);
    const c = med(runs.cli);
    const result = {
      smallJobs: {
        jobs: SMALL_JOBS,
        seconds: +smallSec.toFixed(2),
        jobsPerSecond: Math.round(SMALL_JOBS / smallSec),
        target: 200,
      },
      largeScan: {
        mb: +(bytes / 1e6).toFixed(1),
        queueSeconds: +q.toFixed(2),
        queueMBps: +(bytes / 1e6 / q).toFixed(1),
        embeddedCliSeconds: +c.toFixed(2),
        embeddedMBps: +(bytes / 1e6 / c).toFixed(1),
        overheadRatio: +(q / c).toFixed(3),
        target: '< 1.15',
        jobResult: largeResult,
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    await queues.close();
    conn.disconnect();
  } finally {
    for (const ch of children.reverse()) ch.kill('SIGTERM');
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench/queue: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
