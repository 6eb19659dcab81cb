// Context redaction for logs: values that no key-format rule can recognise but whose context says
// they are secret (an `Authorization` header, a cookie, a `"password"` field, `?access_token=` in a
// URL, `user:pass@` in a URL). One keyword pass over a batch of lines, then a small hand-written
// parser at each hit. Pure, no I/O; called by the batch redactor (redact-lines.ts).
import { type Automaton, buildAutomaton, HitList } from './engine/aho.js';

/** What the context was; names the marker (`[REDACTED:ctx-header:kw1:…]`). */
export type ContextKind = 'ctx-header' | 'ctx-cookie' | 'ctx-field' | 'ctx-url';

/** Bytes [start, end) of a batch that context says are secret. */
export interface ContextSpan {
  start: number;
  end: number;
  kind: ContextKind;
}

/**
 * A field value shorter than this stays (`"token": ""`, `"password": "x"` are readable, not secrets).
 * Header and cookie values are redacted from 1 character: their name alone says what they are.
 */
export const MIN_FIELD_VALUE = 3;

/**
 * Keywords that wake the parser, ASCII case folded. Weak ones (`key`, `sig`, `pass`, `auth`) cost a
 * name check at each hit, never a regex: the name around the hit must be followed by a separator.
 */
const KEYWORDS = [
  'auth',
  'cookie',
  'key',
  'token',
  'pass',
  'pwd',
  'secret',
  'credential',
  'creds',
  'sig',
  'bearer',
  'basic',
  'jwt',
  '://',
] as const;
const URL_KW = KEYWORDS.indexOf('://');
const automaton = buildAutomaton(KEYWORDS);
const hits = new HitList();

