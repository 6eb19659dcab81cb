// `node dist/bench/redact.js`: throughput of `keywarden redact --json` on generated NDJSON logs,
// beside `cat` through the same pipe (the floor), in one run. Lines are generated on the fly from a
// generated block (never stored on disk); output goes straight to /dev/null. Prints lines/s, MB/s,
// the ratio to cat and the filter's peak RSS (VmHWM, sampled from /proc).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startIntake } from '../intake/server.js';
import { builtinRules } from '../rules/builtin.js';
import { expandTemplate, seededRng } from '../rules/examples.js';
import { createRedactor } from '../scanner/redact-spans.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin', 'keywarden.js');
const MB = 1e6;
const TARGETS = { mbPerSec: 100, linesPerSec: 400_000, intakeMBps: 50 } as const;

/**
 * One block of NDJSON log lines shaped like pino/HTTP access logs (~200 bytes each), with words that
 * wake rules (`token`, `Authorization`, `password`) on some lines and a real generated token on one
 * line in 2,000. Blocks differ (a counter and the secrets change), so no cache sees repeats.
 */
function makeBlock(rng: () => number, lines: number, blockNo: number): { buf: Buffer; lines: number } {
  const out: string[] = [];
  const paths = ['/api/v1/items', '/api/v1/users/me', '/health', '/static/app.js', '/login', '/oauth/callback'];
  for (let i = 0; i < lines; i++) {
    const n = blockNo * lines + i;
    const r = rng();
    const base = {
      level: r < 0.9 ? 30 : 40,
      time: 1_763_782_000_000 + n,
      pid: 4242,
      hostname: 'web-1',
      reqId: `req-${n.toString(36)}`,
    };
    let rec: Record<string, unknown>;
    if (r < 0.0005) {
      const t = expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
      rec = { ...base, msg: `outgoing call with Authorization: token ${t}` };
    } else if (r < 0.05) {
      rec = { ...base, msg: 'token refreshed for user', user: `u${n % 9973}`, password: '[hidden]' };
    } else {
      const p = paths[n % paths.length]!;
      rec = {
        ...base,
        req: { method: n % 5 === 0 ? 'POST' : 'GET', url: `${p}?page=${n % 97}`, remoteAddress: `10.0.${n % 255}.${n % 253}` },
        res: { statusCode: r < 0.98 ? 200 : 500 },
        responseTime: Math.floor(r * 300),
        msg: 'request completed',
      };
    }
    out.push(JSON.stringify(rec));
  }
  return { buf: Buffer.from(`${out.join('\n')}\n`), lines };
}

interface RunResult {
  seconds: number;
  bytes: number;
  lines: number;
  peakRssMB: number | null;
}

/** Streams `totalBytes` of generated lines into `cmd`'s stdin; its stdout goes to /dev/null. */
async function runPipe(
  cmd: string,
  args: string[],
  blocks: Buffer[],
  blockLines: number,
  totalBytes: number,
): Promise<RunResult> {
  const devnull = openSync('/dev/null', 'w');
  const child = spawn(cmd, args, {
    stdio: ['pipe', devnull, 'inherit'],
    env: {
      ...process.env,
      KEYWARDEN_FINGERPRINT_KEY: process.env.KEYWARDEN_FINGERPRINT_KEY ?? 'bench-fingerprint-key-0123456789',
    },
  });
  const stdin = child.stdin!;
  let peakKB = 0;
  const sample = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKB = Math.max(peakKB, Number(m[1]));
    } catch {
      // exited between samples
    }
  }, 100);
  // Startup (rule compilation) is not throughput: time from the first byte accepted.
  await new Promise((res) => setTimeout(res, cmd === 'cat' ? 0 : 50));
  const started = performance.now();
  let bytes = 0;
  let lines = 0;
  for (let i = 0; bytes < totalBytes; i++) {
    const b = blocks[i % blocks.length]!;
    bytes += b.length;
    lines += blockLines;
    if (!stdin.write(b)) await once(stdin, 'drain');
  }
  stdin.end();
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sample);
  if (code !== 0) throw new Error(`${cmd} exited with ${code}`);
  return { seconds, bytes, lines, peakRssMB: peakKB > 0 ? peakKB / 1024 : null };
}

/**
 * The HTTP intake in this process: `--intake-mb` of 1 MB NDJSON batches, 4 requests in flight, to a
 * downstream on 127.0.0.1 that drops what it gets. Spool fsync on, as in production.
 */
