// Starts a real redis-server for a test file: loopback port, its own tmp dir (AOF on by default),
// ready once the server itself says so; `restart()` stops and starts it on the same port and dir
// (data kept). A port is only a guess until redis-server binds it (another process may take it
// first), so a start that fails to bind tries again on another port.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisHandle {
  url: string;
  port: number;
  dir: string;
  /** Graceful stop (SIGTERM: Redis flushes the AOF), then start again with the same data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
/** Ports tried before giving up: each failure means another process bound the port first. */
const BIND_ATTEMPTS = 5;

/** A port the kernel had free a moment ago: a guess, see startRedis. */
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

class BindError extends Error {}

/**
 * Spawns redis-server on `port` and resolves once it logs that it accepts connections (its own
 * process, not whatever else might answer on the port); rejects with BindError when the port was taken.
 */
function launch(port: number, dir: string, aof: boolean): Promise<ChildProcess> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    '--protected-mode',
    'yes',
    '--loglevel',
    'notice',
  ];
  if (aof) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} was not ready within 10 s:\n${out}`));
    }, 10_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        proc.stdout?.off('data', onData);
        proc.stdout?.resume();
        proc.stderr?.resume();
        resolve(proc);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      const msg = `redis-server on port ${port} exited with ${code}:\n${out}`;
      reject(/Address already in use/i.test(out) ? new BindError(msg) : new Error(msg));
    });
  });
}

export interface StartRedisOptions {
  /** Append-only file on, fsync always. @defaultValue true */
  aof?: boolean;
  /** The port to try first (this helper's own test passes a taken one). @defaultValue a free one */
  firstPort?: number;
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisHandle> {
  const aof = opts.aof !== false;
  const dir = mkdtempSync(join(tmpdir(), 'kw-redis-'));
  let proc: ChildProcess | null = null;
  let port = 0;
  for (let attempt = 1; proc === null; attempt++) {
    port = attempt === 1 && opts.firstPort !== undefined ? opts.firstPort : await unusedPort();
    try {
      proc = await launch(port, dir, aof);
    } catch (err) {
      if (!(err instanceof BindError) || attempt >= BIND_ATTEMPTS) throw err;
    }
  }

  const halt = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async restart() {
      await halt();
      // Same port: clients hold the URL. Redis binds with SO_REUSEADDR, so only another process
      // binding it in this instant could fail this (reported, not hidden).
      proc = await launch(port, dir, aof);
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