// Byte classes.
const NAME = new Uint8Array(256); // [A-Za-z0-9_.-]: a field or header name
const STOP = new Uint8Array(256); // ends an unquoted value
for (let b = 0; b < 256; b++) {
  const c = String.fromCharCode(b);
  if (/[A-Za-z0-9_.-]/.test(c)) NAME[b] = 1;
  if (/[\s,;&"'\\)\]}<>|]/.test(c) || b < 0x20) STOP[b] = 1;
}
const NL = 0x0a;
const QUOTE = 0x22;
const APOS = 0x27;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const EQUALS = 0x3d;
const SPACE = 0x20;
const TAB = 0x09;
const COMMA = 0x2c;
const SEMI = 0x3b;
const LBRACKET = 0x5b;
const LBRACE = 0x7b;

/**
 * The words of a name that make its value secret: `client_secret`, `DB_PASSWORD`, `X-Auth-Token`,
 * `refreshToken`, `private.key` (with KEY_PHRASES). A name whose last word says it is metadata about
 * a secret (`secret_name`, `token_type`, `password_policy`) is not secret.
 */
const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'passcode',
  'secret',
  'token',
  'credential',
  'credentials',
  'creds',
  'apikey',
  'privatekey',
  'accesskey',
  'secretkey',
  'clientsecret',
  'accesstoken',
  'refreshtoken',
  'authtoken',
  'jwt',
  'signature',
]);
/** Secret only as the last word: `db_pass`, `amz_sig`, `basic_auth` (but `pass_count`, `auth_type` by META). */
const LAST_WORDS = new Set(['pass', 'pw', 'sig', 'auth', 'bearer']);
/** `<first> key` pairs that name a key value; a bare `key` is secret only as a URL query parameter. */
const KEY_PHRASES = new Set([
  'api',
  'secret',
  'private',
  'access',
  'signing',
  'encryption',
  'master',
  'hmac',
  'app',
  'client',
  'session',
  'subscription',
  'functions',
  'auth',
  'account',
  'storage',
  'license',
  'deploy',
  'webhook',
]);
/** `<first> token` pairs that are cursors, not credentials (pagination, sync, cancellation). */
const CURSOR_TOKENS = new Set(['page', 'next', 'continuation', 'sync', 'cancellation', 'pagination', 'resume', 'cursor']);
/** Last words that make a name metadata about a secret: its value is not the secret. */
const META = new Set([
  'name',
  'names',
  'id',
  'ids',
  'type',
  'types',
  'ref',
  'path',
  'file',
  'arn',
  'version',
  'length',
  'len',
  'count',
  'at',
  'expires',
  'expiry',
  'ttl',
  'lifetime',
  'url',
  'uri',
  'endpoint',
  'policy',
  'required',
  'enabled',
  'method',
  'mode',
  'scheme',
  'provider',
  'status',
  'state',
  'error',
  'user',
  'username',
  'login',
  'email',
  'owner',
  'hint',
  'prefix',
  'suffix',
  'format',
  'kind',
  'source',
  'store',
  'manager',
  'mount',
  'dir',
]);
/** Query parameters secret by name alone (`?key=AIza…`, `?sig=` of an Azure SAS). */
const URL_ONLY = new Set(['key', 'sig', 'code_verifier', 'pw', 'pass']);
/** Cookie attributes (Set-Cookie): their values are not secrets. */
const COOKIE_ATTRS = new Set([
  'path',
  'domain',
  'expires',
  'max-age',
  'samesite',
  'secure',
  'httponly',
  'priority',
  'partitioned',
  'version',
  'comment',
]);
/** Authorization schemes whose credential is a list of parameters (redacted to the end of the value). */
const PARAM_SCHEMES = new Set(['digest', 'aws4-hmac-sha256', 'oauth', 'signature', 'hmac', 'hoba', 'mutual', 'sharedkey']);
/** Values that are not secrets whatever their field says (placeholders, booleans, states). */
const NOT_SECRET = new Set([
  'true',
  'false',
  'null',
  'nil',
  'none',
  'undefined',
  'yes',
  'no',
  'on',
  'off',
  'set',
  'unset',
  'empty',
  'expired',
  'invalid',
  'missing',
  'required',
  'present',
  'provided',
  'redacted',
  'hidden',
  'masked',
  'filtered',
  'removed',
  'omitted',
  'ok',
  'valid',
  'n/a',
  'na',
  'bearer',
  'basic',
  'token',
]);

/** Splits a name into lower-case words: `X-Api-Key` → x api key, `refreshToken` → refresh token. */
export function nameWords(name: string): string[] {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
  while (words.length > 1 && /^\d+$/.test(words[words.length - 1]!)) words.pop(); // X-Hub-Signature-256
  return words;
}

type NameClass = 'auth' | 'cookie' | 'secret' | 'url-only' | null;

const classCache = new Map<string, NameClass>();

/** What a name says about its value (memoised: log field names repeat). */
export function classifyName(name: string): NameClass {
  let c = classCache.get(name);
  if (c !== undefined) return c;
  c = classifyUncached(name);
  if (classCache.size > 4096) classCache.clear();
  classCache.set(name, c);
  return c;
}

function classifyUncached(name: string): NameClass {
  const w = nameWords(name);
  const n = w.length;
  if (n === 0) return null;
  const last = w[n - 1]!;
  if (last === 'authorization') return 'auth';
  if (last === 'cookie' || last === 'cookies') return 'cookie';
  if (META.has(last)) return null;
  if (last === 'token' && n >= 2 && CURSOR_TOKENS.has(w[n - 2]!)) return null;
  if (last === 'key' && n >= 2 && KEY_PHRASES.has(w[n - 2]!)) return 'secret';
  if (LAST_WORDS.has(last)) return 'secret';
  for (const x of w) if (SECRET_WORDS.has(x)) return 'secret';
  if (URL_ONLY.has(w.join('_'))) return 'url-only';
  return null;
}

function isSpace(b: number | undefined): boolean {
  return b === SPACE || b === TAB;
}

