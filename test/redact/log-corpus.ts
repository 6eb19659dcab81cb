// A generated corpus of realistic log lines for context redaction (issue #14, "Logs: what context
// says is secret"): secrets that only their context identifies (headers, cookies, secret-named
// fields, URL credentials, free-text key=value), and ordinary lines full of identifiers that must
// stay readable. Built at test time from a seeded generator; no realistic secret is stored.
import { Gen } from '../accuracy/corpus.js';

/** One line holding secrets that context alone identifies. */
export interface SecretLine {
  cls: string;
  line: string;
  secrets: string[];
  /** Text that must survive (header and cookie names, schemes). */
  keep: string[];
}

/** One ordinary line and the identifiers in it that must survive redaction. */
export interface OrdinaryLine {
  cls: string;
  line: string;
  ids: string[];
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export class LogGen extends Gen {
  token(min = 6, max = 24): string {
    const n = min + this.int(max - min + 1);
    return `${this.str(ALNUM, n - 1)}${this.int(10)}`;
  }
  /** A password as people choose them: letters, digits, a symbol that needs no quoting. */
  password(): string {
    return `${this.pick(['Summer', 'blue', 'Kx', 'qwe', 'Mango', 'zeta'])}${this.str(ALNUM, 3 + this.int(6))}${this.pick(['!', '#', '%', '*', '^', '~', ''])}${this.int(100)}`;
  }
  basic(): string {
    return Buffer.from(`${this.pick(['svc', 'admin', 'deploy'])}:${this.password()}`).toString('base64');
  }
  ip(): string {
    return `10.${this.int(256)}.${this.int(256)}.${this.int(256)}`;
  }
  time(): string {
    return new Date(1_764_000_000_000 + this.int(86_400_000)).toISOString();
  }
  pod(): string {
    return `${this.pick(['api', 'web', 'worker', 'billing'])}-${this.str('bcdfghjklmnpqrstvwxz2456789', 10)}-${this.str('bcdfghjklmnpqrstvwxz2456789', 5)}`;
  }
  email(): string {
    return `${this.pick(['ada', 'grace', 'linus', 'ops'])}.${this.str('abcdefghij', 4)}@example.com`;
  }
}

/** `n` lines of each generator, cycling through the classes. */
export function contextSecretLines(seed: number, perClass: number): SecretLine[] {
  const g = new LogGen(seed);
  const out: SecretLine[] = [];
  const cls: Array<[string, () => SecretLine]> = [
    [
      'authorization-bearer-short',
      () => {
        const t = g.token(6, 14);
        return {
          cls: '',
          line: `${g.time()} INFO http: GET /v1/orders Authorization: Bearer ${t} status=200`,
          secrets: [t],
          keep: ['Authorization: Bearer '],
        };
      },
    ],
    [
      'authorization-basic',
      () => {
        const b = g.basic();
        return {
          cls: '',
          line: `${g.ip()} - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 401 authorization=Basic ${b}`,
          secrets: [b],
          keep: ['Basic '],
        };
      },
    ],
    [
      'proxy-authorization',
      () => {
        const t = g.token(10, 30);
        return { cls: '', line: `> Proxy-Authorization: Token ${t}`, secrets: [t], keep: ['Proxy-Authorization: Token '] };
      },
    ],
    [
      'authorization-raw',
      () => {
        const t = g.token(12, 32);
        return { cls: '', line: `request headers: Authorization: ${t}`, secrets: [t], keep: ['Authorization: '] };
      },
    ],
    [
      'cookie-header',
      () => {
        const [a, b] = [g.token(8, 32), g.token(6, 20)];
        return {
          cls: '',
          line: `> Cookie: sessionid=${a}; csrftoken=${b} status=200 rid=r-123`,
          secrets: [a, b],
          keep: ['sessionid=', 'csrftoken=', 'status=200 rid=r-123'],
        };
      },
    ],
    [
      'set-cookie',
      () => {
        const a = g.token(16, 40);
        return {
          cls: '',
          line: `< Set-Cookie: _app_session=${a}; Path=/; Expires=Wed, 09 Dec 2026 10:00:00 GMT; HttpOnly; Secure; SameSite=Lax`,
          secrets: [a],
          keep: ['_app_session=', 'Path=/', 'HttpOnly'],
        };
      },
    ],
    [
      'x-api-key-curl',
      () => {
        const k = g.token(8, 32);
        return {
          cls: '',
          line: `exec: curl -sS -H "X-Api-Key: ${k}" https://api.example.com/v2/items`,
          secrets: [k],
          keep: ['X-Api-Key: '],
        };
      },
    ],
    [
      'x-auth-token',
      () => {
        const k = g.uuid();
        return { cls: '', line: `upstream call X-Auth-Token: ${k} took 31ms`, secrets: [k], keep: ['X-Auth-Token: '] };
      },
    ],
    [
      'private-token-gomap',
      () => {
        const k = g.token(20, 20);
        return {
          cls: '',
          line: `level=debug msg="sending" headers=map[Accept:[*/*] Private-Token:[${k}]]`,
          secrets: [k],
          keep: ['Private-Token:['],
        };
      },
    ],
    [
      'json-header-map',
      () => {
        const [t, c, k] = [g.token(8, 20), g.token(10, 30), g.token(8, 24)];
        const rec = {
          level: 30,
          time: 1_764_000_000_000 + g.int(1e6),
          req: {
            method: 'POST',
            url: '/v1/pay',
            headers: { authorization: `Bearer ${t}`, cookie: `sid=${c}; lang=en`, 'x-api-key': k, 'user-agent': 'curl/8.5' },
          },
          msg: 'request',
        };
        return {
          cls: '',
          line: JSON.stringify(rec),
          secrets: [t, c, k],
          keep: ['"authorization":"Bearer ', 'sid=', '"x-api-key":"'],
        };
      },
    ],
    [
      'json-raw-headers',
      () => {
        const t = g.token(8, 20);
        const rec = { msg: 'incoming', rawHeaders: ['Host', 'api.example.com', 'Authorization', `Bearer ${t}`, 'Accept', '*/*'] };
        return { cls: '', line: JSON.stringify(rec), secrets: [t], keep: ['"Authorization","Bearer '] };
      },
    ],
    [
      'json-har-pairs',
      () => {
        const k = g.token(8, 24);
        const rec = {
          entry: {
            request: {
              headers: [
                { name: 'X-Api-Key', value: k },
                { name: 'Accept', value: 'application/json' },
              ],
            },
          },
        };
        return { cls: '', line: JSON.stringify(rec), secrets: [k], keep: ['"name":"X-Api-Key"'] };
      },
    ],
    [
      'json-go-header',
      () => {
        const t = g.token(8, 20);
        const rec = { level: 'info', header: { Authorization: [`Bearer ${t}`], 'X-Request-Id': [g.uuid()] } };
        return { cls: '', line: JSON.stringify(rec), secrets: [t], keep: ['"Authorization":["Bearer '] };
      },
    ],
    [
      'ndjson-secret-keys',
      () => {
        const [p, s, r] = [g.password(), g.token(16, 40), g.token(20, 40)];
        const key = g.pick(['password', 'passwd', 'db_password', 'userPassword']);
        const skey = g.pick(['client_secret', 'secret', 'webhookSecret', 'api_key', 'apikey', 'private_key', 'access_token']);
        const rec = {
          level: 30,
          ctx: {
            user: { name: 'ada', [key]: p, token: null, password_hint: '' },
            oauth: { [skey]: s, refresh_token: r, token_type: 'Bearer', expires_in: 3600 },
          },
        };
        return {
          cls: '',
          line: JSON.stringify(rec),
          secrets: [p, s, r],
          keep: ['"token":null', '"token_type":"Bearer"', '"expires_in":3600'],
        };
      },
    ],
    [
      'ndjson-credentials-object',
      () => {
        const [a, b] = [g.token(16, 20), g.token(30, 40)];
        const rec = {
          event: 'assume-role',
          credentials: { accessKeyId: a, secretAccessKey: b, expiration: '2026-12-03T12:00:00Z' },
        };
        return { cls: '', line: JSON.stringify(rec), secrets: [a, b], keep: ['"credentials":{'] };
      },
    ],
    [
      'url-query',
      () => {
        const t = g.token(6, 30);
        const name = g.pick([
          'access_token',
          'api_key',
          'key',
          'token',
          'sig',
          'signature',
          'X-Amz-Signature',
          'password',
          'apikey',
        ]);
        return {
          cls: '',
          line: `${g.time()} GET https://api.example.com/v1/search?q=shoes&${name}=${t}&page=2 200 12ms`,
          secrets: [t],
          keep: [`${name}=`, 'page=2', 'q=shoes'],
        };
      },
    ],
    [
      'url-query-json',
      () => {
        const t = g.token(8, 30);
        const rec = { level: 30, req: { url: `/oauth/callback?state=xyz&access_token=${t}` }, msg: 'callback' };
        return { cls: '', line: JSON.stringify(rec), secrets: [t], keep: ['access_token=', 'state=xyz'] };
      },
    ],
    [
      'url-userinfo',
      () => {
        const p = g.password();
        const scheme = g.pick(['postgres', 'mysql', 'redis', 'amqp', 'https']);
        return {
          cls: '',
          line: `connecting to ${scheme}://app:${encodeURIComponent(p)}@db-1.internal:5432/main`,
          secrets: [encodeURIComponent(p)],
          keep: [`${scheme}://app:`, '@db-1.internal'],
        };
      },
    ],
    [
      'text-key-value',
      () => {
        const p = g.password();
        const name = g.pick(['password', 'DB_PASSWORD', 'SMTP_PASS', 'secret', 'api_key', 'client_secret', 'AUTH_TOKEN']);
        const sep = g.pick(['=', ': ', '=']);
        return {
          cls: '',
          line: `config loaded: host=db-1 port=5432 ${name}${sep}${p} pool=10`,
          secrets: [p],
          keep: [name, 'pool=10'],
        };
      },
    ],
    [
      'text-quoted',
      () => {
        const p = g.password();
        return {
          cls: '',
          line: `DEBUG settings {'user': 'svc', 'password': '${p}', 'timeout': 30}`,
          secrets: [p],
          keep: ["'password': '"],
        };
      },
    ],
    [
      'json-escaped-body',
      () => {
        const p = g.password();
        const rec = { msg: `POST /login body={"username":"ada","password":"${p}"}` };
        return { cls: '', line: JSON.stringify(rec), secrets: [p], keep: ['\\"password\\":\\"'] };
      },
    ],
  ];
  for (let i = 0; i < perClass; i++) {
    for (const [name, make] of cls) out.push({ ...make(), cls: name });
  }
  return out;
}

/** Ordinary log lines full of identifiers: none of them may be redacted. */
export function ordinaryLines(seed: number, perClass: number): OrdinaryLine[] {
  const g = new LogGen(seed);
  const out: OrdinaryLine[] = [];
  const cls: Array<[string, () => Omit<OrdinaryLine, 'cls'>]> = [
    [
      'traceparent',
      () => {
        const [tr, sp] = [g.hex(32), g.hex(16)];
        return { line: `${g.time()} INFO traceparent: 00-${tr}-${sp}-01 trace_id=${tr} span_id=${sp}`, ids: [tr, sp] };
      },
    ],
    [
      'uuid-request',
      () => {
        const [a, b] = [g.uuid(), g.uuid()];
        return {
          line: JSON.stringify({ level: 30, reqId: a, 'x-request-id': b, msg: 'request completed', responseTime: 12 }),
          ids: [a, b],
        };
      },
    ],
    [
      'commit-sha',
      () => {
        const s = g.hex(40);
        return { line: `deploy: checked out ${s} (short ${s.slice(0, 7)}) on branch main`, ids: [s] };
      },
    ],
    [
      'image-digest',
      () => {
        const d = g.hex(64);
        return { line: `pulled image registry.example.com/api@sha256:${d} into pod ${g.pod()}`, ids: [`sha256:${d}`] };
      },
    ],
    [
      'pod-names',
      () => {
        const [p, q] = [g.pod(), g.pod()];
        return {
          line: JSON.stringify({
            kubernetes: { pod_name: p, namespace_name: 'prod', container_name: 'api', host: 'node-7' },
            log: `evicted ${q}`,
          }),
          ids: [p, q],
        };
      },
    ],
    [
      'emails',
      () => {
        const [e, f] = [g.email(), g.email()];
        return { line: `mail: sent receipt to ${e} (cc ${f}) via smtp.example.com:587`, ids: [e, f] };
      },
    ],
    [
      'token-metadata',
      () => {
        const u = g.uuid();
        return {
          line: JSON.stringify({
            msg: 'token refreshed',
            token_type: 'Bearer',
            expires_in: 3600,
            token_id: u,
            max_tokens: 4096,
            secret_name: 'prod/db',
            next_page_token: 'page-3',
          }),
          ids: ['"token_type":"Bearer"', u, '"secret_name":"prod/db"', '"max_tokens":4096', 'page-3'],
        };
      },
    ],
    [
      'access-log',
      () => {
        const ip = g.ip();
        return {
          line: `${ip} - - [03/Dec/2026:10:00:00 +0000] "GET /api/v1/items?page=3&sort=desc HTTP/1.1" 200 512 "-" "Mozilla/5.0"`,
          ids: [ip, 'page=3&sort=desc', 'Mozilla/5.0'],
        };
      },
    ],
    [
      'messages-about-secrets',
      () => ({
        line: `${g.time()} WARN auth: password: expired for user ada; token refreshed; Authorization header missing; cookie consent=granted?`,
        ids: ['password: expired', 'token refreshed', 'Authorization header missing'],
      }),
    ],
    [
      'urls-without-credentials',
      () => {
        const u = g.uuid();
        return {
          line: `fetch https://cdn.example.com/assets/${u}/app.js?v=${g.hex(8)} and http://db-1.internal:5432/health`,
          ids: [u, 'http://db-1.internal:5432/health'],
        };
      },
    ],
    [
      'cookie-then-fields',
      () => {
        const u = g.uuid();
        return { line: `cookie-consent: granted request_id=${u} status=200 took=5ms`, ids: [u, 'status=200', 'took=5ms'] };
      },
    ],
    [
      'hashes-and-ids',
      () => {
        const [m, e] = [g.hex(32), g.hex(16)];
        return {
          line: JSON.stringify({ etag: `"${m}"`, object_key: `uploads/${e}.png`, sha1: g.hex(40), duration_ms: 42 }),
          ids: [m, e],
        };
      },
    ],
  ];
  for (let i = 0; i < perClass; i++) for (const [name, make] of cls) out.push({ ...make(), cls: name });
  return out;
}
