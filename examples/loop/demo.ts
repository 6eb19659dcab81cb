// `npm run demo:loop` (`npm run build && node dist/examples/loop/demo.js`): keywarden's closed loop from
// a fresh clone, on 127.0.0.1. It starts a private redis-server (or uses REDIS_URL), `keywarden serve`
// and `keywarden worker` (this checkout's bin/keywarden.js), and the agent example (examples/agent/) in
// loop mode: an OpenAI-shaped fake provider, an agent under load, and its rotation receiver. The leak is
// committed to a git repository; keywarden scans its history, sends the signed rotation webhook, the
// receiver rotates the key under the running agent and calls back, and keywarden confirms at the
// provider that the old key is dead. Each lifecycle step is printed as it happens, then
// `keywarden findings show <fingerprint> -f text`.
//
//   node dist/examples/loop/demo.js [--clients 4] [--keep]      exit 0 when the finding ends revoked
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type LoopInfo, runDemo } from '../agent/demo.js';

/** The repository root: two levels up from the source, three from dist/examples/loop/. */
const ROOT = ['../..', '../../..']
  .map((up) => resolve(dirname(fileURLToPath(import.meta.url)), up))
  .find((dir) => existsSync(join(dir, 'bin/keywarden.js')))!;
const BIN = join(ROOT, 'bin/keywarden.js');

function unusedPort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? ok(a.port) : fail(new Error('no port'))));
    });
  });
}

interface Proc {
  proc: ChildProcess;
  log: () => string;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Proc {
  const proc = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d) => {
    out += d.toString();
  });
  return { proc, log: () => out };
}

