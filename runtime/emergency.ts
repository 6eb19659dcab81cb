// The emergency path into a running app: an operator who must replace a key now (the source cannot be
// changed fast enough, or is itself compromised) posts the new value to the app. Admin token checked
// in constant time, rate limited per address, served on loopback by `startEmergencyServer`, every
// rotation audited with short hashes; status lists names and times, never values.
//
//   POST /rotate-secret  {"name": "<secret name>", "value": "<new value>"}
//   GET  /secret-status
//   X-Admin-Token: <token>   or   Authorization: Bearer <token>
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeywardenError } from '../errors/error.js';
import { type AuditSink, auditor } from './audit.js';
import { type Duration, toMilliseconds } from './duration.js';
import {
  type AdaptedEndpoint,
  adapt,
  bearerToken,
  errorReply,
  type HttpReply,
  type HttpRequest,
  headerValue,
  isLoopbackHost,
  jsonReply,
  type TokenInput,
  tokenCheck,
} from './http.js';
import { createRateLimiter } from './rate-limit.js';
import type { RotatableSecret, SecretStatus } from './secret.js';

export const ROTATE_PATH = '/rotate-secret';
export const STATUS_PATH = '/secret-status';

export interface EmergencyRotationOptions {
  /** At least 16 characters; or anything with a `value` (a rotatable secret), read on each request. */
  adminToken: TokenInput;
  /** The secrets an operator may replace, by the name used in requests. */
  secrets: Readonly<Record<string, RotatableSecret>> | ReadonlyMap<string, RotatableSecret>;
  /** Per client address, over every request to the two routes (wrong tokens included). @defaultValue 10 per 1 min */
  rateLimit?: { max?: number; window?: Duration };
  /** Audit lines (rotations, rejected requests). @defaultValue JSON lines on stderr */
  onAudit?: AuditSink;
  /** @defaultValue 65536 */
  maxBodyBytes?: number;
}

export interface SecretStatusResponse {
  secrets: SecretStatus[];
}

function secretMap(secrets: EmergencyRotationOptions['secrets']): ReadonlyMap<string, RotatableSecret> {
  return secrets instanceof Map ? secrets : new Map(Object.entries(secrets as Record<string, RotatableSecret>));
}

/** The handler: `http.createServer(h)`, `app.register(h.fastify)`, `app.use(h.express)`. */
export function emergencyRotationHandler(opts: EmergencyRotationOptions): AdaptedEndpoint {
  const isAdmin = tokenCheck(opts.adminToken, 'emergencyRotationHandler: adminToken');
  const secrets = secretMap(opts.secrets);
  const limit = createRateLimiter({
    max: opts.rateLimit?.max ?? 10,
    windowMs: toMilliseconds(opts.rateLimit?.window ?? 60_000, 'emergencyRotationHandler rateLimit.window'),
  });
  const audit = auditor(opts.onAudit);

  async function handle(req: HttpRequest): Promise<HttpReply> {
    const remote = req.remoteAddress;
    const rejected = (status: number, code: string, reason: string, message: string, headers: Record<string, string> = {}) => {
      audit('request.rejected', { endpoint: 'emergency', path: req.path, remote, reason });
      return errorReply(status, code, message, headers);
    };

    const decision = limit(remote);
    if (!decision.ok) {
      return rejected(429, 'KW_RATE_LIMITED', 'rate_limited', 'too many requests', {
        'retry-after': String(decision.retryAfterSeconds),
      });
    }
    const presented = headerValue(req.headers, 'x-admin-token') ?? bearerToken(req.headers);
    if (!isAdmin(presented)) {
      return rejected(401, 'KW_UNAUTHORIZED', presented === undefined ? 'no_token' : 'wrong_token', 'admin token required', {
        'www-authenticate': 'Bearer',
      });
    }

    if (req.path === STATUS_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return errorReply(405, 'KW_REQUEST_INVALID', 'use GET', { allow: 'GET' });
      const body: SecretStatusResponse = { secrets: [...secrets.values()].map((s) => s.status()) };
      return jsonReply(200, body);
    }

    if (req.method !== 'POST') return errorReply(405, 'KW_REQUEST_INVALID', 'use POST', { allow: 'POST' });
    const type = headerValue(req.headers, 'content-type') ?? '';
    if (!/^application\/json\b/i.test(type)) return rejected(415, 'KW_REQUEST_INVALID', 'content_type', 'send application/json');
    let parsed: unknown;
    try {
      parsed = JSON.parse(req.body.toString('utf8'));
    } catch {
      return rejected(400, 'KW_JSON_INVALID', 'json', 'the body is not valid JSON');
    }
    const { name, value } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { name?: unknown; value?: unknown };
    if (typeof name !== 'string' || typeof value !== 'string' || value === '') {
      return rejected(400, 'KW_REQUEST_INVALID', 'fields', 'expected {"name": string, "value": non-empty string}');
    }
    const secret = secrets.get(name);
    if (secret === undefined) return rejected(404, 'KW_REQUEST_INVALID', 'unknown_secret', 'no secret of that name');
    const event = secret.set(value);
    audit('secret.rotated', {
      endpoint: 'emergency',
      name,
      version: event.version,
      from: event.from ?? null,
      to: event.to,
      remote,
    });
    return jsonReply(200, {
      name,
      version: event.version,
      rotatedAt: event.at.toISOString(),
      from: event.from ?? null,
      to: event.to,
    });
  }

  return adapt({
    routes: [
      { method: 'POST', path: ROTATE_PATH },
      { method: 'GET', path: STATUS_PATH },
    ],
    maxBodyBytes: opts.maxBodyBytes ?? 65_536,
    rawBodyRequired: false,
    handle,
  });
}

export interface EmergencyServerOptions extends EmergencyRotationOptions {
  /** A loopback address only: anything else is refused. @defaultValue 127.0.0.1 */
  host?: string;
  /** @defaultValue 0 (a free port, reported in `url`) */
  port?: number;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Serves the emergency endpoint on its own loopback port, so it is reachable from the pod or host
 * (`kubectl exec`, `kubectl port-forward`) and never from the network the app serves.
 */
export async function startEmergencyServer(opts: EmergencyServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new KeywardenError('KW_CONFIG_INVALID', `startEmergencyServer: ${host} is not a loopback address`, [
      'the emergency endpoint listens on 127.0.0.1 or ::1 only; reach it with kubectl exec or port-forward',
    ]);
  }
  return listen(emergencyRotationHandler(opts), host, opts.port ?? 0);
}

/** Listens and resolves once bound; `close` also ends keep-alive connections. */
export function listen(handler: (req: never, res: never) => void, host: string, port: number): Promise<RunningServer> {
  const server = createServer(handler as Parameters<typeof createServer>[1]);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        url: `http://${shown}:${addr.port}`,
        port: addr.port,
        server,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            server.closeAllConnections();
          }),
      });
    });
  });
}
