// One fake provider server on 127.0.0.1 for liveness, revocation and full-loop tests. It issues keys
// in each provider's real format (checksums included, generated at test time), answers the
// liveness and self-revocation endpoints the way the providers document them (statuses and bodies:
// Slack's HTTP 200 `"ok": false`, AWS STS's XML errors after verifying the SigV4 signature), revokes
// on request, and can be told to fail (5xx, hang, 429 + Retry-After, garbage, redirects).
//
// Each provider lives under its own path prefix (`/github`, `/hugging_face`, `/shopify/<shop>`), so
// `fake.env()` is the KEYWARDEN_PROVIDER_<NAME>_BASE_URL record that points keywarden at it.
//
// In-process API (tests):
//   const fake = await FakeProvider.start();
//   const key = fake.issue('github-pat');          // { ruleId, provider, secret, parts }
//   runner = createLivenessRunner({ baseUrls: resolveProviderBaseUrls(fake.env()) });
//   fake.revoke(key.secret);                        // as if the owner revoked it
//   fake.fail('GITHUB', { kind: 'status', status: 500 }, { times: 2 });
//   await fake.stop();
// HTTP control API (another process: a rotation receiver, a demo script), JSON in and out:
//   POST   /_fake/keys    {"kind": "github-pat", "variant"?: "..."}  -> 201 FakeKey
//   POST   /_fake/revoke  {"secret": "..."}                          -> 204 (404 when unknown)
//   POST   /_fake/fail    {"provider": "GITHUB" | "*", "failure": FakeFailure, "times"?: n} -> 204
//   DELETE /_fake/fail                                              -> 204
//   GET    /_fake/env                                               -> 200 { KEYWARDEN_PROVIDER_..._BASE_URL: url }
//   GET    /_fake/keys/live?secret=...                              -> 200 {"live": bool}
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { builtinRules } from '../../rules/builtin.js';
import { expandTemplate } from '../../rules/examples.js';
import type { ChecksumName, Rule } from '../../rules/schema.js';

/** A key as a rule sees it: the secret the rule matches and the parts its liveness check declares. */
export interface FakeKey {
  ruleId: string;
  /** NAME of the provider (KEYWARDEN_PROVIDER_<NAME>_BASE_URL). */
  provider: string;
  secret: string;
  parts: Record<string, string>;
}

