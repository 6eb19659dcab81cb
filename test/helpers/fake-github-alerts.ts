// A fake GitHub REST API on 127.0.0.1 for secret scanning alerts, shaped as GitHub documents it
// (https://docs.github.com/en/rest/secret-scanning/secret-scanning): GET an alert (with its `secret`),
// GET its locations (paged), PATCH it to resolve. Requires `Authorization: Bearer <token>`; records
// every request (method and path, never a header value) and every resolution. Point keywarden at it
// with GITHUB_API_URL.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAlert {
  number: number;
  secret: string;
  secretType: string;
  state: 'open' | 'resolved';
  resolution: string | null;
  resolutionComment: string | null;
  locations: Array<{ type: string; details: Record<string, unknown> }>;
}

export class FakeGitHubAlerts {
  readonly token: string;
  readonly requests: Array<{ method: string; path: string }> = [];
  /** `owner/repo` -> alerts by number. */
  private readonly alerts = new Map<string, Map<number, FakeAlert>>();
  /** Answer the next requests with this status (a GitHub outage). */
  failNext = 0;
  private server: Server | null = null;
  port = 0;

  constructor(token: string) {
    this.token = token;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  addAlert(repository: string, alert: Omit<FakeAlert, 'state' | 'resolution' | 'resolutionComment'>): FakeAlert {
    const a: FakeAlert = { ...alert, state: 'open', resolution: null, resolutionComment: null };
    if (!this.alerts.has(repository)) this.alerts.set(repository, new Map());
    this.alerts.get(repository)!.set(a.number, a);
    return a;
  }

  alert(repository: string, number: number): FakeAlert | undefined {
    return this.alerts.get(repository)?.get(number);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({ method: req.method ?? '', path: u.pathname });
    if (this.failNext > 0) {
      this.failNext--;
      return this.send(res, 502, { message: 'Server Error' });
    }
    if (req.headers.authorization !== `Bearer ${this.token}` && req.headers.authorization !== `token ${this.token}`)
      return this.send(res, 401, { message: 'Bad credentials' });
    const m = /^\/repos\/([^/]+)\/([^/]+)\/secret-scanning\/alerts\/(\d+)(\/locations)?$/.exec(u.pathname);
    const repository = m ? `${m[1]}/${m[2]}` : '';
    const alert = m ? this.alert(repository, Number(m[3])) : undefined;
    if (!m || !alert) return this.send(res, 404, { message: 'Not Found' });
    const html = `https://github.com/${repository}/security/secret-scanning/${alert.number}`;
    if (req.method === 'GET' && m[4]) {
      const perPage = Number(u.searchParams.get('per_page') ?? 30);
      const page = Number(u.searchParams.get('page') ?? 1);
      return this.send(res, 200, alert.locations.slice((page - 1) * perPage, page * perPage));
    }
    const view = () => ({
      number: alert.number,
      html_url: html,
      state: alert.state,
      resolution: alert.resolution,
      resolution_comment: alert.resolutionComment,
      secret_type: alert.secretType,
      secret_type_display_name: alert.secretType,
      secret: alert.secret,
    });
    if (req.method === 'GET') return this.send(res, 200, view());
    if (req.method === 'PATCH') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      if (body.state !== 'resolved' && body.state !== 'open') return this.send(res, 422, { message: 'Validation Failed' });
      alert.state = body.state;
      alert.resolution = typeof body.resolution === 'string' ? body.resolution : null;
      alert.resolutionComment = typeof body.resolution_comment === 'string' ? body.resolution_comment : null;
      return this.send(res, 200, view());
    }
    return this.send(res, 404, { message: 'Not Found' });
  }
}