/** A value that reads as a placeholder or a state, not a secret (`[hidden]`, `***`, `${TOKEN}`, `true`). */
export function looksLikeNonSecret(buf: Buffer, start: number, end: number): boolean {
  const n = end - start;
  if (n <= 0) return true;
  const first = buf[start]!;
  const lastB = buf[end - 1]!;
  // Bracketed or templated: `[hidden]`, `<password>`, `{{token}}`, `${API_KEY}`, `%s`.
  if ((first === 0x5b && lastB === 0x5d) || (first === 0x3c && lastB === 0x3e) || (first === LBRACE && lastB === 0x7d))
    return true;
  if (first === 0x24 && /^\$(?:\{[^}]*\}|[A-Z_][A-Z0-9_]*)$/.test(buf.toString('latin1', start, end))) return true; // $VAR, ${VAR}
  if (first === 0x25 && n <= 3) return true; // %s, %v
  // One repeated mask character: `***`, `xxxxxxxx`, `•••`, `...`, `---`.
  let same = true;
  for (let i = start + 1; i < end; i++) {
    if (buf[i] !== first) {
      same = false;
      break;
    }
  }
  if (
    same &&
    (first === 0x2a || first === 0x78 || first === 0x58 || first === 0x2e || first === 0x2d || first === 0x23 || n >= 3)
  )
    return true;
  if (n <= 12) {
    const s = buf.toString('latin1', start, end).toLowerCase();
    if (NOT_SECRET.has(s)) return true;
  }
  // A marker of ours, already in place.
  if (n > 10 && buf.toString('latin1', start, start + 10) === '[REDACTED:') return true;
  return false;
}

/** End of an unquoted value starting at `i` (stops at whitespace, quotes, separators, brackets). */
function unquotedEnd(buf: Buffer, i: number, end: number): number {
  while (i < end && STOP[buf[i]!] === 0) i++;
  return i;
}

/** End of a quoted value whose content starts at `i`; `q` the quote byte, `escaped` for `\"…\"`. */
function quotedEnd(buf: Buffer, i: number, end: number, q: number, escaped: boolean): number {
  while (i < end) {
    const c = buf[i]!;
    if (c === NL) return i;
    if (escaped) {
      if (c === BACKSLASH && buf[i + 1] === q) return i;
    } else if (c === BACKSLASH) {
      i += 2;
      continue;
    } else if (c === q) return i;
    i++;
  }
  return end;
}

type Emit = (start: number, end: number, kind: ContextKind) => void;

/** An opened quote at `i`: `"`, `'` or `\"`. Returns [content start, quote byte, escaped] or null. */
function openQuote(buf: Buffer, i: number): [number, number, boolean] | null {
  const c = buf[i];
  if (c === QUOTE || c === APOS) return [i + 1, c, false];
  if (c === BACKSLASH && buf[i + 1] === QUOTE) return [i + 2, QUOTE, true];
  return null;
}

/**
 * The value of an `Authorization`-like header in [i, vend): the scheme word stays (`Bearer`,
 * `Basic`, `AWS4-HMAC-SHA256`), the credential goes; a parameter scheme's whole list goes.
 */
function authValue(buf: Buffer, i: number, vend: number, emit: Emit, kind: ContextKind): void {
  while (i < vend && isSpace(buf[i])) i++;
  const w1e = unquotedEnd(buf, i, vend);
  if (w1e <= i) return;
  let j = w1e;
  while (j < vend && isSpace(buf[j])) j++;
  const scheme = buf.toString('latin1', i, w1e);
  const isScheme = j > w1e && j < vend && /^[A-Za-z][A-Za-z0-9-]{0,23}$/.test(scheme) && STOP[buf[j]!] === 0;
  if (!isScheme) {
    if (!looksLikeNonSecret(buf, i, w1e)) emit(i, w1e, kind);
    return;
  }
  const s = scheme.toLowerCase();
  if (PARAM_SCHEMES.has(s)) {
    let e = vend;
    while (e > j && isSpace(buf[e - 1])) e--;
    if (e > j) emit(j, e, kind);
    return;
  }
  // A single token68 credential (Bearer, Basic, token, ApiKey, SSWS, ...).
  const e = unquotedEnd(buf, j, vend);
  if (e > j && !looksLikeNonSecret(buf, j, e)) emit(j, e, kind);
}

