// The example agent: an HTTP service that answers questions by calling an LLM provider with a key
// from `createRotatableSecret(fileSource(...))`. The key is read on every call, so a rotation (a new
// file from the receiver, or a new Secret from the External Secrets Operator) takes effect with no
// restart. Answers go out through the output guard, and an emergency endpoint listens on loopback.
//
//   node dist/examples/agent/app.js   (LLM_KEY_FILE, PROVIDER_URL, HOST, PORT, EMERGENCY_PORT,
//                                      EMERGENCY_ADMIN_TOKEN_FILE, LLM_KEY_REFRESH_INTERVAL)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import {
  createOutputGuard,
  createRotatableSecret,
  type Duration,
  fileSource,
  type RotatableSecret,
  type RunningServer,
  shortHash,
  startEmergencyServer,
} from '../../runtime/index.js';

export interface AgentAppOptions {
  keyFile: string;
  /** The provider's base URL (OpenAI-compatible). */
  providerUrl: string;
  /** @defaultValue 0 (a free port) */
  port?: number;
  /** @defaultValue 127.0.0.1 (0.0.0.0 in a container) */
  host?: string;
  /** @defaultValue 30 s */
  refreshInterval?: Duration;
  /** Serve the emergency endpoint on 127.0.0.1:<port> with this admin token (a string or a rotatable secret). */
  emergency?: { adminToken: string | RotatableSecret; port?: number };
}

export interface AgentApp {
  url: string;
  secret: RotatableSecret;
  emergency?: RunningServer;
  /** Answered and failed /ask requests, and answered ones per key (short hash). */
  stats: { ok: number; failed: number; byKey: Map<string, number> };
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startAgentApp(opts: AgentAppOptions): Promise<AgentApp> {
  const secret = createRotatableSecret({
    name: 'llm-api-key',
    source: fileSource(opts.keyFile),
    refreshInterval: opts.refreshInterval ?? '30s',
    onRotation: (e) => console.error(JSON.stringify({ msg: 'llm key rotated', version: e.version, from: e.from, to: e.to })),
    onError: (e) =>
      console.error(JSON.stringify({ msg: 'llm key refresh failed; keeping the current key', code: e.code, error: e.message })),
  });
  await secret.ready;
  const stats = { ok: 0, failed: 0, byKey: new Map<string, number>() };
  const guard = createOutputGuard({ mode: 'redact' });
  await guard.warmUp();

  const complete = (key: string, question: string) =>
    fetch(`${opts.providerUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fake-gpt', messages: [{ role: 'user', content: question }] }),
    });

  async function ask(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let question = '';
    try {
      question = String((JSON.parse((await readBody(req)) || '{}') as { question?: unknown }).question ?? '');
    } catch {
      return send(res, 400, { error: 'expected {"question": "..."}' });
    }
    let key = secret.value; // read per request: always the current key
    let r = await complete(key, question);
    if (r.status === 401) {
      // The provider refused the key: it may have been rotated a moment ago. Fetch now and retry once.
      await r.body?.cancel();
      const outcome = await secret.refresh();
      if (outcome.ok && secret.value !== key) {
        key = secret.value;
        r = await complete(key, question);
      } else {
        r = new Response(null, { status: 401 });
      }
    }
    if (!r.ok) {
      await r.body?.cancel();
      stats.failed++;
      return send(res, 502, { error: `provider answered ${r.status}` });
    }
    const data = (await r.json()) as { choices: Array<{ message: { content: string } }> };
    stats.ok++;
    const h = shortHash(key);
    stats.byKey.set(h, (stats.byKey.get(h) ?? 0) + 1);
    send(res, 200, { answer: data.choices[0]?.message.content ?? '' });
  }

  const server: Server = createServer(
    guard.node((req, res) => {
      if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, { status: 'ok' });
      if (req.method === 'POST' && req.url === '/ask') {
        return ask(req, res).catch(() => {
          stats.failed++;
          send(res, 502, { error: 'provider unreachable' });
        });
      }
      send(res, 404, { error: 'not found' });
    }),
  );
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => r()));
  const emergency =
    opts.emergency === undefined
      ? undefined
      : await startEmergencyServer({
          adminToken: opts.emergency.adminToken,
          secrets: { 'llm-api-key': secret },
          port: opts.emergency.port ?? 0,
        });
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`,
    secret,
    ...(emergency !== undefined && { emergency }),
    stats,
    async close() {
      await emergency?.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await secret.close();
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = process.env;
  const need = (name: string): string => {
    const v = env[name];
    if (v !== undefined) return v;
    console.error(`${name} is not set`);
    process.exit(2);
  };
  const adminFile = env.EMERGENCY_ADMIN_TOKEN_FILE;
  const adminToken =
    adminFile === undefined ? undefined : createRotatableSecret({ name: 'emergency-admin-token', source: fileSource(adminFile) });
  await adminToken?.ready;
  const app = await startAgentApp({
    keyFile: need('LLM_KEY_FILE'),
    providerUrl: need('PROVIDER_URL'),
    port: Number(env.PORT ?? 8080),
    host: env.HOST ?? '127.0.0.1',
    ...(env.LLM_KEY_REFRESH_INTERVAL !== undefined && { refreshInterval: env.LLM_KEY_REFRESH_INTERVAL }),
    ...(adminToken !== undefined && { emergency: { adminToken, port: Number(env.EMERGENCY_PORT ?? 9797) } }),
  });
  console.error(JSON.stringify({ msg: 'agent listening', url: app.url, emergency: app.emergency?.url }));
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void app.close().then(() => process.exit(0)));
}
