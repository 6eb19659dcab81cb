// A secret in HashiCorp Vault's KV version 2 engine, read over Vault's HTTP API:
// `GET <address>/v1/<mount>/data/<path>` with `X-Vault-Token`, answering
// `{"data": {"data": {<field>: <value>, ...}, "metadata": {"version", ...}}}`.
// The token may come from a file (Vault Agent's sink, a projected token) and is re-read on every fetch.
import { readFile } from 'node:fs/promises';
import { type Duration, toMilliseconds } from '../duration.js';
import { networkReason } from '../http.js';
import { type SecretSourceObject, sourceError, stringField } from './types.js';

export interface VaultKvSourceOptions {
  /** Vault's base URL, e.g. `https://vault.internal:8200`. */
  address: string;
  /** The secret's path inside the mount, as in `vault kv get -mount=secret <path>`. */
  path: string;
  /** The KV v2 mount. @defaultValue `secret` */
  mount?: string;
  /** Which key of the secret's data. @defaultValue the only key, when the secret has exactly one */
  field?: string;
  /** A Vault token, or anything with a `value` (e.g. another rotatable secret). */
  token?: string | { readonly value: string };
  /** A file holding the token (Vault Agent's token sink), re-read on each fetch. */
  tokenFile?: string;
  /** Vault Enterprise namespace (`X-Vault-Namespace`). */
  namespace?: string;
  /** Per request. @defaultValue 10 s */
  timeout?: Duration;
}

export function vaultKvSource(opts: VaultKvSourceOptions): SecretSourceObject {
  if ((opts.token === undefined) === (opts.tokenFile === undefined)) {
    throw sourceError({ kind: 'vault-kv', location: opts.path }, 'give exactly one of token or tokenFile');
  }
  const mount = (opts.mount ?? 'secret').replace(/^\/+|\/+$/g, '');
  const path = opts.path.replace(/^\/+|\/+$/g, '');
  const segments = (s: string) => s.split('/').map(encodeURIComponent).join('/');
  const url = `${opts.address.replace(/\/+$/, '')}/v1/${segments(mount)}/data/${segments(path)}`;
  const self = { kind: 'vault-kv', location: `${mount}/${path}` };
  const timeoutMs = toMilliseconds(opts.timeout ?? 10_000, 'vaultKvSource timeout');

  async function token(): Promise<string> {
    if (opts.tokenFile !== undefined) {
      try {
        return (await readFile(opts.tokenFile, 'utf8')).trim();
      } catch (err) {
        throw sourceError(self, `cannot read tokenFile (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    const t = opts.token!;
    return typeof t === 'string' ? t : t.value;
  }

  return {
    ...self,
    async fetch(signal) {
      const headers: Record<string, string> = { 'X-Vault-Token': await token(), accept: 'application/json' };
      if (opts.namespace !== undefined) headers['X-Vault-Namespace'] = opts.namespace;
      let res: Response;
      try {
        res = await fetch(url, { headers, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
      } catch (err) {
        throw sourceError(self, `request to ${opts.address} failed (${networkReason(err)})`);
      }
      // The body of an error answer is not quoted: a proxy may echo request headers (the token).
      if (!res.ok) {
        await res.body?.cancel();
        throw sourceError(self, `Vault answered ${res.status}`);
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        throw sourceError(self, 'Vault answered with a body that is not JSON');
      }
      const data = (body as { data?: { data?: unknown } } | null)?.data?.data;
      if (typeof data !== 'object' || data === null) {
        throw sourceError(self, 'no data in the answer (a deleted or destroyed version, or not a KV v2 mount)');
      }
      const record = data as Record<string, unknown>;
      if (opts.field !== undefined) return stringField(self, record, opts.field);
      const keys = Object.keys(record);
      if (keys.length !== 1) throw sourceError(self, `the secret has ${keys.length} fields; set field`);
      return stringField(self, record, keys[0]!);
    },
  };
}
