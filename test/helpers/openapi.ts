// Checks an HTTP response against the service's OpenAPI document (GET /v1/openapi.json) with ajv:
// the operation exists, the status is documented, the media type is one it lists, the body validates
// against its schema and the required headers are there. test/setup/api-responses.ts runs it on every
// response any in-process server sends during the tests; tests of a spawned server call it directly.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

// biome-ignore lint/suspicious/noExplicitAny: the document is JSON read loosely; ajv checks the parts that matter.
type Json = any;

export interface SentResponse {
  method: string;
  /** The request path without the query string, e.g. `/v1/findings/kw1:…`. */
  path: string;
  /** The documented path of the route that answered (`/v1/findings/{fingerprint}`); null when no route matched. */
  operationPath?: string | null;
  status: number;
  /** Header names in any case. */
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

interface Compiled {
  ajv: Ajv2020;
  validators: Map<string, ReturnType<Ajv2020['compile']>>;
}
const compiled = new WeakMap<object, Compiled>();

function compilerFor(doc: Json): Compiled {
  let c = compiled.get(doc);
  if (!c) {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats.default(ajv);
    ajv.addSchema(doc, 'openapi');
    c = { ajv, validators: new Map() };
    compiled.set(doc, c);
  }
  return c;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

function validate(doc: Json, ptr: string, value: unknown): string[] {
  const c = compilerFor(doc);
  let v = c.validators.get(ptr);
  if (!v) {
    v = c.ajv.compile({ $ref: `openapi#/${ptr}` });
    c.validators.set(ptr, v);
  }
  if (v(value)) return [];
  return (v.errors ?? []).map(
    (e) => `${e.instancePath || '(body)'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}

/** The documented path whose template matches `path`; literal segments win over parameters. */
export function documentedPath(doc: Json, path: string): string | null {
  let best: { p: string; literal: number } | null = null;
  for (const p of Object.keys(doc.paths ?? {})) {
    const re = new RegExp(
      `^${p
        .split(/(\{[^}]+\})/)
        .map((part, i, all) =>
          part.startsWith('{')
            ? i === all.length - 2 && all[i + 1] === ''
              ? '.+'
              : '[^/]+'
            : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'),
        )
        .join('')}$`,
    );
    if (!re.test(path)) continue;
    const literal = p.replace(/\{[^}]+\}/g, '').length;
    if (!best || literal > best.literal) best = { p, literal };
  }
  return best?.p ?? null;
}

function header(headers: SentResponse['headers'], name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name.toLowerCase() && v !== undefined) return Array.isArray(v) ? v.join(', ') : String(v);
  }
  return undefined;
}

/** Every way `r` departs from the document; empty when it conforms. */
export function responseProblems(doc: Json, r: SentResponse): string[] {
  const where = `${r.method} ${r.path} → ${r.status}`;
  const opPath = r.operationPath === undefined ? documentedPath(doc, r.path) : r.operationPath;
  if (opPath === null) {
    // No route: fastify's not-found handler, which answers with the one error shape.
    if (r.status !== 404) return [`${where}: no documented path, yet not a 404`];
    const mt = (header(r.headers, 'content-type') ?? '').split(';')[0]!.trim();
    if (mt !== 'application/json') return [`${where}: content-type ${mt}, expected application/json`];
    return validate(doc, pointer('components', 'schemas', 'Error'), JSON.parse(r.body)).map((e) => `${where}: ${e}`);
  }
  const method = r.method.toLowerCase();
  const op = doc.paths?.[opPath]?.[method];
  if (!op) return [`${where}: ${r.method} ${opPath} is not in the document`];
  const status = String(r.status);
  const key = [status, `${status[0]}XX`, 'default'].find((k) => op.responses?.[k] !== undefined);
  if (key === undefined) return [`${where}: status ${status} is not documented for ${r.method} ${opPath}`];
  const response = op.responses[key];
  const content: Record<string, Json> = response.content ?? {};
  const headers: Record<string, Json> = response.headers ?? {};
  const contentPtr = pointer('paths', opPath, method, 'responses', key, 'content');
  const problems: string[] = [];
  for (const [name, h] of Object.entries(headers)) {
    const value = header(r.headers, name);
    if (value === undefined) {
      if (h.required) problems.push(`${where}: required header ${name} is missing`);
      continue;
    }
    if (h.schema) {
      const ptr = pointer('paths', opPath, method, 'responses', key, 'headers', name, 'schema');
      for (const e of validate(doc, ptr, value)) problems.push(`${where}: header ${name}: ${e}`);
    }
  }
  if (Object.keys(content).length === 0) {
    if (r.body !== '') problems.push(`${where}: a body, but none is documented`);
    return problems;
  }
  const mt = (header(r.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!(mt in content))
    return [...problems, `${where}: content-type ${mt || '(none)'}, documented: ${Object.keys(content).join(', ')}`];
  let value: unknown = r.body;
  if (mt.endsWith('json')) {
    try {
      value = JSON.parse(r.body);
    } catch {
      return [...problems, `${where}: the body is not JSON`];
    }
  }
  for (const e of validate(doc, `${contentPtr}/${pointer(mt)}/schema`, value)) problems.push(`${where}: ${e}`);
  return problems;
}

/**
 * For tests that talk to a server in another process: `fetch`, then check the response against the
 * document that server serves. Returns the response with its body already read as `text`.
 */
export async function checkedFetch(doc: Json, url: string, init: RequestInit = {}): Promise<{ res: Response; text: string }> {
  const res = await fetch(url, init);
  const text = await res.text();
  const u = new URL(url);
  const problems = responseProblems(doc, {
    method: init.method ?? 'GET',
    path: u.pathname,
    status: res.status,
    headers: Object.fromEntries(res.headers),
    body: text,
  });
  if (problems.length > 0) throw new Error(`response does not match the OpenAPI document:\n${problems.join('\n')}`);
  return { res, text };
}
