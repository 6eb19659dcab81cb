// Liveness-check throughput (`npm run build && node dist/bench/liveness.js`): the fake provider
// (test/helpers/fake-provider.ts) in its own process on 127.0.0.1, then 1 and 2 worker processes,
// each one LivenessRunner (the production one: plan, SigV4 where due, fetch, judge) checking a mix of
// fake keys across providers for a fixed time. Prints checks/s sustained, latency p50/p95 and the
// verdicts (all must read `live`). Target (issue #11): >= 50 checks/s with 2 workers.
//
//   node dist/bench/liveness.js [--seconds 10] [--concurrency 8] [--keys 200] [--json]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveProviderBaseUrls } from '../providers/base-urls.js';
import { createLivenessRunner } from '../providers/runner.js';
import { builtinRules } from '../rules/builtin.js';
import type { FakeKey } from '../test/helpers/fake-provider.js';

const SELF = fileURLToPath(import.meta.url);

/** The mix: common bearer-token providers, a JSON-body one (Slack), a pair with SigV4 (AWS), basic auth (Twilio). */
const MIX = [
  'github-pat',
  'gitlab-pat',
  'slack-bot-token',
  'stripe-secret-key',
  'openai-project-key',
  'npm-access-token',
  'huggingface-access-token',
  'digitalocean-personal-access-token',
  'datadog-api-key',
  'aws-access-key-id',
  'twilio-auth-token',
  'cloudflare-api-token',
];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

interface WorkerResult {
  checks: number;
  seconds: number;
  verdicts: Record<string, number>;
  latenciesMs: number[];
}

async function serveFake(): Promise<void> {
  const { FakeProvider } = await import('../test/helpers/fake-provider.js');
  const fake = await FakeProvider.start();
  process.stdout.write(`${JSON.stringify({ url: fake.url, env: fake.env() })}\n`);
  process.on('SIGTERM', () => {
    void fake.stop().then(() => process.exit(0));
  });
}

async function runWorker(envFile: string, keysFile: string, seconds: number, concurrency: number): Promise<void> {
  const env = JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>;
  const keys = JSON.parse(readFileSync(keysFile, 'utf8')) as FakeKey[];
  const rules = new Map((await builtinRules()).map((r) => [r.id, r]));
  // Per-provider bound as a worker would run it; the mix spreads the load over 12 providers.
  const runner = createLivenessRunner({
    baseUrls: resolveProviderBaseUrls(env),
    concurrencyPerProvider: 4,
    ruleById: (id) => rules.get(id),
  });
  const verdicts: Record<string, number> = {};
  const latenciesMs: number[] = [];
  let next = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const key = keys[next++ % keys.length]!;
      const t = performance.now();
      const r = await runner.check({ rule: rules.get(key.ruleId)!, secret: key.secret, parts: key.parts });
      latenciesMs.push(performance.now() - t);
      verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const result: WorkerResult = { checks: latenciesMs.length, seconds: (performance.now() - start) / 1000, verdicts, latenciesMs };
  process.stdout.write(JSON.stringify(result));
}

function collect(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`worker exited ${code}`))));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 10);
  const concurrency = arg('concurrency', 8);
  const nKeys = arg('keys', 240);
  const json = process.argv.includes('--json');
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-liveness-'));
  const fake = spawn(process.execPath, [SELF, '--fake'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      fake.stdout!.once('data', (c: Buffer) => resolve(c.toString()));
      fake.once('exit', (code) => reject(new Error(`fake provider exited ${code}`)));
    });
    const { url, env } = JSON.parse(line) as { url: string; env: Record<string, string> };
    // Keys come from the fake's control API, as another process would get them.
    const keys: FakeKey[] = [];
    for (let i = 0; i < nKeys; i++) {
      const res = await fetch(`${url}/_fake/keys`, { method: 'POST', body: JSON.stringify({ kind: MIX[i % MIX.length] }) });
      keys.push((await res.json()) as FakeKey);
    }
    const envFile = join(dir, 'env.json');
    const keysFile = join(dir, 'keys.json');
    writeFileSync(envFile, JSON.stringify(env));
    writeFileSync(keysFile, JSON.stringify(keys));

    const rows: Array<{
      workers: number;
      checksPerSecond: number;
      checks: number;
      p50: number;
      p95: number;
      verdicts: Record<string, number>;
    }> = [];
    for (const workers of [1, 2]) {
      const results = await Promise.all(
        Array.from({ length: workers }, () =>
          collect(
            spawn(process.execPath, [SELF, '--worker', envFile, keysFile, String(seconds), String(concurrency)], {
              stdio: ['ignore', 'pipe', 'inherit'],
            }),
          ),
        ),
      );
      const parsed = results.map((r) => JSON.parse(r) as WorkerResult);
      const checks = parsed.reduce((n, r) => n + r.checks, 0);
      const wall = Math.max(...parsed.map((r) => r.seconds));
      const lat = parsed.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
      const verdicts: Record<string, number> = {};
      for (const r of parsed) for (const [k, v] of Object.entries(r.verdicts)) verdicts[k] = (verdicts[k] ?? 0) + v;
      rows.push({
        workers,
        checksPerSecond: checks / wall,
        checks,
        p50: percentile(lat, 50),
        p95: percentile(lat, 95),
        verdicts,
      });
    }
    const two = rows.find((r) => r.workers === 2)!;
    const pass = two.checksPerSecond >= 50 && Object.keys(two.verdicts).every((v) => v === 'live');
    if (json) {
      process.stdout.write(
        `${JSON.stringify({ seconds, concurrency, keys: nKeys, providers: MIX.length, rows, target: { checksPerSecond: 50, workers: 2, pass } })}\n`,
      );
    } else {
      console.log(
        `liveness checks against the fake provider: ${nKeys} keys over ${MIX.length} providers, ${seconds}s per run, ${concurrency} in flight per worker`,
      );
      console.log('workers  checks/s  checks  p50 ms  p95 ms  verdicts');
      for (const r of rows) {
        console.log(
          `${String(r.workers).padStart(7)}  ${r.checksPerSecond.toFixed(0).padStart(8)}  ${String(r.checks).padStart(6)}  ${r.p50.toFixed(1).padStart(6)}  ${r.p95.toFixed(1).padStart(6)}  ${JSON.stringify(r.verdicts)}`,
        );
      }
      console.log(`target >= 50 checks/s with 2 workers, all live: ${pass ? 'PASS' : 'FAIL'}`);
    }
  } finally {
    fake.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--fake') void serveFake();
else if (process.argv[2] === '--worker')
  void runWorker(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), Number(process.argv[6]));
else
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  });
