// Peers a git client talks to, for the access tests: an HTTP(S) server that records every request's
// headers and answers 401 (or a redirect), and a TCP server that accepts and never says a word. TLS
// uses a self-signed certificate for 127.0.0.1 made at test time (git trusts it via GIT_SSL_CAINFO).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp, type Socket, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface CapturingServer {
  port: number;
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

export interface TestCertificate {
  /** PEM file paths. */
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

/** A self-signed certificate for 127.0.0.1 and localhost, valid a day. */
export function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'kw-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

/**
 * Records each request, then answers as a git host that wants credentials (401 with a Basic
 * challenge), or with `redirectTo` a 302 to the same path there.
 */
export async function capturingServer(opts: { tls?: TestCertificate; redirectTo?: () => string } = {}): Promise<CapturingServer> {
  const requests: Recorded[] = [];
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    if (opts.redirectTo) {
      res.writeHead(302, { location: `${opts.redirectTo()}${req.url ?? '/'}` }).end();
      return;
    }
    res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' }).end('auth required\n');
  };
  const server: Server = opts.tls ? createHttps({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttp(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

export interface SilentServer {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/** Accepts every connection and never writes or closes it: a tarpit. */
export async function silentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server: TcpServer = createTcp((s) => {
    state.connections++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Every header value of every request, joined: what a token must never appear in. */
export function everyHeader(requests: readonly Recorded[]): string {
  return requests.map((r) => JSON.stringify(r.headers)).join('\n');
}

/** True when any request carried `token`, in clear or inside a Basic Authorization header. */
export function sawToken(requests: readonly Recorded[], token: string): boolean {
  for (const r of requests) {
    const all = JSON.stringify(r.headers);
    if (all.includes(token)) return true;
    const auth = r.headers.authorization;
    const basic = typeof auth === 'string' ? /^Basic\s+(\S+)/i.exec(auth)?.[1] : undefined;
    if (basic && Buffer.from(basic, 'base64').toString('utf8').includes(token)) return true;
  }
  return false;
}