/** Cookie pairs in [i, vend): every value goes, names and Set-Cookie attributes stay. */
function cookieValue(buf: Buffer, i: number, vend: number, emit: Emit): void {
  let first = true;
  while (i < vend) {
    while (i < vend && isSpace(buf[i])) i++;
    const ns = i;
    while (i < vend && buf[i] !== EQUALS && buf[i] !== SEMI && buf[i] !== COMMA && STOP[buf[i]!] === 0) i++;
    if (i < vend && buf[i] === EQUALS && i > ns) {
      const name = buf.toString('latin1', ns, i).toLowerCase();
      const vs = i + 1;
      if (name === 'expires') {
        // `Expires=Wed, 21 Oct 2015 07:28:00 GMT`: a date with a comma and spaces; skip to `;`.
        const semi = buf.indexOf(SEMI, vs);
        i = semi === -1 || semi > vend ? vend : semi;
      } else {
        let ve = vs;
        while (ve < vend && buf[ve] !== SEMI && buf[ve] !== COMMA && STOP[buf[ve]!] === 0) ve++;
        if (!COOKIE_ATTRS.has(name) && ve > vs) emit(vs, ve, 'ctx-cookie');
        i = ve;
      }
    } else if (first && i > ns) {
      // `Cookie: <an opaque value>` without a name: it goes if it looks like one (a digit, or long).
      const v = buf.toString('latin1', ns, i);
      if ((/[0-9]/.test(v) || v.length >= 12) && !looksLikeNonSecret(buf, ns, i)) emit(ns, i, 'ctx-cookie');
    }
    first = false;
    // The next pair follows a `;` (or the `,` between joined Set-Cookie headers); anything else
    // (`Cookie: a=1 status=200` in free text) ends the list.
    while (i < vend && isSpace(buf[i])) i++;
    if (i >= vend || (buf[i] !== SEMI && buf[i] !== COMMA)) return;
    i++;
  }
}

/** A JSON string at `i` (its opening quote): [content start, content end]; null when none. */
function jsonString(buf: Buffer, i: number, end: number): [number, number] | null {
  if (buf[i] !== QUOTE) return null;
  const e = quotedEnd(buf, i + 1, end, QUOTE, false);
  if (e >= end || buf[e] !== QUOTE) return null;
  return [i + 1, e];
}

/**
 * Every string in value position inside the JSON object or array at `i`, to `each`. Bounded by
 * `end` (the line); returns where the value ends, or -1 when it is not well formed.
 */
function jsonLeaves(buf: Buffer, i: number, end: number, each: (s: number, e: number) => void): number {
  const stack: number[] = [];
  let expectKey = false;
  while (i < end) {
    const c = buf[i]!;
    if (c === QUOTE) {
      const s = jsonString(buf, i, end);
      if (s === null) return -1;
      if (!expectKey) each(s[0], s[1]);
      i = s[1] + 1;
      continue;
    }
    if (c === LBRACE || c === LBRACKET) {
      stack.push(c);
      expectKey = c === LBRACE;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      if (stack.length === 0) return i + 1;
      expectKey = false;
    } else if (c === COLON) expectKey = false;
    else if (c === COMMA) expectKey = stack[stack.length - 1] === LBRACE;
    else if (c === NL) return -1;
    i++;
  }
  return -1;
}

/** The end of the line (or batch) holding `i`. */
function lineEnd(buf: Buffer, i: number, end: number): number {
  const nl = buf.indexOf(NL, i);
  return nl === -1 || nl > end ? end : nl;
}

