// `node dist/bench/runtime.js`: what `keywarden/runtime` costs an app.
//   1. Load time: `await import('keywarden/runtime')` in a fresh Node process (cold), several runs,
//      beside a process that imports only node:http (Node's own floor), and the first guardText()
//      (which loads the rule pack and engine lazily).
//   2. The output guard on 4 KB response bodies: checks/s in process, and responses/s over HTTP on
//      127.0.0.1 with the guard's Node middleware against the same server without it.
// Bodies are generated (agent-style JSON and text, 1 in 10 holding a generated key); nothing on disk.
import { spawnSync } from 'node:child_process';
import { Agent, createServer, type IncomingMessage, type RequestListener, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { expandTemplate, seededRng } from '../rules/examples.js';
import { createOutputGuard } from '../runtime/index.js';
import { median } from './measure.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = join(ROOT, 'dist/runtime/index.js');
const BODY_BYTES = 4096;

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
  },
});
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);

/**
 * Runs `code` (an ES module body that does its work between `const t0 = ...` and the end) in a fresh
 * process each run; returns wall and CPU milliseconds of that work. CPU time (user + system of the
 * process during it) is what the import costs the app; wall time also counts waiting for a core on a
 * busy machine.
 */
function coldRuns(work: string): { wall: number[]; cpu: number[] } {
  const code = `const c0 = process.cpuUsage(); const t0 = performance.now(); ${work}; const c = process.cpuUsage(c0); console.log(performance.now() - t0, (c.user + c.system) / 1000)`;
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`load run failed: ${r.stderr}`);
    const [w, c] = r.stdout.trim().split(' ').map(Number);
    wall.push(w!);
    cpu.push(c!);
  }
  return { wall, cpu };
}

const fmt = (xs: number[]) =>
  `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;
const both = (r: { wall: number[]; cpu: number[] }) => `wall ${fmt(r.wall)}; CPU ${fmt(r.cpu)}`;

function loadTimes(): void {
  const url = JSON.stringify(`file://${ENTRY}`);
  // The floor: the first import() of any one-file module (it starts Node's ESM loader) plus the
  // built-ins the runtime uses.
  const leaf = JSON.stringify(`file://${join(ROOT, 'dist/errors/error.js')}`);
  const floor = coldRuns(
    `await import(${leaf}); await import('node:http'); await import('node:crypto'); await import('node:fs/promises')`,
  );
  const runtime = coldRuns(`await import(${url})`);
  const firstGuard = coldRuns(`const m = await import(${url}); await m.guardText('warm-up text')`);
  console.log(`load  import('keywarden/runtime'), cold, ${RUNS} runs: ${both(runtime)}`);
  console.log(`      one-file module + node built-ins (floor): ${both(floor)}`);
  console.log(`      import + first guardText() (pack + engine): ${both(firstGuard)}`);
}

/**
 * Vocabularies for generated answers. `typical`: assistant prose where words that wake rules (token,
 * key, secret, api, password) are about 1 word in 50. `dense`: a third of the words wake rules, the
 * worst case for the keyword prefilter (every hit runs a rule's regex on its line).
 */
const PROSE = (
  'the a of to and in is that for it on with as this was by be are from at or an have not which you they we their has ' +
  'deployment service cluster request response summary model answer user report build pipeline branch commit review ' +
  'latency error retry queue worker config value result data table column file path version release'
).split(' ');
const WAKERS = ['token', 'key', 'secret', 'api', 'password'];
const VOCABULARIES = {
  typical: [...PROSE, ...WAKERS.slice(0, 2)],
  dense: ['the', 'model', 'answer', 'request', 'user', 'config', 'deploy', 'service', ...WAKERS, 'value'],
};