async function waitFor(p: Proc, pattern: RegExp, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(p.log())) {
    if (p.proc.exitCode !== null) throw new Error(`${what} exited ${p.proc.exitCode}:\n${p.log()}`);
    if (Date.now() > deadline) throw new Error(`${what} did not start:\n${p.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface LoopDemoResult {
  fingerprint: string | null;
  states: string[];
  finalState: string | null;
  /** `keywarden findings show -f text`. */
  shown: string;
  agentRequests: number;
  agentFailed: number;
  oldKeyLive: boolean;
}

export async function runLoopDemo(opts: { clients?: number; print?: boolean; keep?: boolean } = {}): Promise<LoopDemoResult> {
  const print = opts.print ?? true;
  const say = (s: string) => {
    if (print) console.log(s);
  };
  const home = mkdtempSync(join(tmpdir(), 'kw-loop-demo-'));
  const procs: Proc[] = [];
  try {
    // --- Redis --------------------------------------------------------------------------------------
    let redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      const port = await unusedPort();
      const redis = start(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', home],
        process.env,
        home,
      );
      procs.push(redis);
      await waitFor(redis, /Ready to accept connections/, 'redis-server (install it, or set REDIS_URL)');
      redisUrl = `redis://127.0.0.1:${port}`;
    }

    // --- keywarden's settings: generated for this run, as a user would put them in the environment ---
    const apiPort = await unusedPort();
    const publicUrl = `http://127.0.0.1:${apiPort}`;
    const secrets = {
      KEYWARDEN_API_TOKEN: randomBytes(24).toString('base64url'),
      KEYWARDEN_FINGERPRINT_KEY: randomBytes(24).toString('hex'),
      KEYWARDEN_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
      KEYWARDEN_SECRET_KEY: randomBytes(32).toString('hex'),
    };
    // `keywarden scan` in the agent demo fingerprints with the same key, so it names the same finding.
    process.env.KEYWARDEN_FINGERPRINT_KEY = secrets.KEYWARDEN_FINGERPRINT_KEY;
    const base: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_CACHE_HOME: join(home, 'cache'),
      XDG_STATE_HOME: join(home, 'state'),
      REDIS_URL: redisUrl,
      KEYWARDEN_PREFIX: `demo-${randomBytes(3).toString('hex')}`,
      KEYWARDEN_PUBLIC_URL: publicUrl,
      KEYWARDEN_REVOCATION_FIRST_POLL: '1s',
      KEYWARDEN_REVOCATION_POLL_INTERVAL: '1s',
      KEYWARDEN_ROTATION_SLA: '10m',
      ...secrets,
    };
    const api = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${publicUrl}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${secrets.KEYWARDEN_API_TOKEN}`, 'content-type': 'application/json' },
      });
      return (await res.json()) as Record<string, unknown>;
    };

    const states: string[] = [];
    let fingerprint: string | null = null;
    let finalState: string | null = null;
    let env: NodeJS.ProcessEnv = base;

    // --- the agent demo in loop mode: keywarden drives the webhook ---------------------------------
    const started = Date.now();
    const agent = await runDemo({
      print,
      clients: opts.clients ?? 4,
      refreshInterval: 300,
      revokeDelay: 1000,
      after: 500,
      loop: {
        webhookSecret: secrets.KEYWARDEN_WEBHOOK_SECRET,
        publicUrl,
        timeoutMs: 120_000,
        instructions: false,
        // The receiver has called back; keywarden confirms at the provider (first poll 1 s) before it closes.
        beforeClose: async () => {
          const deadline = Date.now() + 60_000;
          while (finalState === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        },
        onReady: async (info: LoopInfo) => {
          // LOOP HOOKUP (#11): keywarden's serve and worker with the receiver and the provider the demo runs.
          env = { ...base, ...info.env };
          const serve = start(process.execPath, [BIN, 'serve', '--port', String(apiPort)], env, home);
          procs.push(serve);
          const worker = start(process.execPath, [BIN, 'worker', '--concurrency', '4'], env, home);
          procs.push(worker);
          await waitFor(serve, /"event":"listening"/, 'keywarden serve');
          await waitFor(worker, /"event":"ready"/, 'keywarden worker');
          say(`\nkeywarden serve ${publicUrl} and a worker are up; scanning ${info.repo}'s history through the API\n`);
          await api('/v1/scans', { method: 'POST', body: JSON.stringify({ kind: 'scan-history', data: { repo: info.repo } }) });
          // Each lifecycle step as it happens.
          void (async () => {
            while (finalState === null && Date.now() - started < 150_000) {
              if (fingerprint === null) {
                const list = (await api('/v1/findings').catch(() => ({}))) as { findings?: Array<{ fingerprint: string }> };
                fingerprint = list.findings?.[0]?.fingerprint ?? null;
              }
              if (fingerprint !== null) {
                const l = (await api(`/v1/findings/${fingerprint}/lifecycle`).catch(() => ({}))) as {
                  lifecycle?: Array<{ state: string; at: string; reason: string }>;
                };
                for (const s of (l.lifecycle ?? []).slice(states.length)) {
                  states.push(s.state);
                  say(`  keywarden: ${s.state.padEnd(18)} ${s.at}  ${s.reason}`);
                }
                if (states.at(-1) === 'revoked' || states.at(-1) === 'escalated') finalState = states.at(-1)!;
              }
              await new Promise((r) => setTimeout(r, 200));
            }
          })();
        },
      },
    });
    let shown = '';
    if (fingerprint !== null) {
      shown = execFileSync(process.execPath, [BIN, 'findings', 'show', fingerprint, '-f', 'text', '--actor', 'demo'], {
        env,
        cwd: home,
        encoding: 'utf8',
      });
      say(`\n$ keywarden findings show ${fingerprint} -f text\n${shown}`);
    }
    return {
      fingerprint,
      states,
      finalState,
      shown,
      agentRequests: agent.requests,
      agentFailed: agent.failed,
      oldKeyLive: agent.oldKeyLive,
    };
  } finally {
    for (const p of procs.reverse()) {
      if (p.proc.exitCode === null) {
        p.proc.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            p.proc.kill('SIGKILL');
            r(null);
          }, 10_000);
          p.proc.once('exit', () => {
            clearTimeout(t);
            r(null);
          });
        });
      }
    }
    if (!opts.keep) rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { clients: { type: 'string' }, keep: { type: 'boolean' } } });
  const r = await runLoopDemo({
    ...(values.clients !== undefined && { clients: Number(values.clients) }),
    ...(values.keep && { keep: true }),
  });
  const ok = r.finalState === 'revoked' && r.agentFailed === 0 && !r.oldKeyLive;
  console.log(`lifecycle: ${r.states.join(' -> ')}`);
  console.log(ok ? 'demo: OK' : 'demo: FAILED');
  process.exit(ok ? 0 : 1);
}