/** True when the line holding `i` is a JSON document (starts with `{` or `[`): quoted values end at `"`. */
function inJsonLine(buf: Buffer, i: number, from: number): boolean {
  let ls = buf.lastIndexOf(NL, i - 1);
  ls = ls < from ? from : ls + 1;
  while (isSpace(buf[ls])) ls++;
  return buf[ls] === LBRACE || buf[ls] === LBRACKET;
}

/** Emits the value of a field whose name says `cls`, starting at `v` (after the separator). */
function fieldValue(buf: Buffer, v: number, end: number, from: number, cls: NameClass, emit: Emit, url: boolean): void {
  const le = lineEnd(buf, v, end);
  while (v < le && isSpace(buf[v])) v++;
  if (v >= le) return;
  // JSON values: a string, an array or object (each leaf string), never a number or null.
  const c = buf[v]!;
  if (c === LBRACKET && buf[v + 1] === QUOTE && cls !== 'secret') {
    jsonLeaves(buf, v, le, (s, e) => valueIn(buf, s, e, cls, emit, false));
    return;
  }
  const n1 = buf[v + 1];
  if ((c === LBRACE || c === LBRACKET) && cls === 'secret' && (n1 === QUOTE || n1 === LBRACE || n1 === LBRACKET)) {
    jsonLeaves(buf, v, le, (s, e) => valueIn(buf, s, e, cls, emit, true));
    return;
  }
  // Go's `map[Authorization:[Bearer x]]`.
  if (c === LBRACKET && !url) v++;
  const q = openQuote(buf, v);
  if (q !== null) {
    const [cs, qb, esc] = q;
    const ce = quotedEnd(buf, cs, le, qb, esc);
    valueIn(buf, cs, ce, cls, emit, true);
    return;
  }
  if (cls === 'auth' || cls === 'cookie') {
    // Unquoted header value: to the end of the line, or of the JSON string it sits in.
    const ve = inJsonLine(buf, v, from) ? quotedEnd(buf, v, le, QUOTE, false) : le;
    valueIn(buf, v, ve, cls, emit, false);
    return;
  }
  const ve = url ? urlValueEnd(buf, v, le) : unquotedEnd(buf, v, le);
  valueIn(buf, v, ve, cls, emit, false);
}

/** A query value ends at `&`, `#`, whitespace, a quote or a bracket. */
function urlValueEnd(buf: Buffer, i: number, end: number): number {
  while (i < end && STOP[buf[i]!] === 0 && buf[i] !== 0x23) i++;
  return i;
}

/** The whole value [s, e) of a field of class `cls`. */
function valueIn(buf: Buffer, s: number, e: number, cls: NameClass, emit: Emit, quoted: boolean): void {
  if (cls === 'auth') authValue(buf, s, e, emit, 'ctx-header');
  else if (cls === 'cookie') cookieValue(buf, s, e, emit);
  else {
    while (e > s && isSpace(buf[e - 1])) e--;
    if (e - s < MIN_FIELD_VALUE || looksLikeNonSecret(buf, s, e)) return;
    // `auth: password: expired`: a label, not a value.
    if (!quoted && buf[e - 1] === COLON) return;
    emit(s, e, cls === 'url-only' ? 'ctx-url' : 'ctx-field');
  }
}

/** Header-class names (values redacted from one character, in pairs too): not generic fields. */
function isHeaderName(words: readonly string[], cls: NameClass): boolean {
  if (cls === 'auth' || cls === 'cookie') return true;
  const last = words[words.length - 1];
  return cls === 'secret' && (words[0] === 'x' || last === 'token' || last === 'key');
}

/**
 * Context secrets in `buf[from, to)` (whole lines). Spans are sorted by start and may overlap
 * (the caller merges them with the rules' spans).
 */