/** 4 KB bodies: chat-completion-shaped JSON and plain text; every 10th holds a generated GitHub token. */
function makeBodies(n: number, words: readonly string[]): Array<{ body: Buffer; type: string }> {
  const rng = seededRng(4096);
  const text = (len: number) => {
    let s = '';
    while (s.length < len) s += `${words[Math.floor(rng() * words.length)]} `;
    return s.slice(0, len);
  };
  const out: Array<{ body: Buffer; type: string }> = [];
  for (let i = 0; i < n; i++) {
    const leak =
      i % 10 === 0 ? ` ${expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret} ` : '';
    if (i % 2 === 0) {
      const wrap = (content: string) =>
        JSON.stringify({
          id: `chatcmpl-${i}`,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content } }],
        });
      const room = BODY_BYTES - wrap('').length;
      out.push({ body: Buffer.from(wrap((leak + text(room)).slice(0, room))), type: 'application/json' });
    } else {
      out.push({ body: Buffer.from((leak + text(BODY_BYTES)).slice(0, BODY_BYTES)), type: 'text/plain; charset=utf-8' });
    }
  }
  return out;
}

async function inProcess(bodies: Array<{ body: Buffer; type: string }>): Promise<number> {
  const guard = createOutputGuard({ mode: 'redact' });
  await guard.warmUp();
  for (let i = 0; i < 2000; i++) await guard.checkBuffer(bodies[i % bodies.length]!.body, i % 2 === 0);
  let n = 0;
  const stop = performance.now() + SECONDS * 1000;
  const started = performance.now();
  while (performance.now() < stop) {
    for (let k = 0; k < 100; k++, n++) await guard.checkBuffer(bodies[n % bodies.length]!.body, n % 2 === 0);
  }
  return n / ((performance.now() - started) / 1000);
}

async function listen(handler: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Responses/s with CONCURRENCY keep-alive clients hammering GET / for SECONDS. */
async function load(port: number): Promise<{ rps: number; failed: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let done = 0;
  let failed = 0;
  const stop = performance.now() + SECONDS * 1000;
  const one = () =>
    new Promise<void>((res) => {
      const req = request({ host: '127.0.0.1', port, path: `/${done}`, agent }, (r: IncomingMessage) => {
        r.resume();
        r.on('end', () => {
          if (r.statusCode === 200) done++;
          else failed++;
          res();
        });
      });
      req.on('error', () => {
        failed++;
        res();
      });
      req.end();
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < stop) await one();
    }),
  );
  agent.destroy();
  return { rps: done / ((performance.now() - started) / 1000), failed };
}

async function overHttp(bodies: Array<{ body: Buffer; type: string }>): Promise<void> {
  let i = 0;
  const app: RequestListener = (_req, res) => {
    const b = bodies[i++ % bodies.length]!;
    res.writeHead(200, { 'content-type': b.type, 'content-length': b.body.length });
    res.end(b.body);
  };
  const guard = createOutputGuard({ mode: 'redact' });
  await guard.warmUp();
  const plain = await listen(app);
  const guarded = await listen(guard.node(app));
  await load(plain.port); // warm both servers and the client
  await load(guarded.port);
  const without = await load(plain.port);
  const withGuard = await load(guarded.port);
  plain.server.close();
  guarded.server.close();
  console.log(
    `http  4 KB typical responses/s on 127.0.0.1 (${CONCURRENCY} keep-alive clients, ${SECONDS} s, client in the same process): ` +
      `with guard ${Math.round(withGuard.rps)}, without ${Math.round(without.rps)} (${((withGuard.rps / without.rps) * 100).toFixed(0)}%); ` +
      `failed ${withGuard.failed + without.failed}`,
  );
}

loadTimes();
for (const [name, words] of Object.entries(VOCABULARIES)) {
  const cps = await inProcess(makeBodies(1000, words));
  console.log(
    `guard 4 KB bodies checked/s in process, ${name} text (1 in 10 with a key, half JSON): ${Math.round(cps)} (${((cps * BODY_BYTES) / 1e6).toFixed(1)} MB/s)`,
  );
}
await overHttp(makeBodies(1000, VOCABULARIES.typical));