/** How a provider should misbehave. */
export type FakeFailure =
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Accept the request and never answer (the client's timeout must fire). */
  | { kind: 'hang' }
  | { kind: 'rate-limit'; retryAfterSeconds?: number; status?: 429 | 403 }
  /** 200 with a body that is not what the provider sends (truncated JSON, an HTML login page). */
  | { kind: 'garbage'; body?: string }
  | { kind: 'redirect'; location: string; status?: 301 | 302 | 307 | 308 };

export interface FailOptions {
  /** Fail this many requests, then answer normally again. @defaultValue until clearFailures() */
  times?: number;
}

/** What the fake saw (no header values, no query, no body: nothing that holds a key). */
export interface ReceivedRequest {
  provider: string;
  method: string;
  path: string;
  at: number;
}

/** One credential behind one or more rule views (an AWS key id and its secret are one credential). */
interface Credential {
  kind: string;
  provider: string;
  fields: Record<string, string>;
  live: boolean;
  /** Temporary credentials whose session ended (AWS ExpiredToken). */
  expired: boolean;
}

interface FakeRequest {
  method: string;
  /** Path after the provider prefix, without the query. */
  path: string;
  /** Full path as received (SigV4 signs it). */
  rawPath: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string | object;
}

type Rng = () => number;

const rngDefault: Rng = () => randomBytes(4).readUInt32LE() / 2 ** 32;

function gen(template: string, rng: Rng, checksum?: ChecksumName): string {
  const ex = expandTemplate(`«${template}»`, { rng, checksum });
  return ex.secret!;
}

function header(req: FakeRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function bearer(req: FakeRequest, schemes: readonly string[] = ['bearer']): string | undefined {
  const v = header(req, 'authorization');
  if (!v) return undefined;
  const sp = v.indexOf(' ');
  if (sp < 0) return undefined;
  return schemes.includes(v.slice(0, sp).toLowerCase()) ? v.slice(sp + 1).trim() : undefined;
}

function basic(req: FakeRequest): { user: string; pass: string } | undefined {
  const token = bearer(req, ['basic']);
  if (!token) return undefined;
  const text = Buffer.from(token, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : { user: text.slice(0, i), pass: text.slice(i + 1) };
}

function json(status: number, body: object, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body };
}

function text(status: number, body: string, contentType = 'text/plain; charset=utf-8'): Answer {
  return { status, headers: { 'content-type': contentType }, body };
}

function formOrJson(req: FakeRequest): Record<string, unknown> {
  const ct = header(req, 'content-type') ?? '';
  if (ct.includes('json')) {
    try {
      return JSON.parse(req.body) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(req.body));
}

function same(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** How each rule's keys are made: the credential fields and the view the rule gets. */
interface Made {
  fields: Record<string, string>;
  key: { secret: string; parts: Record<string, string> };
}

interface KindSpec {
  provider: string;
  make(rng: Rng, variant: string | undefined, fake: FakeProvider): Made;
}

function single(provider: string, template: string, checksum?: ChecksumName): KindSpec {
  return {
    provider,
    make(rng) {
      const token = gen(template, rng, checksum);
      return { fields: { token }, key: { secret: token, parts: {} } };
    },
  };
}

/** `pair`: the secret access key with its key id as `accessKeyId` (rule aws-access-key-pair). */
function awsPair(view: 'id' | 'secret' | 'pair', temporary: boolean): KindSpec {
  return {
    provider: 'AWS',
    make(rng) {
      const keyId = gen(`${temporary ? 'ASIA' : 'AKIA'}{base32:16}`, rng);
      const secretKey = gen('{base64:40}', rng);
      const fields: Record<string, string> = { keyId, secretKey };
      if (temporary) fields.sessionToken = gen('IQoJb3JpZ2luX2Vj{base64:300}', rng);
      const parts: Record<string, string> =
        view === 'id' ? { secret: secretKey } : view === 'pair' ? { accessKeyId: keyId } : { id: keyId };
      if (temporary) parts.sessionToken = fields.sessionToken!;
      return { fields, key: { secret: view === 'id' ? keyId : secretKey, parts } };
    },
  };
}

const twilio: KindSpec = {
  provider: 'TWILIO',
  make(rng, variant): Made {
    const accountSid = gen('AC{hex:32}', rng);
    if (variant === 'api-key') {
      const keySid = gen('SK{hex:32}', rng);
      const secret = gen('{base62:32}', rng);
      return { fields: { accountSid, keySid, token: secret }, key: { secret, parts: { id: keySid, accountSid } } };
    }
    const token = gen('{hex:32}', rng);
    return { fields: { accountSid, token }, key: { secret: token, parts: { id: accountSid } } };
  },
};

const KINDS: Record<string, KindSpec> = {
  'github-pat': single('GITHUB', 'ghp_{base62:30}{checksum}', 'github-crc32'),
  'github-oauth-token': single('GITHUB', 'gho_{base62:30}{checksum}', 'github-crc32'),
  'github-app-user-token': single('GITHUB', 'ghu_{base62:30}{checksum}', 'github-crc32'),
  'github-app-installation-token': single('GITHUB', 'ghs_{base62:30}{checksum}', 'github-crc32'),
  'github-refresh-token': single('GITHUB', 'ghr_{base62:70}{checksum}', 'github-crc32'),
  'github-fine-grained-pat': single('GITHUB', 'github_pat_{base62:22}_{base62:59}'),
  'gitlab-pat': single('GITLAB', 'glpat-{base62:20}'),
  'gitlab-runner-token': single('GITLAB', 'glrt-{base62:20}'),
  'slack-bot-token': single('SLACK', 'xoxb-{digits:12}-{digits:13}-{base62:24}'),
  'slack-user-token': single('SLACK', 'xoxp-{digits:12}-{digits:12}-{digits:13}-{hex:32}'),
  'slack-app-token': single('SLACK', 'xapp-1-A{upperdigits:10}-{digits:13}-{hex:64}'),
  'stripe-secret-key': single('STRIPE', 'sk_test_{base62:99}'),
  'stripe-restricted-key': single('STRIPE', 'rk_test_{base62:99}'),
  'openai-project-key': single('OPENAI', 'sk-proj-{base64url:74}T3BlbkFJ{base64url:74}'),
  'openai-legacy-key': single('OPENAI', 'sk-{base62:20}T3BlbkFJ{base62:20}'),
  'openai-admin-key': single('OPENAI', 'sk-admin-{base64url:58}T3BlbkFJ{base64url:58}'),
  'anthropic-api-key': single('ANTHROPIC', 'sk-ant-api03-{base64url:93}AA'),
  'anthropic-admin-key': single('ANTHROPIC', 'sk-ant-admin01-{base64url:93}AA'),
  'npm-access-token': single('NPM', 'npm_{base62:30}{checksum}', 'npm-crc32'),
  'sendgrid-api-key': single('SENDGRID', 'SG.{base64url:22}.{base64url:43}'),
  'huggingface-access-token': single('HUGGING_FACE', 'hf_{letters:34}'),
  'huggingface-org-token': single('HUGGING_FACE', 'api_org_{letters:34}'),
  'digitalocean-personal-access-token': single('DIGITALOCEAN', 'dop_v1_{hex:64}'),
  'digitalocean-oauth-token': single('DIGITALOCEAN', 'doo_v1_{hex:64}'),
  'twilio-auth-token': twilio,
  'twilio-basic-auth': twilio,
  'mailgun-api-key': single('MAILGUN', 'key-{hex:32}'),
  'mailgun-private-key-v2': single('MAILGUN', '{hex:32}-{hex:8}-{hex:8}'),
  'shopify-access-token': {
    provider: 'SHOPIFY',
    make(rng) {
      const token = gen('shpat_{hex:32}', rng);
      const shop = `shop-${gen('{lowerdigits:8}', rng)}`;
      return { fields: { token, shop }, key: { secret: token, parts: { shop } } };
    },
  },
  'datadog-api-key': single('DATADOG', '{hex:32}'),
  'datadog-application-key': {
    provider: 'DATADOG',
    make(rng, _variant, fake) {
      const apiKey = fake.issue('datadog-api-key', { rng }).secret;
      const token = gen('{hex:40}', rng);
      return { fields: { token, apiKey }, key: { secret: token, parts: { apiKey } } };
    },
  },
  'linear-api-key': single('LINEAR', 'lin_api_{base62:40}'),
  'linear-oauth-token': single('LINEAR', 'lin_oauth_{hex:64}'),
  'postman-api-key': single('POSTMAN', 'PMAK-{hex:24}-{hex:34}'),
  'pypi-api-token': single('PYPI', 'pypi-AgEIcHlwaS5vcmc{base64url:160}'),
  'heroku-api-key': single('HEROKU', 'HRKU-AA{base64url:58}'),
  'heroku-legacy-api-key': single('HEROKU', '{uuid}'),
  'cloudflare-api-token': {
    provider: 'CLOUDFLARE',
    make(rng, variant): Made {
      if (variant === 'account') {
        const token = gen('cfat_{base62:40}{checksum}', rng, 'cloudflare-crc32');
        const accountId = gen('{hex:32}', rng);
        return { fields: { token, accountId }, key: { secret: token, parts: { accountId } } };
      }
      if (variant === 'global') {
        const token = gen('cfk_{base62:40}{checksum}', rng, 'cloudflare-crc32');
        const email = `owner-${gen('{lowerdigits:6}', rng)}@example.com`;
        return { fields: { token, email }, key: { secret: token, parts: { email } } };
      }
      const token = gen('cfut_{base62:40}{checksum}', rng, 'cloudflare-crc32');
      return { fields: { token }, key: { secret: token, parts: {} } };
    },
  },
  'aws-access-key-id': awsPair('id', false),
  'aws-sts-access-key-id': awsPair('id', true),
  'aws-secret-access-key': awsPair('secret', false),
  'aws-access-key-pair': awsPair('pair', false),
};

/** Variants a kind can be issued in (`issue(kind, { variant })`), for tests that cover each. */
export const FAKE_VARIANTS: Readonly<Record<string, readonly string[]>> = {
  'twilio-auth-token': ['auth-token', 'api-key'],
  'twilio-basic-auth': ['auth-token', 'api-key'],
  'cloudflare-api-token': ['user', 'account', 'global'],
};

/** Providers whose checks came with the earlier pack: one simple route each (see EXTRA_ROUTES). */
interface ExtraRoute {
  provider: string;
  method: string;
  /** Path after the prefix; `{token}` where the token sits in the path (Telegram). */
  path: string;
  /** Where the key is read: a header (with an optional scheme), a query parameter, or the path. */
  from:
    | { header: string; scheme?: string; value?: string }
    | { query: string }
    | { path: true }
    | { basicPassword: true }
    | { form: string };
  live: Answer;
  dead: Answer;
  /** Parts to generate and require in the path (`tenant`, `org`, `dc`...). */
  parts?: Record<string, string>;
}

const ok = (body: object = { ok: true }) => json(200, body);
const unauthorized = (body: object = { error: 'unauthorized' }) => json(401, body);
const EXTRA_ROUTES: Record<string, ExtraRoute> = {
  'groq-api-key': {
    provider: 'GROQ',
    method: 'GET',
    path: '/openai/v1/models',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ object: 'list', data: [] }),
    dead: unauthorized({ error: { code: 'invalid_api_key' } }),
  },
  'replicate-api-token': {
    provider: 'REPLICATE',
    method: 'GET',
    path: '/v1/account',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ type: 'user' }),
    dead: unauthorized({ detail: 'Invalid token.' }),
  },
  'xai-api-key': {
    provider: 'XAI',
    method: 'GET',
    path: '/v1/api-key',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ api_key_blocked: false }),
    dead: json(400, { code: 'Client specified an invalid argument' }),
  },
  'cohere-api-key': {
    provider: 'COHERE',
    method: 'POST',
    path: '/v1/check-api-key',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ valid: true }),
    dead: unauthorized({ message: 'invalid api token' }),
  },
  'mistral-api-key': {
    provider: 'MISTRAL_AI',
    method: 'GET',
    path: '/v1/models',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ object: 'list', data: [] }),
    dead: unauthorized({ message: 'Unauthorized' }),
  },
  'deepseek-api-key': {
    provider: 'DEEPSEEK',
    method: 'GET',
    path: '/user/balance',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ is_available: true }),
    dead: unauthorized({ error: { code: 'invalid_request_error' } }),
  },
  'google-api-key': {
    provider: 'GOOGLE_CLOUD',
    method: 'GET',
    path: '/v1beta/models',
    from: { query: 'key' },
    live: ok({ models: [] }),
    dead: json(400, { error: { status: 'INVALID_ARGUMENT' } }),
  },
  'google-oauth-access-token': {
    provider: 'GOOGLE',
    method: 'GET',
    path: '/oauth2/v3/tokeninfo',
    from: { query: 'access_token' },
    live: ok({ scope: 'openid' }),
    dead: json(400, { error: 'invalid_token' }),
  },
  'azure-entra-client-secret': {
    provider: 'MICROSOFT_AZURE',
    method: 'POST',
    path: '/{tenant}/oauth2/v2.0/token',
    from: { form: 'client_secret' },
    parts: { tenant: '{lowerdigits:8}.onmicrosoft.com', clientId: '{uuid}' },
    live: ok({ token_type: 'Bearer', access_token: 'x' }),
    dead: unauthorized({ error: 'invalid_client' }),
  },
  'databricks-access-token': {
    provider: 'DATABRICKS',
    method: 'GET',
    path: '/api/2.0/clusters/list',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ clusters: [] }),
    dead: unauthorized({ error_code: 'PERMISSION_DENIED' }),
  },
  'vercel-access-token': {
    provider: 'VERCEL',
    method: 'GET',
    path: '/v2/user',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ user: { id: 'u' } }),
    dead: json(403, { error: { code: 'forbidden' } }),
  },
  'netlify-access-token': {
    provider: 'NETLIFY',
    method: 'GET',
    path: '/api/v1/user',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ id: 'u' }),
    dead: unauthorized({ code: 401 }),
  },
  'flyio-macaroon-token': {
    provider: 'FLY_IO',
    method: 'POST',
    path: '/graphql',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ data: { viewer: { id: 'u' } } }),
    dead: unauthorized({ errors: [] }),
  },
  'vault-service-token': {
    provider: 'HASHICORP_VAULT',
    method: 'GET',
    path: '/v1/auth/token/lookup-self',
    from: { header: 'x-vault-token' },
    live: ok({ data: { ttl: 3600 } }),
    dead: json(403, { errors: ['permission denied'] }),
  },
  'terraform-cloud-api-token': {
    provider: 'HASHICORP_TERRAFORM',
    method: 'GET',
    path: '/api/v2/account/details',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ data: { id: 'user-1' } }),
    dead: unauthorized({ errors: [{ status: '401' }] }),
  },
  'pulumi-access-token': {
    provider: 'PULUMI',
    method: 'GET',
    path: '/api/user',
    from: { header: 'authorization', scheme: 'token' },
    live: ok({ githubLogin: 'u' }),
    dead: unauthorized({ code: 401 }),
  },
  'doppler-token': {
    provider: 'DOPPLER',
    method: 'GET',
    path: '/v3/me',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ success: true }),
    dead: unauthorized({ success: false }),
  },
  'supabase-access-token': {
    provider: 'SUPABASE',
    method: 'GET',
    path: '/v1/projects',
    from: { header: 'authorization', scheme: 'bearer' },
    live: json(200, []),
    dead: unauthorized({ message: 'Unauthorized' }),
  },
  'render-api-key': {
    provider: 'RENDER',
    method: 'GET',
    path: '/v1/owners',
    from: { header: 'authorization', scheme: 'bearer' },
    live: json(200, []),
    dead: unauthorized({ message: 'unauthorized' }),
  },
  'hetzner-cloud-api-token': {
    provider: 'HETZNER',
    method: 'GET',
    path: '/v1/servers',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ servers: [] }),
    dead: unauthorized({ error: { code: 'unauthorized' } }),
  },
  'buildkite-agent-or-api-token': {
    provider: 'BUILDKITE',
    method: 'GET',
    path: '/v2/access-token',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ uuid: 'u' }),
    dead: unauthorized({ message: 'Authentication required.' }),
  },
  'circleci-personal-token': {
    provider: 'CIRCLECI',
    method: 'GET',
    path: '/api/v2/me',
    from: { header: 'circle-token' },
    live: ok({ id: 'u' }),
    dead: unauthorized({ message: 'You must log in first.' }),
  },
  'sonarqube-token': {
    provider: 'SONARSOURCE',
    method: 'GET',
    path: '/api/authentication/validate',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ valid: true }),
    dead: ok({ valid: false }),
  },
  'discord-bot-token': {
    provider: 'DISCORD',
    method: 'GET',
    path: '/api/v10/users/@me',
    from: { header: 'authorization', scheme: 'bot' },
    live: ok({ id: '1', bot: true }),
    dead: unauthorized({ message: '401: Unauthorized', code: 0 }),
  },
  'telegram-bot-token': {
    provider: 'TELEGRAM',
    method: 'GET',
    path: '/bot{token}/getMe',
    from: { path: true },
    live: ok({ ok: true, result: { is_bot: true } }),
    dead: unauthorized({ ok: false, error_code: 401, description: 'Unauthorized' }),
  },
  'mailchimp-api-key': {
    provider: 'MAILCHIMP',
    method: 'GET',
    path: '/3.0/ping',
    from: { basicPassword: true },
    parts: { dc: 'us{digits:2}' },
    live: ok({ health_status: "Everything's Chimpy!" }),
    dead: unauthorized({ title: 'API Key Invalid' }),
  },
  'brevo-api-key': {
    provider: 'BREVO',
    method: 'GET',
    path: '/v3/account',
    from: { header: 'api-key' },
    live: ok({ email: 'x@example.com' }),
    dead: unauthorized({ code: 'unauthorized' }),
  },
  'newrelic-user-api-key': {
    provider: 'NEW_RELIC',
    method: 'GET',
    path: '/v2/users.json',
    from: { header: 'api-key' },
    live: ok({ users: [] }),
    dead: unauthorized({ error: { title: 'Invalid API key' } }),
  },
  'sentry-user-token': {
    provider: 'SENTRY',
    method: 'GET',
    path: '/api/0/',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ version: '0' }),
    dead: unauthorized({ detail: 'Invalid token' }),
  },
  'grafana-cloud-token': {
    provider: 'GRAFANA',
    method: 'GET',
    path: '/api/stack-regions',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ items: [] }),
    dead: unauthorized({ code: 'InvalidCredentials' }),
  },
  'honeycomb-configuration-key': {
    provider: 'HONEYCOMB',
    method: 'GET',
    path: '/1/auth',
    from: { header: 'x-honeycomb-team' },
    live: ok({ id: 'k' }),
    dead: unauthorized({ error: 'unknown API key - check your credentials' }),
  },
  'pagerduty-api-key': {
    provider: 'PAGERDUTY',
    method: 'GET',
    path: '/abilities',
    from: { header: 'authorization', scheme: 'token', value: 'token=' },
    live: ok({ abilities: [] }),
    dead: unauthorized({ error: { code: 2006 } }),
  },
  'square-access-token': {
    provider: 'SQUARE',
    method: 'GET',
    path: '/v2/merchants',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ merchant: [] }),
    dead: unauthorized({ errors: [{ code: 'UNAUTHORIZED' }] }),
  },
  'paypal-client-secret': {
    provider: 'PAYPAL',
    method: 'POST',
    path: '/v1/oauth2/token',
    from: { basicPassword: true },
    parts: { clientId: '{base64url:40}' },
    live: ok({ access_token: 'x', token_type: 'Bearer' }),
    dead: unauthorized({ error: 'invalid_client' }),
  },
  'crates-io-api-token': {
    provider: 'CRATES_IO',
    method: 'GET',
    path: '/api/v1/me',
    from: { header: 'authorization' },
    live: ok({ user: { id: 1 } }),
    dead: json(403, { errors: [{ detail: 'must be logged in' }] }),
  },
  'notion-integration-token': {
    provider: 'NOTION',
    method: 'GET',
    path: '/v1/users/me',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ object: 'user' }),
    dead: unauthorized({ code: 'unauthorized' }),
  },
  'airtable-personal-access-token': {
    provider: 'AIRTABLE',
    method: 'GET',
    path: '/v0/meta/whoami',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ id: 'usr' }),
    dead: unauthorized({ error: { type: 'AUTHENTICATION_REQUIRED' } }),
  },
  'mapbox-secret-token': {
    provider: 'MAPBOX',
    method: 'GET',
    path: '/tokens/v2',
    from: { query: 'access_token' },
    live: ok({ code: 'TokenValid' }),
    dead: unauthorized({ code: 'TokenInvalid' }),
  },
  'dropbox-access-token': {
    provider: 'DROPBOX',
    method: 'POST',
    path: '/2/users/get_current_account',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ account_id: 'dbid' }),
    dead: unauthorized({ error_summary: 'invalid_access_token/' }),
  },
  'figma-personal-access-token': {
    provider: 'FIGMA',
    method: 'GET',
    path: '/v1/me',
    from: { header: 'x-figma-token' },
    live: ok({ id: 'u' }),
    dead: json(403, { status: 403, err: 'Invalid token' }),
  },
  'hubspot-private-app-token': {
    provider: 'HUBSPOT',
    method: 'GET',
    path: '/account-info/v3/details',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ portalId: 1 }),
    dead: unauthorized({ category: 'INVALID_AUTHENTICATION' }),
  },
  'intercom-access-token': {
    provider: 'INTERCOM',
    method: 'GET',
    path: '/me',
    from: { header: 'authorization', scheme: 'bearer' },
    live: ok({ type: 'admin' }),
    dead: unauthorized({ type: 'error.list', errors: [{ code: 'unauthorized' }] }),
  },
  'okta-api-token': {
    provider: 'OKTA',
    method: 'GET',
    path: '/api/v1/users/me',
    from: { header: 'authorization', scheme: 'ssws' },
    parts: { org: 'dev-{digits:8}' },
    live: ok({ id: 'u', status: 'ACTIVE' }),
    dead: unauthorized({ errorCode: 'E0000011' }),
  },
};

