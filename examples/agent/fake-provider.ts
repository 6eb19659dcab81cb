// A fake LLM provider for the demo and tests, shaped like OpenAI's API where it matters to keywarden:
// keys look like OpenAI project keys (so keywarden's openai-project-key rule finds a leaked one),
// `POST /v1/chat/completions` answers with a completion or 401 `invalid_api_key`, and `GET /v1/models`
// is the liveness check the rule declares (200 live, 401 revoked; point keywarden at it with
// KEYWARDEN_PROVIDER_OPENAI_BASE_URL). An admin API issues and revokes keys:
//   POST /admin/keys            -> 201 {"id", "key"}
//   POST /admin/keys/revoke     {"key"} -> 200 {"id", "revoked": true}
// both with `Authorization: Bearer <adminKey>`. Keys are random, made when asked: nothing is stored.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeProviderOptions {
  /** @defaultValue 0 (a free port) */
  port?: number;
  /** Delay of each chat completion, so requests are in flight during a rotation. @defaultValue 40 ms */
  latencyMs?: number;
  /** @defaultValue random */
  adminKey?: string;
}

export interface FakeProvider {
  url: string;
  adminKey: string;
  /** Issues a key directly (the demo's first key). */
  issueKey(): { id: string; key: string };
  isLive(key: string): boolean;
  /** Completions answered per key id, and refused ones. */
  readonly stats: { completions: Map<string, number>; refused: number };
  close(): Promise<void>;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const randomChars = (n: number) => Array.from(randomBytes(n), (b) => B64URL[b & 63]).join('');
// The marker between the halves of an OpenAI project key (its rule keyword).
const MARKER = ['T3Bl', 'bkFJ'].join('');

async function body(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8') || 'null');
  } catch {
    return null;
  }
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const INVALID_KEY = {
  error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
};

export async function startFakeProvider(opts: FakeProviderOptions = {}): Promise<FakeProvider> {
  const adminKey = opts.adminKey ?? `admin-${randomBytes(16).toString('hex')}`;
  const latency = opts.latencyMs ?? 40;
  const keys = new Map<string, { id: string; revoked: boolean }>();
  const stats = { completions: new Map<string, number>(), refused: 0 };
  let serial = 0;
  const issueKey = () => {
    const key = `sk-proj-${randomChars(74)}${MARKER}${randomChars(74)}`;
    const id = `key_${++serial}`;
    keys.set(key, { id, revoked: false });
    return { id, key };
  };
  const keyOf = (req: IncomingMessage) => /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  const live = (key: string | undefined) =>
    key === undefined ? undefined : keys.get(key)?.revoked === false ? keys.get(key) : undefined;

  const server = createServer(async (req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/admin/')) {
      if (keyOf(req) !== adminKey) return send(res, 401, { error: { message: 'admin key required' } });
      if (req.method === 'POST' && url === '/admin/keys') return send(res, 201, issueKey());
      if (req.method === 'POST' && url === '/admin/keys/revoke') {
        const key = ((await body(req)) as { key?: unknown } | null)?.key;
        const k = typeof key === 'string' ? keys.get(key) : undefined;
        if (k === undefined) return send(res, 404, { error: { message: 'no such key' } });
        k.revoked = true;
        return send(res, 200, { id: k.id, revoked: true });
      }
      return send(res, 404, { error: { message: 'not found' } });
    }
    const k = live(keyOf(req));
    if (req.method === 'GET' && url === '/v1/models') {
      return k
        ? send(res, 200, { object: 'list', data: [{ id: 'fake-gpt', object: 'model', owned_by: 'fake' }] })
        : send(res, 401, INVALID_KEY);
    }
    if (req.method === 'POST' && url === '/v1/chat/completions') {
      const question = ((await body(req)) as { messages?: Array<{ content?: string }> } | null)?.messages?.at(-1)?.content ?? '';
      // Checked on arrival, like a real API: a request that got in with a valid key completes.
      if (!k) {
        stats.refused++;
        return send(res, 401, INVALID_KEY);
      }
      await new Promise((r) => setTimeout(r, latency));
      stats.completions.set(k.id, (stats.completions.get(k.id) ?? 0) + 1);
      return send(res, 200, {
        id: `chatcmpl-${randomBytes(6).toString('hex')}`,
        object: 'chat.completion',
        model: 'fake-gpt',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: `You asked: ${String(question).slice(0, 200)}` },
            finish_reason: 'stop',
          },
        ],
      });
    }
    send(res, 404, { error: { message: 'not found' } });
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    adminKey,
    issueKey,
    isLive: (key) => live(key) !== undefined,
    stats,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