async function benchIntake(blocks: Buffer[], totalBytes: number): Promise<{ mbPerSec: number; peakRssMB: number }> {
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  }).listen(0, '127.0.0.1');
  await once(sink, 'listening');
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-intake-'));
  const token = 'bench-intake-token-0123456789';
  const intake = await startIntake({
    redactor: createRedactor({ rules: await builtinRules(), fingerprintKey: Buffer.from('bench-fingerprint-key-0123456789') }),
    token,
    spoolDir: join(dir, 'spool'),
    downstreamUrl: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`,
  });
  // ~1 MB batches cut at line ends, as shippers send them.
  const batches: Buffer[] = [];
  for (const b of blocks) {
    for (let s = 0; s < b.length; ) {
      let e = b.indexOf(0x0a, Math.min(b.length - 1, s + 1_000_000));
      e = e === -1 ? b.length : e + 1;
      batches.push(b.subarray(s, e));
      s = e;
    }
  }
  let peak = 0;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  const started = performance.now();
  let sent = 0;
  let next = 0;
  const worker = async () => {
    while (sent < totalBytes) {
      const body = batches[next++ % batches.length]!;
      sent += body.length;
      const res = await fetch(`${intake.url}/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
        body,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`intake answered ${res.status}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await intake.drained(120_000);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sample);
  await intake.close();
  sink.close();
  rmSync(dir, { recursive: true, force: true });
  return { mbPerSec: sent / MB / seconds, peakRssMB: peak / 2 ** 20 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '1000' },
      'intake-mb': { type: 'string', default: '500' },
      json: { type: 'boolean', default: false },
    },
  });
  const totalBytes = Number(values.mb) * MB;
  const rng = seededRng(1);
  const blockLines = 20_000;
  // 16 distinct blocks (~4 MB each, ~64 MB in memory) cycled to reach the total.
  const blocks = Array.from({ length: 16 }, (_, i) => makeBlock(rng, blockLines, i).buf);

  const cat = await runPipe('cat', [], blocks, blockLines, totalBytes);
  const kw = await runPipe(process.execPath, [BIN, 'redact', '--json'], blocks, blockLines, totalBytes);
  const intake = Number(values['intake-mb']) > 0 ? await benchIntake(blocks, Number(values['intake-mb']) * MB) : null;
  const rate = (r: RunResult) => ({ mbPerSec: r.bytes / MB / r.seconds, linesPerSec: r.lines / r.seconds });
  const result = {
    bytes: kw.bytes,
    lines: kw.lines,
    cat: { ...rate(cat), seconds: cat.seconds },
    redact: { ...rate(kw), seconds: kw.seconds, peakRssMB: kw.peakRssMB },
    ratioToCat: rate(kw).mbPerSec / rate(cat).mbPerSec,
    intake,
    targets: TARGETS,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const f = (n: number) => n.toFixed(1);
  process.stdout.write(
    [
      `redact --json over ${f(kw.bytes / MB)} MB, ${kw.lines.toLocaleString('en')} NDJSON lines (avg ${Math.round(kw.bytes / kw.lines)} B)`,
      `  cat             ${f(rate(cat).mbPerSec).padStart(8)} MB/s ${Math.round(rate(cat).linesPerSec).toLocaleString('en').padStart(12)} lines/s`,
      `  keywarden       ${f(rate(kw).mbPerSec).padStart(8)} MB/s ${Math.round(rate(kw).linesPerSec).toLocaleString('en').padStart(12)} lines/s` +
        `   peak RSS ${kw.peakRssMB === null ? '?' : f(kw.peakRssMB)} MB`,
      `  ratio to cat    ${result.ratioToCat.toFixed(3)}`,
      `  targets         >= ${TARGETS.mbPerSec} MB/s: ${rate(kw).mbPerSec >= TARGETS.mbPerSec ? 'met' : 'MISSED'}; ` +
        `>= ${TARGETS.linesPerSec.toLocaleString('en')} lines/s: ${rate(kw).linesPerSec >= TARGETS.linesPerSec ? 'met' : 'MISSED'}`,
      intake === null
        ? '  intake          skipped (--intake-mb 0)'
        : `  HTTP intake     ${f(intake.mbPerSec).padStart(8)} MB/s (1 MB batches, 4 in flight, fsync on)   peak RSS ${f(intake.peakRssMB)} MB` +
          `   target >= ${TARGETS.intakeMBps} MB/s: ${intake.mbPerSec >= TARGETS.intakeMBps ? 'met' : 'MISSED'}`,
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`bench/redact: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
