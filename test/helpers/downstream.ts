// A downstream log store on 127.0.0.1 for intake tests: keeps every POST (Content-Type and body),
// answers 200, and can be stopped and restarted on the same port to play an outage.
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
  /** 0 until the first start; kept across restarts. */
  port = 0;

  /** Listens (on the same port as before after a stop); returns `url`. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        this.received.push({ contentType: req.headers['content-type'], body: Buffer.concat(parts).toString('utf8') });
        res.writeHead(200).end('ok');
      });
    });
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
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