export function findContextSpans(buf: Buffer, from = 0, to = buf.length): ContextSpan[] {
  keywordHits(automaton, buf, hits, from, to);
  const out: ContextSpan[] = [];
  if (hits.length === 0) return out;
  const emit: Emit = (start, end, kind) => {
    if (end > start) out.push({ start, end, kind });
  };
  let lastNameStart = -1;
  for (let h = 0; h < hits.length; h++) {
    const id = hits.ids[h]!;
    const hitEnd = hits.ends[h]!;
    if (id === URL_KW) {
      userinfo(buf, hitEnd, to, emit);
      continue;
    }
    // The name around the hit.
    let ns = hitEnd - automaton.keywordLengths[id]!;
    while (ns > from && NAME[buf[ns - 1]!] === 1) ns--;
    if (ns === lastNameStart) continue;
    // `\nAuthorization` inside a JSON string: the `n` of the escape is not the name's.
    if (ns > from && buf[ns - 1] === BACKSLASH && (buf[ns] === 0x6e || buf[ns] === 0x74 || buf[ns] === 0x72)) ns++;
    let ne = hitEnd;
    while (ne < to && NAME[buf[ne]!] === 1) ne++;
    lastNameStart = ns;
    nameAt(buf, from, to, ns, ne, emit);
  }
  out.sort((a, b) => a.start - b.start);
  return out;
}

/** Decides the context of the name at [ns, ne) and emits its value. */
function nameAt(buf: Buffer, from: number, to: number, ns: number, ne: number, emit: Emit): void {
  let i = ne;
  // A closing quote of a quoted name: `"password":`, `'password':`, `\"password\":`.
  let quoted = 0;
  if (buf[i] === BACKSLASH && buf[i + 1] === QUOTE) {
    quoted = QUOTE;
    i += 2;
  } else if (buf[i] === QUOTE || buf[i] === APOS) {
    quoted = buf[i]!;
    i++;
  }
  while (isSpace(buf[i])) i++;
  const sep = buf[i];
  const before = ns > from ? buf[ns - 1] : undefined;
  const url = before === 0x3f || before === 0x26 || before === SEMI; // ?name= &name= ;name=
  if (sep === COLON || sep === EQUALS) {
    // `==`, `=>` in code, `::` in C++: not an assignment of a value.
    const next = buf[i + 1];
    if (sep === EQUALS && next === EQUALS) return;
    if (sep === COLON && next === COLON) return;
    const name = buf.toString('latin1', ns, ne);
    const cls = classifyName(name);
    if (cls === null) return;
    if (cls === 'url-only' && !(url && sep === EQUALS)) return;
    // `auth:` unquoted in free text is a logger's component prefix (`auth: user signed in`), not a field.
    if (!url && quoted === 0 && sep === COLON && /^auth$/i.test(name)) return;
    // Bearer/Basic as a name with `:`? Only as a header value scheme; skip.
    if (/^(bearer|basic)$/i.test(name)) return;
    let v = i + 1;
    if (sep === EQUALS && next === 0x3e) v++; // Ruby/PHP `=>`
    fieldValue(buf, v, to, from, cls, emit, url);
    return;
  }
  if (quoted !== 0 && sep === COMMA) {
    // `{"name":"Authorization","value":"Bearer x"}` (HAR), `["Authorization","Bearer x"]`, Python `('Cookie', 'a=1')`.
    const name = buf.toString('latin1', ns, ne);
    const cls = classifyName(name);
    if (cls === null || cls === 'url-only') return;
    let j = i + 1;
    while (isSpace(buf[j])) j++;
    const le = lineEnd(buf, j, to);
    const q = openQuote(buf, j);
    if (q === null) return;
    // Pair form: the next element is the value. Object form: `"value":` must come next.
    let [cs, qb, esc] = q;
    let ce = quotedEnd(buf, cs, le, qb, esc);
    const key = buf.toString('latin1', cs, ce);
    if (key === 'value' || key === 'Value') {
      let k = ce + (esc ? 2 : 1);
      while (isSpace(buf[k])) k++;
      if (buf[k] !== COLON) return;
      k++;
      while (isSpace(buf[k])) k++;
      const q2 = openQuote(buf, k);
      if (q2 === null) return;
      [cs, qb, esc] = q2;
      ce = quotedEnd(buf, cs, le, qb, esc);
      valueIn(buf, cs, ce, cls, emit, true);
      return;
    }
    if (!isHeaderName(nameWords(name), cls)) return;
    // The name must itself be an element (after `[`, `(` or `,`), not an object value.
    let b = ns - 1 - (quoted !== 0 && buf[ns - 1] === QUOTE && buf[ns - 2] === BACKSLASH ? 1 : 0);
    if (quoted !== 0) b--;
    while (b > from && isSpace(buf[b])) b--;
    const opener = buf[b];
    if (opener !== LBRACKET && opener !== 0x28 && opener !== COMMA) return;
    valueIn(buf, cs, ce, cls, emit, true);
    return;
  }
  // A free-standing `Bearer <token>` or `Basic <base64 of user:pass>`.
  if (isSpace(sep) || (sep !== undefined && isSpace(buf[ne]))) {
    const name = buf.toString('latin1', ns, ne).toLowerCase();
    if (name !== 'bearer' && name !== 'basic') return;
    let j = ne;
    while (isSpace(buf[j])) j++;
    const e = unquotedEnd(buf, j, lineEnd(buf, j, to));
    if (e <= j) return;
    const tok = buf.toString('latin1', j, e);
    if (name === 'bearer') {
      // token68 only (`token_type=bearer secret_name=x` is no credential), with a digit or a symbol.
      const t68 = /^[A-Za-z0-9._~+/-]+=*$/.test(tok);
      if (t68 && e - j >= 6 && (/[0-9._~+/=-]/.test(tok) || e - j >= 20) && !looksLikeNonSecret(buf, j, e))
        emit(j, e, 'ctx-header');
    } else if (e - j >= 8 && /^[A-Za-z0-9+/]+=*$/.test(tok) && Buffer.from(tok, 'base64').includes(COLON)) {
      emit(j, e, 'ctx-header');
    }
  }
}