/** Base-URL templates whose host carries a part: the fake puts the part in the path instead. */
const PART_PREFIX: Record<string, string> = { SHOPIFY: 'shop', MAILCHIMP: 'dc', OKTA: 'org' };

function awsXml(code: string, message: string): Answer {
  const body = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>${code}</Code>
    <Message>${message}</Message>
  </Error>
  <RequestId>${randomUUID()}</RequestId>
</ErrorResponse>
`;
  return text(code === 'ExpiredToken' ? 400 : 403, body, 'text/xml');
}

/** Parses `AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/<service>/aws4_request, SignedHeaders=..., Signature=...`. */
function parseSigV4(auth: string | undefined) {
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth ?? '',
    );
  return m ? { keyId: m[1]!, region: m[3]!, service: m[4]!, signedHeaders: m[5]!.split(';'), signature: m[6]! } : null;
}

export class FakeProvider {
  private server: Server | null = null;
  private readonly creds = new Map<string, Credential>();
  private readonly failures = new Map<string, { failure: FakeFailure; remaining: number }>();
  /** Built-in rules by id, loaded on first use (only the carried-over providers need their examples). */
  private rules: Map<string, Rule> | null = null;
  private readonly hanging = new Set<ServerResponse>();
  /** Every request, in arrival order (no header values, query or body). */
  readonly requests: ReceivedRequest[] = [];
  port = 0;

  private constructor() {}

  static async start(opts: { port?: number } = {}): Promise<FakeProvider> {
    const fake = new FakeProvider();
    // Key formats for the routes without a hand-written maker come from the rule pack's templates.
    fake.rules = new Map((await builtinRules()).map((r) => [r.id, r]));
    await fake.listen(opts.port ?? 0);
    return fake;
  }

  private async listen(port: number): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake provider bug: ${err instanceof Error ? err.message : String(err)}`);
      });
    });
    this.server.keepAliveTimeout = 1000;
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    for (const res of this.hanging) res.destroy();
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Every rule id the fake issues keys for. */
  kinds(): string[] {
    return [...Object.keys(KINDS), ...Object.keys(EXTRA_ROUTES)];
  }

  /** Every provider NAME it fakes. */
  providers(): string[] {
    return [
      ...new Set([...Object.values(KINDS).map((k) => k.provider), ...Object.values(EXTRA_ROUTES).map((r) => r.provider)]),
    ].sort();
  }

  /** The base URL of one provider at this fake (`{{parts.shop}}` kept where the real one has it). */
  baseUrl(provider: string): string {
    const prefix = `${this.url}/${provider.toLowerCase()}`;
    const part = PART_PREFIX[provider];
    return part ? `${prefix}/{{parts.${part}}}` : prefix;
  }

  /** KEYWARDEN_PROVIDER_<NAME>_BASE_URL for every faked provider: pass to resolveProviderBaseUrls. */
  env(): Record<string, string> {
    return Object.fromEntries(this.providers().map((p) => [`KEYWARDEN_PROVIDER_${p}_BASE_URL`, this.baseUrl(p)]));
  }

  /** Issues a live key for a rule, in that rule's format. */
  issue(kind: string, opts: { variant?: string; rng?: Rng } = {}): FakeKey {
    const rng = opts.rng ?? rngDefault;
    const spec = KINDS[kind];
    if (spec) {
      const { fields, key } = spec.make(rng, opts.variant, this);
      this.store({ kind, provider: spec.provider, fields, live: true, expired: false });
      return { ruleId: kind, provider: spec.provider, ...key };
    }
    const extra = EXTRA_ROUTES[kind];
    if (!extra) throw new Error(`fake provider issues no ${kind} keys`);
    const rule = this.rules?.get(kind);
    const template = rule?.examples[0];
    if (!rule || !template) throw new Error(`no rule ${kind} to take a key format from`);
    const secret = expandTemplate(template, { rng, checksum: rule.checksum }).secret!;
    const parts = Object.fromEntries(Object.entries(extra.parts ?? {}).map(([k, t]) => [k, gen(t, rng)]));
    this.store({ kind, provider: extra.provider, fields: { token: secret, ...parts }, live: true, expired: false });
    return { ruleId: kind, provider: extra.provider, secret, parts };
  }

  private store(cred: Credential): void {
    // Index by every credential-ish field, so revoking either half of a pair finds it.
    for (const [name, v] of Object.entries(cred.fields)) {
      if (!['shop', 'email', 'accountSid', 'accountId', 'apiKey', 'tenant', 'clientId', 'dc', 'org'].includes(name))
        this.creds.set(v, cred);
    }
  }

  private find(value: string | undefined, kinds?: readonly string[]): Credential | undefined {
    if (value === undefined) return undefined;
    const c = this.creds.get(value);
    return c && (!kinds || kinds.includes(c.kind)) ? c : undefined;
  }

  private liveToken(value: string | undefined, kinds: readonly string[]): Credential | undefined {
    const c = this.find(value, kinds);
    return c?.live && c.fields.token === value ? c : undefined;
  }

  /** Revokes a key (any of its secrets) as its owner would; `expire` ends an AWS session instead. */
  revoke(secret: string, opts: { expire?: boolean } = {}): boolean {
    const c = this.creds.get(secret);
    if (!c) return false;
    if (opts.expire) c.expired = true;
    else c.live = false;
    return true;
  }

  isLive(secret: string): boolean {
    const c = this.creds.get(secret);
    return c?.live === true && !c.expired;
  }

  /** Makes a provider (or every one, `*`) misbehave, for `times` requests or until clearFailures(). */
  fail(provider: string, failure: FakeFailure, opts: FailOptions = {}): void {
    this.failures.set(provider, { failure, remaining: opts.times ?? Number.POSITIVE_INFINITY });
  }

  clearFailures(): void {
    this.failures.clear();
  }

  private takeFailure(provider: string): FakeFailure | undefined {
    for (const key of [provider, '*']) {
      const f = this.failures.get(key);
      if (f && f.remaining > 0) {
        f.remaining--;
        return f.failure;
      }
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > 1 << 20) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(c);
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://fake');
    const segs = u.pathname.split('/');
    const prefix = segs[1] ?? '';
    if (prefix === '_fake')
      return this.send(res, this.control(req.method ?? 'GET', segs.slice(2).join('/'), u.searchParams, body));
    const provider = prefix.toUpperCase();
    const rest = `/${segs.slice(2).join('/')}`;
    this.requests.push({ provider, method: req.method ?? 'GET', path: u.pathname, at: Date.now() });
    const fr: FakeRequest = {
      method: req.method ?? 'GET',
      path: rest,
      rawPath: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      body,
    };
    const failure = this.takeFailure(provider);
    if (failure) {
      const answer = this.misbehave(res, failure);
      if (answer) this.send(res, answer);
      return;
    }
    this.send(res, await this.route(provider, fr));
  }

  /** The answer a failure gives, or null for a hang (the request is held until the client gives up). */
  private misbehave(res: ServerResponse, f: FakeFailure): Answer | null {
    switch (f.kind) {
      case 'status':
        return {
          status: f.status,
          headers: { 'content-type': 'application/json', ...(f.headers ?? {}) },
          body: f.body ?? JSON.stringify({ message: 'Internal Server Error' }),
        };
      case 'hang':
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return null;
      case 'rate-limit':
        return json(
          f.status ?? 429,
          { message: 'rate limited' },
          { 'retry-after': String(f.retryAfterSeconds ?? 30), ...(f.status === 403 ? { 'x-ratelimit-remaining': '0' } : {}) },
        );
      case 'garbage':
        return text(200, f.body ?? '<html><body>Sign in to continue</body></html>', 'text/html');
      case 'redirect':
        return { status: f.status ?? 302, headers: { location: f.location }, body: '' };
    }
  }

  private send(res: ServerResponse, a: Answer): void {
    const body = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
    res.writeHead(a.status, { ...(a.headers ?? {}), 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private control(method: string, path: string, query: URLSearchParams, body: string): Answer {
    let input: Record<string, unknown> = {};
    try {
      input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    } catch {
      return json(400, { error: 'body is not JSON' });
    }
    if (method === 'POST' && path === 'keys') {
      try {
        const variant = typeof input.variant === 'string' ? input.variant : undefined;
        return json(201, this.issue(String(input.kind), variant ? { variant } : {}));
      } catch (err) {
        return json(400, { error: err instanceof Error ? err.message : String(err) });
      }
    }
    if (method === 'GET' && path === 'keys/live') return json(200, { live: this.isLive(query.get('secret') ?? '') });
    if (method === 'POST' && path === 'revoke')
      return this.revoke(String(input.secret), { expire: input.expire === true })
        ? { status: 204 }
        : json(404, { error: 'unknown key' });
    if (method === 'POST' && path === 'fail') {
      this.fail(
        String(input.provider ?? '*'),
        input.failure as FakeFailure,
        typeof input.times === 'number' ? { times: input.times } : {},
      );
      return { status: 204 };
    }
    if (method === 'DELETE' && path === 'fail') {
      this.clearFailures();
      return { status: 204 };
    }
    if (method === 'GET' && path === 'env') return json(200, this.env());
    return json(404, { error: 'no such control route' });
  }

  private async route(provider: string, r: FakeRequest): Promise<Answer> {
    const at = (method: string, path: string) => r.method === method && r.path === path;
    switch (provider) {
      case 'GITHUB':
        return this.github(r, at);
      case 'GITLAB': {
        if (r.path === '/personal_access_tokens/self' && (r.method === 'GET' || r.method === 'DELETE')) {
          const c = this.liveToken(header(r, 'private-token'), ['gitlab-pat']);
          if (!c) return json(401, { message: '401 Unauthorized' });
          if (r.method === 'DELETE') {
            c.live = false;
            return { status: 204 };
          }
          return json(200, { id: 1, name: 'ci', revoked: false, active: true, scopes: ['api'], user_id: 1, expires_at: null });
        }
        if (at('POST', '/runners/verify')) {
          const token = formOrJson(r).token;
          return this.liveToken(typeof token === 'string' ? token : undefined, ['gitlab-runner-token'])
            ? json(200, { id: 1, token, token_expires_at: null })
            : json(403, { message: '403 Forbidden' });
        }
        return json(404, { message: '404 Not Found' });
      }
      case 'SLACK': {
        const token = bearer(r) ?? (formOrJson(r).token as string | undefined);
        const kinds = ['slack-bot-token', 'slack-user-token', 'slack-app-token'];
        if (at('POST', '/auth.test') || at('POST', '/auth.revoke')) {
          if (!token) return json(200, { ok: false, error: 'not_authed' });
          const c = this.find(token, kinds);
          if (!c) return json(200, { ok: false, error: 'invalid_auth' });
          if (!c.live) return json(200, { ok: false, error: 'token_revoked' });
          if (r.path === '/auth.revoke') {
            c.live = false;
            return json(200, { ok: true, revoked: true });
          }
          return json(200, {
            ok: true,
            url: 'https://example.slack.com/',
            team: 'Example',
            user: 'bot',
            team_id: 'T01234567',
            user_id: 'U01234567',
          });
        }
        return json(200, { ok: false, error: 'unknown_method' });
      }
      case 'STRIPE': {
        if (!at('GET', '/v1/account'))
          return json(404, { error: { type: 'invalid_request_error', message: 'Unrecognized request URL' } });
        const token = bearer(r) ?? basic(r)?.user;
        const c = this.liveToken(token, ['stripe-secret-key', 'stripe-restricted-key']);
        if (!c) return json(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_****' } });
        if (c.kind === 'stripe-restricted-key') {
          return json(403, {
            error: {
              type: 'invalid_request_error',
              message:
                "The provided key does not have the required permissions for this endpoint. Having the 'rak_accounts_kyc_basic_read' permission would allow this request to continue.",
            },
          });
        }
        return json(200, { id: 'acct_1Example', object: 'account' });
      }
      case 'OPENAI': {
        const c = this.liveToken(bearer(r), ['openai-project-key', 'openai-legacy-key', 'openai-admin-key']);
        const dead = json(401, {
          error: {
            message: 'Incorrect API key provided: sk-****.',
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        });
        if (at('GET', '/v1/models'))
          return c && c.kind !== 'openai-admin-key'
            ? json(200, { object: 'list', data: [{ id: 'gpt-4o', object: 'model' }] })
            : dead;
        if (at('GET', '/v1/organization/users'))
          return c?.kind === 'openai-admin-key' ? json(200, { object: 'list', data: [], has_more: false }) : dead;
        return json(404, { error: { message: 'Invalid URL', type: 'invalid_request_error' } });
      }
      case 'ANTHROPIC': {
        if (!header(r, 'anthropic-version'))
          return json(400, {
            type: 'error',
            error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' },
          });
        const c = this.liveToken(header(r, 'x-api-key'), ['anthropic-api-key', 'anthropic-admin-key']);
        const dead = json(401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
        if (at('GET', '/v1/models'))
          return c?.kind === 'anthropic-api-key' ? json(200, { data: [], has_more: false, first_id: null, last_id: null }) : dead;
        if (at('GET', '/v1/organizations/users'))
          return c?.kind === 'anthropic-admin-key' ? json(200, { data: [], has_more: false }) : dead;
        return json(404, { type: 'error', error: { type: 'not_found_error', message: 'Not found' } });
      }
      case 'NPM':
        if (!at('GET', '/-/whoami')) return json(404, { error: 'Not found' });
        return this.liveToken(bearer(r), ['npm-access-token'])
          ? json(200, { username: 'someone' })
          : json(401, { error: 'Unauthorized' });
      case 'SENDGRID':
        if (!at('GET', '/v3/scopes')) return json(404, { errors: [{ message: 'not found' }] });
        return this.liveToken(bearer(r), ['sendgrid-api-key'])
          ? json(200, { scopes: ['mail.send', 'scopes.read'] })
          : json(401, { errors: [{ field: null, message: 'authorization required' }] });
      case 'HUGGING_FACE':
        if (!at('GET', '/api/whoami-v2')) return json(404, { error: 'Not Found' });
        return this.liveToken(bearer(r), ['huggingface-access-token', 'huggingface-org-token'])
          ? json(200, { type: 'user', name: 'someone', auth: { type: 'access_token', accessToken: { role: 'read' } } })
          : json(401, { error: 'Invalid credentials in Authorization header' });
      case 'DIGITALOCEAN':
        if (!at('GET', '/v2/account'))
          return json(404, { id: 'not_found', message: 'The resource you were accessing could not be found.' });
        return this.liveToken(bearer(r), ['digitalocean-personal-access-token', 'digitalocean-oauth-token'])
          ? json(200, { account: { uuid: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef', status: 'active', email_verified: true } })
          : json(401, { id: 'Unauthorized', message: 'Unable to authenticate you' });
      case 'TWILIO':
        return this.twilio(r);
      case 'MAILGUN': {
        if (!at('GET', '/v3/domains')) return text(404, '404 page not found');
        const b = basic(r);
        return b?.user === 'api' && this.liveToken(b.pass, ['mailgun-private-key-v2', 'mailgun-api-key'])
          ? json(200, { total_count: 0, items: [] })
          : text(401, 'Forbidden');
      }
      case 'SHOPIFY': {
        const m = /^\/([a-z0-9-]+)(\/.*)$/.exec(r.path);
        if (!m || !(r.method === 'GET' && m[2] === '/admin/oauth/access_scopes.json')) return json(404, { errors: 'Not Found' });
        const c = this.liveToken(header(r, 'x-shopify-access-token'), ['shopify-access-token']);
        return c && c.fields.shop === m[1]
          ? json(200, { access_scopes: [{ handle: 'read_products' }] })
          : json(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
      }
      case 'DATADOG': {
        const forbidden = json(403, { errors: ['Forbidden'] });
        const apiKey = this.liveToken(header(r, 'dd-api-key'), ['datadog-api-key']);
        if (at('GET', '/api/v1/validate')) return apiKey ? json(200, { valid: true }) : forbidden;
        if (at('GET', '/api/v2/validate_keys')) {
          const app = this.liveToken(header(r, 'dd-application-key'), ['datadog-application-key']);
          return apiKey && app && app.fields.apiKey === header(r, 'dd-api-key') ? json(200, { status: 'ok' }) : forbidden;
        }
        return json(404, { errors: ['Not found'] });
      }
      case 'LINEAR': {
        if (!at('POST', '/graphql')) return json(404, { errors: [{ message: 'Not found' }] });
        const auth = header(r, 'authorization') ?? '';
        const c = auth.startsWith('Bearer ')
          ? this.liveToken(auth.slice(7), ['linear-oauth-token'])
          : this.liveToken(auth, ['linear-api-key']);
        if (!c) {
          return json(400, {
            errors: [
              {
                message: 'Authentication required, not authenticated',
                extensions: {
                  type: 'authentication error',
                  code: 'AUTHENTICATION_ERROR',
                  userPresentableMessage: 'You need to authenticate to access this operation.',
                },
              },
            ],
          });
        }
        return json(200, { data: { viewer: { id: randomUUID() } } });
      }
      case 'POSTMAN':
        if (!at('GET', '/me')) return json(404, { error: { name: 'notFound' } });
        return this.liveToken(header(r, 'x-api-key'), ['postman-api-key'])
          ? json(200, { user: { id: 12345678, username: 'someone' } })
          : json(401, {
              error: {
                name: 'AuthenticationError',
                message: 'Invalid API Key. Every request requires a valid API Key to be sent.',
              },
            });
      case 'PYPI': {
        if (!at('POST', '/legacy/')) return text(404, '404 Not Found');
        const b = basic(r);
        if (!(b?.user === '__token__' && this.liveToken(b.pass, ['pypi-api-token']))) {
          return text(
            403,
            '403 Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.',
          );
        }
        return text(
          400,
          "400 'name' is a required field. See https://packaging.python.org/specifications/core-metadata for more information.",
        );
      }
      case 'HEROKU':
        if (!at('GET', '/account')) return json(404, { id: 'not_found', message: 'The requested API endpoint was not found.' });
        if (!(header(r, 'accept') ?? '').includes('version=3'))
          return json(400, { id: 'bad_request', message: 'Please specify a version.' });
        return this.liveToken(bearer(r), ['heroku-api-key', 'heroku-legacy-api-key'])
          ? json(200, { id: randomUUID(), email: 'someone@example.com' })
          : json(401, { id: 'unauthorized', message: 'Invalid credentials provided.' });
      case 'CLOUDFLARE':
        return this.cloudflare(r);
      case 'AWS':
        return this.aws(r);
      default:
        return this.extra(provider, r);
    }
  }

  private github(r: FakeRequest, at: (m: string, p: string) => boolean): Answer {
    const bad = json(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    const token = bearer(r, ['bearer', 'token']);
    const userKinds = ['github-pat', 'github-oauth-token', 'github-app-user-token', 'github-fine-grained-pat'];
    if (at('POST', '/credentials/revoke')) {
      if (header(r, 'authorization')) return json(403, { message: 'Authenticated requests are not allowed', status: '403' });
      const list = formOrJson(r).credentials;
      if (!Array.isArray(list) || list.length === 0 || list.length > 1000)
        return json(422, { message: 'Validation Failed', status: '422' });
      for (const t of list) {
        const c = typeof t === 'string' ? this.find(t, [...userKinds, 'github-refresh-token']) : undefined;
        if (c && c.fields.token === t) c.live = false;
      }
      return json(202, {});
    }
    if (!token) return json(401, { message: 'Requires authentication', status: '401' });
    if (at('GET', '/user')) {
      if (this.liveToken(token, ['github-app-installation-token']))
        return json(403, { message: 'Resource not accessible by integration', status: '403' });
      return this.liveToken(token, userKinds) ? json(200, { login: 'octocat', id: 1, type: 'User' }) : bad;
    }
    if (at('GET', '/installation/repositories')) {
      return this.liveToken(token, ['github-app-installation-token']) ? json(200, { total_count: 0, repositories: [] }) : bad;
    }
    if (at('DELETE', '/installation/token')) {
      const c = this.liveToken(token, ['github-app-installation-token']);
      if (!c) return bad;
      c.live = false;
      return { status: 204 };
    }
    return json(404, { message: 'Not Found', status: '404' });
  }

  private twilio(r: FakeRequest): Answer {
    const denied = json(401, {
      code: 20003,
      message: 'Authenticate',
      more_info: 'https://www.twilio.com/docs/errors/20003',
      status: 401,
    });
    const b = basic(r);
    if (!b || r.method !== 'GET') return denied;
    const account = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\.json$/.exec(r.path);
    const calls = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Calls\.json$/.exec(r.path);
    const c = this.liveToken(b.pass, ['twilio-auth-token', 'twilio-basic-auth']);
    if (!c) return denied;
    const user = c.fields.keySid ?? c.fields.accountSid;
    if (user !== b.user) return denied;
    if (account) {
      // Standard API keys may not read the Accounts resource (Twilio API-keys doc).
      if (c.fields.keySid || account[1] !== c.fields.accountSid) return denied;
      return json(200, { sid: account[1], status: 'active', type: 'Full', friendly_name: 'Example' });
    }
    if (calls && calls[1] === c.fields.accountSid) return json(200, { calls: [], page: 0, page_size: 1 });
    return json(404, { code: 20404, message: 'The requested resource was not found', status: 404 });
  }

  private cloudflare(r: FakeRequest): Answer {
    const invalid = json(401, {
      success: false,
      errors: [{ code: 1000, message: 'Invalid API Token' }],
      messages: [],
      result: null,
    });
    const active = (id: string) =>
      json(200, {
        success: true,
        errors: [],
        messages: [{ code: 10000, message: 'This API Token is valid and active' }],
        result: { id, status: 'active' },
      });
    if (r.method === 'GET' && r.path === '/user/tokens/verify') {
      return this.liveToken(bearer(r), ['cloudflare-api-token']) && bearer(r)?.startsWith('cfut_')
        ? active(randomBytes(16).toString('hex'))
        : invalid;
    }
    const acct = /^\/accounts\/([0-9a-f]{32})\/tokens\/verify$/.exec(r.path);
    if (r.method === 'GET' && acct) {
      const c = this.liveToken(bearer(r), ['cloudflare-api-token']);
      return c && c.fields.accountId === acct[1] ? active(randomBytes(16).toString('hex')) : invalid;
    }
    if (r.method === 'GET' && r.path === '/user') {
      const c = this.liveToken(header(r, 'x-auth-key'), ['cloudflare-api-token']);
      return c && c.fields.email === header(r, 'x-auth-email')
        ? json(200, {
            success: true,
            errors: [],
            messages: [],
            result: { id: randomBytes(16).toString('hex'), email: c.fields.email },
          })
        : json(403, {
            success: false,
            errors: [{ code: 9103, message: 'Unknown X-Auth-Key or X-Auth-Email' }],
            messages: [],
            result: null,
          });
    }
    return json(404, { success: false, errors: [{ code: 7003, message: 'No route for the URI' }] });
  }

  /** STS GetCallerIdentity: verifies the SigV4 signature with the key's secret, as STS does. */
  private async aws(r: FakeRequest): Promise<Answer> {
    const sig = parseSigV4(header(r, 'authorization'));
    if (!sig) return awsXml('MissingAuthenticationToken', 'Request is missing Authentication Token');
    const c = this.find(sig.keyId, [
      'aws-access-key-id',
      'aws-sts-access-key-id',
      'aws-secret-access-key',
      'aws-access-key-pair',
    ]);
    if (!c?.live || c.fields.keyId !== sig.keyId)
      return awsXml('InvalidClientTokenId', 'The security token included in the request is invalid.');
    const headers: Record<string, string> = {};
    for (const name of sig.signedHeaders) {
      const v = header(r, name);
      if (v !== undefined) headers[name] = v;
    }
    const amzDate = headers['x-amz-date'] ?? '';
    const dm = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!dm) return awsXml('IncompleteSignature', 'Request must contain a valid X-Amz-Date');
    const signingDate = new Date(Date.UTC(+dm[1]!, +dm[2]! - 1, +dm[3]!, +dm[4]!, +dm[5]!, +dm[6]!));
    const signer = new SignatureV4({
      service: sig.service,
      region: sig.region,
      credentials: {
        accessKeyId: sig.keyId,
        secretAccessKey: c.fields.secretKey!,
        ...(headers['x-amz-security-token'] ? { sessionToken: headers['x-amz-security-token'] } : {}),
      },
      sha256: Sha256,
    });
    const query: Record<string, string> = Object.fromEntries(r.query);
    const resigned = await signer.sign(
      new HttpRequest({
        method: r.method,
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: r.rawPath,
        query,
        headers,
        body: r.body,
      }),
      { signingDate },
    );
    const expected = parseSigV4(resigned.headers.authorization)?.signature ?? '';
    if (!same(sig.signature, expected)) {
      return awsXml(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      );
    }
    if (c.fields.sessionToken !== undefined && headers['x-amz-security-token'] !== c.fields.sessionToken) {
      return awsXml('InvalidClientTokenId', 'The security token included in the request is invalid.');
    }
    if (c.expired) return awsXml('ExpiredToken', 'The security token included in the request is expired');
    const form = new URLSearchParams(r.body);
    if (form.get('Action') !== 'GetCallerIdentity') return awsXml('InvalidAction', 'Could not find operation');
    const account = '123456789012';
    return text(
      200,
      `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::${account}:user/ci</Arn>
    <UserId>AIDA${gen('{base32:16}', rngDefault)}</UserId>
    <Account>${account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`,
      'text/xml',
    );
  }

  /** The providers of EXTRA_ROUTES: one route each, the key read from where the check sends it. */
  private extra(provider: string, r: FakeRequest): Answer {
    for (const [kind, route] of Object.entries(EXTRA_ROUTES)) {
      if (route.provider !== provider || r.method !== route.method) continue;
      let path = r.path;
      // Providers whose real host carries a part: the fake has it as the first path segment.
      const partName = PART_PREFIX[provider];
      let hostPart: string | undefined;
      if (partName) {
        const m = /^\/([^/]+)(\/.*)$/.exec(path);
        if (!m) continue;
        hostPart = m[1];
        path = m[2]!;
      }
      let token: string | undefined;
      let matched = false;
      if ('path' in route.from) {
        const [before, after] = route.path.split('{token}') as [string, string];
        if (path.startsWith(before) && path.endsWith(after)) {
          token = decodeURIComponent(path.slice(before.length, path.length - after.length));
          matched = true;
        }
      } else if (route.path.includes('{tenant}')) {
        const m = new RegExp(`^${route.path.replace('{tenant}', '([^/]+)').replace(/\./g, '\\.')}$`).exec(path);
        matched = m !== null;
        hostPart = m?.[1];
      } else matched = path === route.path;
      if (!matched) continue;
      const f = route.from;
      if ('header' in f) {
        token = f.scheme ? bearer(r, [f.scheme]) : header(r, f.header);
        if (f.value && token) token = token.startsWith(f.value) ? token.slice(f.value.length) : undefined;
      } else if ('query' in f) token = r.query.get(f.query) ?? undefined;
      else if ('basicPassword' in f) token = basic(r)?.pass;
      else if ('form' in f) token = formOrJson(r)[f.form] as string | undefined;
      const c = this.liveToken(token, [kind]);
      const partOk = !c || hostPart === undefined || Object.values(c.fields).includes(hostPart);
      return c && partOk ? route.live : route.dead;
    }
    return json(404, { message: `fake provider: no route ${r.method} ${r.path} for ${provider}` });
  }
}
