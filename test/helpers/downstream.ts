// A downstream log store on 127.0.0.1 for intake tests: keeps every POST (Content-Type and body),
// answers 200, and can go down and come back on the same port to play an outage. The port is bound
// once and held until `close()`: while down, every connection is reset at once (the intake sees the
// same failed fetch as from a closed port), so no other process can take the port in between.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  contentType: string | undefined;
  body: string;
}

export class Downstream {
  received: Received[] = [];
  private server: Server | null = null;
  private up = false;
  /** 0 until the first start; the same port until `close()`. */
  port = 0;

  /** Serves (binding a port on the first call); returns `url`. */
  async start(): Promise<string> {
    this.up = true;
    if (this.server) return this.url;
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        this.received.push({ contentType: req.headers['content-type'], body: Buffer.concat(parts).toString('utf8') });
        res.writeHead(200).end('ok');
      });
    });
    server.on('connection', (socket) => {
      if (!this.up) socket.destroy();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.url;
  }

  /** Goes down: open connections are dropped and new ones reset, until the next `start()`. */
  async stop(): Promise<void> {
    this.up = false;
    this.server?.closeAllConnections();
  }

  /** Releases the port. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    this.up = false;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((res) => s.close(res));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/logs`;
  }

  /** Every record received, in arrival order: a `json` batch is an array, `json_lines` one per line. */
  records(): Array<Record<string, unknown>> {
    return this.received.flatMap((r) => {
      const body = r.body.trim();
      if (body.startsWith('[')) return JSON.parse(body) as Array<Record<string, unknown>>;
      return body
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    });
  }
}