/** `scheme://user:password@host`: the password goes (`<password>` and `${PASS}` placeholders stay). */
function userinfo(buf: Buffer, i: number, to: number, emit: Emit): void {
  // The authority ends at `/`, `?`, `#`, whitespace, a quote or a bracket.
  let e = i;
  let at = -1;
  let colon = -1;
  while (e < to) {
    const c = buf[e]!;
    if (c === 0x2f || c === 0x3f || c === 0x23 || STOP[c] === 1) break;
    if (c === 0x40) at = e;
    else if (c === COLON && at === -1 && colon === -1) colon = e;
    e++;
  }
  if (at === -1 || colon === -1 || colon > at) return;
  const ps = colon + 1;
  if (at - ps < 1 || looksLikeNonSecret(buf, ps, at)) return;
  emit(ps, at, 'ctx-url');
}

/**
 * The engine's Aho-Corasick loop (engine/aho.ts `findKeywords`), repeated here on purpose: sharing
 * one function between the engine's automaton and this one made V8 treat it as polymorphic, and the
 * engine's own keyword pass slowed by about a third in the redact benchmark (docs/benchmarks.md).
 */
function keywordHits(ac: Automaton, buf: Uint8Array, out: HitList, from: number, to: number): void {
  out.length = 0;
  const table = ac.table;
  const classOf = ac.classOf;
  const classes = ac.classes;
  let s = 0;
  for (let i = from; i < to; i++) {
    const t = table[s + classOf[buf[i]!]!]!;
    if (t < 0) {
      s = -t;
      const ids = ac.outputs[(s / classes) | 0]!;
      for (let k = 0; k < ids.length; k++) out.push(ids[k]!, i + 1);
    } else {
      s = t;
    }
  }
}
