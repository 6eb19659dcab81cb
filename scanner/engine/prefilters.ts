// Named checks on a keyword hit, run before a rule's window is queued (a rule's `prefilter`,
// rules/schema.ts PREFILTER_NAMES). Weak keywords (`https://`, `token`, `password`) occur thousands of
// times per MB, and an RE2 call costs ~0.5 us however short the window: a few byte comparisons that
// reject the hits the pattern could never match keep such rules under 1% of the scan (measured by
// `npm run bench:rules`, docs/benchmarks.md). Each must be sound: it may only reject hits around
// which the rule's pattern cannot match, or (the generic assignment shapes, whose rules must take
// `placeholderFilter`: rules/load.ts) whose value that filter would drop as code. Pure; byte
// offsets in, boolean out.
import { PREFILTERS_DROPPING_CODE, type PrefilterName } from '../../rules/prefilter-names.js';
import { looksLikeIdentifierOrCode } from './placeholder.js';

/** `hit` is the keyword's byte range [start, end) in `buf`. */
export type Prefilter = (buf: Uint8Array, start: number, end: number) => boolean;

const SPACE = 0x20;
const TAB = 0x09;

/** 1 for bytes of a name: letters, digits, `_`, `.`, `-` (`DB_PASSWORD`, `api.key`, `x-api-key`). */
const NAME = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const c = String.fromCharCode(b);
  if (/[A-Za-z0-9_.-]/.test(c)) NAME[b] = 1;
}

/** 1 for ASCII letters. */
const LETTER = new Uint8Array(256);
for (let b = 0; b < 256; b++) if (/[A-Za-z]/.test(String.fromCharCode(b))) LETTER[b] = 1;

/** Bytes that end a URL's userinfo before an `@` could (RFC 3986 §3.2.1, as the URI rules draw it). */
const USERINFO_STOP = new Uint8Array(256);
for (const c of '/?#[]{}|\\^`"\'<> \t\r\n') USERINFO_STOP[c.charCodeAt(0)] = 1;

/**
 * The first `@` at or after a position in the buffer last asked about. A keyword's hits come in
 * order and most files hold few `@`, so one native search answers many hits: `https://` has ~1,100
 * per MB of source, and scanning each host byte by byte for an `@` cost ~25 instructions a byte
 * (basic-auth-url was 1.8% of a scan's instructions). Keyed by the buffer object, so the engine
 * forgets it before each scan (`forgetScannedText`): a source may refill one buffer and scan it again.
 */
const nextAt: { buf: Uint8Array | null; from: number; at: number } = { buf: null, from: 0, at: -1 };

/** Called by the engine before it scans a buffer: nothing cached may outlive the text it read. */
export function forgetScannedText(): void {
  nextAt.buf = null;
}

function atOrAfter(buf: Uint8Array, from: number): number {
  const c = nextAt;
  // The cached answer holds for any later `from` up to the `@` it found (or everywhere, if none).
  if (c.buf !== buf || from < c.from || (c.at !== -1 && c.at < from)) {
    c.buf = buf;
    c.from = from;
    c.at = buf.indexOf(0x40, from);
  }
  return c.at;
}

/**
 * URI rules (`postgres://user:pw@host`, `https://user:pw@host`): after the `://` (within 40 bytes of
 * the keyword, for `postgresql+psycopg2://`), an `@` must come, within 520 bytes, before anything
 * that ends userinfo.
 */
function userinfo(buf: Uint8Array, start: number, end: number): boolean {
  const n = buf.length;
  let i = end - 3;
  // Most keywords end in `://` (`https://`: ~1,100 hits per MB of source): no search for it then.
  if (!(i >= start && buf[i] === 0x3a && buf[i + 1] === 0x2f && buf[i + 2] === 0x2f)) {
    i = start;
    const limit = Math.min(n - 2, start + 40);
    while (i < limit && !(buf[i] === 0x3a && buf[i + 1] === 0x2f && buf[i + 2] === 0x2f)) i++;
    if (i >= limit) return false;
  }
  const at = atOrAfter(buf, i + 3);
  if (at === -1 || at >= i + 3 + 520) return false;
  for (let j = i + 3; j < at; j++) if (USERINFO_STOP[buf[j]!] === 1) return false;
  return true;
}

/** The shortest value any generic rule accepts (generic-password: 8 characters). */
const MIN_VALUE = 8;

/** Bytes that may end a generic rule's value: `\\ " ' \` blank , ; ) } ] < &` and line ends. */
const VALUE_END = new Uint8Array(256);
for (const c of '\\"\'`\t\r\n ,;)}]<&') VALUE_END[c.charCodeAt(0)] = 1;
/** Bytes no generic value holds, which end its run: the terminators and `( { [ > |`. */
const VALUE_STOP = new Uint8Array(256);
for (let b = 0; b < 256; b++) VALUE_STOP[b] = VALUE_END[b]!;
for (const c of '({[>|') VALUE_STOP[c.charCodeAt(0)] = 1;
/** The token alphabet of generic-token / generic-api-key values: `[A-Za-z0-9+/_.~=:-]`. */
const TOKEN_CHAR = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_.~=:-') TOKEN_CHAR[c.charCodeAt(0)] = 1;

/** A few bytes as a string, without a Buffer object per call. */
function latin1(buf: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) out += String.fromCharCode(buf[i]!);
  return out;
}

function skipBlanks(buf: Uint8Array, i: number): number {
  while (i < buf.length && (buf[i] === SPACE || buf[i] === TAB)) i++;
  return i;
}

/**
 * True when a value that the generic patterns could accept starts at `i` (after blanks, an optional
 * b/r/u/@ prefix and quote): at least `min` bytes of its alphabet, ended by a terminator or the end
 * of the text (a call's `(`, an object's `{` end nothing a pattern accepts). With `dropsCode`, not
 * when that value reads as code (`token = options.authToken;`, 7 in 10 of generic-token's candidates
 * in the bench corpus): the pattern's value is this same run (its alphabet ends where a terminator
 * starts), and the rule's placeholder filter would drop it after an RE2 run and its checks (~6 us).
 */
function valueAt(buf: Uint8Array, i: number, min: number, token: boolean, dropsCode: boolean): boolean {
  const n = buf.length;
  i = skipBlanks(buf, i);
  const b = buf[i];
  if ((b === 0x62 || b === 0x72 || b === 0x75 || b === 0x40) && (buf[i + 1] === 0x22 || buf[i + 1] === 0x27)) i++;
  if (buf[i] === 0x5c) i++;
  if (buf[i] === 0x22 || buf[i] === 0x27 || buf[i] === 0x60) i++;
  const limit = Math.min(n, i + 300);
  let j = i;
  if (token) while (j < limit && TOKEN_CHAR[buf[j]!] === 1) j++;
  else while (j < limit && VALUE_STOP[buf[j]!] !== 1) j++;
  if (j - i < min) return false;
  if (j === limit && j !== n) return true; // cut off: the pattern's value may run on
  if (j !== n && VALUE_END[buf[j]!] !== 1) return false;
  return !(dropsCode && isAscii(buf, i, j) && looksLikeIdentifierOrCode(latin1(buf, i, j)));
}

/** Only ASCII is judged as code here: the engine reads the value as UTF-8, these bytes as Latin-1. */
function isAscii(buf: Uint8Array, s: number, e: number): boolean {
  for (let k = s; k < e; k++) if (buf[k]! > 0x7f) return false;
  return true;
}

/**
 * `name = value` rules: after the keyword, the rest of the name (up to 64 name bytes), optional
 * quotes, `\` and `]`, blanks, then an operator (`=`, `:=`, `=>`, `?=`, `:`, `: type =`, `>` of
 * `<password>`, `,` after a quote as in `define('X', '…')`) and a value the pattern could take:
 * 8+ bytes for passwords, 10+ for secrets, 16+ of the token alphabet for tokens and API keys,
 * 40 for an AWS secret; and a name suffix from the pattern's list.
 */
interface AssignmentShape {
  /** What may follow the keyword in the name (the pattern's closed suffix list); null: any name. */
  suffix: RegExp | null;
  /**
   * The suffix list's first two letters, lower case (`ke` of `key`, `va` of `value`): a name that goes
   * on with letters is rejected on two byte comparisons when they start no suffix (`tokens`,
   * `tokenizer`, `secretsManager`: 9 in 10 of `token` and `secret` hits in the bench corpus), before
   * any string is built for `suffix`. Digits and `_ . -` take the `suffix` test.
   */
  letterStarts: readonly number[];
  /** Shortest value, and whether it is drawn from the token alphabet. */
  min: number;
  token: boolean;
}

/** `dropsCode`: values that read as code are rejected too (rules/prefilter-names.ts PREFILTERS_DROPPING_CODE). */
function assignmentOf(buf: Uint8Array, end: number, shape: AssignmentShape, dropsCode: boolean): boolean {
  const { min, token } = shape;
  const n = buf.length;
  let i = end;
  if (shape.suffix !== null && i + 1 < n && LETTER[buf[i]!] === 1) {
    const two = ((buf[i]! | 0x20) << 8) | (buf[i + 1]! | 0x20);
    if (!shape.letterStarts.includes(two)) return false;
  }
  const nameEnd = Math.min(n, end + 64);
  while (i < nameEnd && NAME[buf[i]!] === 1) i++;
  // The suffix is tested as text (a few bytes, a simple expression): `passwordConfirm`,
  // `tokenizer` and `secretName` end here.
  if (shape.suffix !== null && i > end && (i - end > 16 || !shape.suffix.test(latin1(buf, end, i)))) return false;
  const closeStart = i;
  const closeEnd = Math.min(n, i + 4);
  while (i < closeEnd && (buf[i] === 0x22 || buf[i] === 0x27 || buf[i] === 0x60 || buf[i] === 0x5c || buf[i] === 0x5d)) i++;
  const quoted = i > closeStart && buf[i - 1] !== 0x5d;
  i = skipBlanks(buf, i);
  const op = buf[i];
  if (op === 0x2c) return quoted && valueAt(buf, i + 1, min, token, dropsCode);
  if (op === 0x3f) return buf[i + 1] === 0x3d && valueAt(buf, i + 2, min, token, dropsCode);
  if (op === 0x3e) return valueAt(buf, i + 1, min, token, dropsCode);
  if (op === 0x3d) return valueAt(buf, buf[i + 1] === 0x3e ? i + 2 : i + 1, min, token, dropsCode);
  if (op !== 0x3a) return false;
  if (buf[i + 1] === 0x3d) return valueAt(buf, i + 2, min, token, dropsCode);
  if (valueAt(buf, i + 1, min, token, dropsCode)) return true;
  // `password: str = "…"`: a type annotation, then `=`.
  let j = skipBlanks(buf, i + 1);
  const typeEnd = Math.min(n, j + 31);
  while (j < typeEnd && (NAME[buf[j]!] === 1 || buf[j] === 0x5b || buf[j] === 0x5d)) j++;
  j = skipBlanks(buf, j);
  return buf[j] === 0x3d && buf[j + 1] !== 0x3d && valueAt(buf, buf[j + 1] === 0x3e ? j + 2 : j + 1, min, token, dropsCode);
}

/** Two lower-case letters as one number, as `assignmentOf` reads them. */
function pairs(...two: string[]): number[] {
  return two.map((t) => (t.charCodeAt(0) << 8) | t.charCodeAt(1));
}

// The shapes of the generic rules in rules/builtin/generic.yaml and of aws-secret-access-key; each
// suffix list is the pattern's own (`password_2`, `secret_key_base`, `token_value`, `api_key_secret`).
const PASSWORD: AssignmentShape = {
  suffix: /^(?:[_.-]?[0-9]{1,2})?$/,
  letterStarts: pairs(),
  min: MIN_VALUE,
  token: false,
};
const SECRET: AssignmentShape = {
  suffix: /^(?:[_.-]?(?:key|key[_.-]?base|value|string|[0-9]{1,2}))?$/i,
  letterStarts: pairs('ke', 'va', 'st'),
  min: 10,
  token: false,
};
const TOKEN: AssignmentShape = {
  suffix: /^(?:[_.-]?(?:key|value|[0-9]{1,2}))?$/i,
  letterStarts: pairs('ke', 'va'),
  min: 16,
  token: true,
};
const API_KEY: AssignmentShape = {
  suffix: /^(?:[_.-]?(?:value|secret|[0-9]{1,2}))?$/i,
  letterStarts: pairs('va', 'se'),
  min: 16,
  token: true,
};
const AWS_SECRET: AssignmentShape = { suffix: null, letterStarts: pairs(), min: 40, token: true };

function assignment(name: PrefilterName, shape: AssignmentShape): Prefilter {
  const dropsCode = PREFILTERS_DROPPING_CODE.includes(name);
  return (buf, _start, end) => assignmentOf(buf, end, shape, dropsCode);
}

/**
 * `name: DB_PASSWORD` + `value: ...` entries: before the keyword, the rest of the variable's name,
 * an optional quote, `:` or `=`, blanks, an optional quote, and the word `name`.
 */
function envName(buf: Uint8Array, start: number, _end: number): boolean {
  let i = start;
  const floor = Math.max(0, start - 48);
  while (i > floor && NAME[buf[i - 1]!] === 1) i--;
  while (i > floor && (buf[i - 1] === 0x22 || buf[i - 1] === 0x27 || buf[i - 1] === 0x5c)) i--;
  while (i > floor && (buf[i - 1] === SPACE || buf[i - 1] === TAB)) i--;
  if (i === 0 || (buf[i - 1] !== 0x3a && buf[i - 1] !== 0x3d)) return false;
  i--;
  while (i > floor && (buf[i - 1] === SPACE || buf[i - 1] === TAB)) i--;
  while (i > floor && (buf[i - 1] === 0x22 || buf[i - 1] === 0x27 || buf[i - 1] === 0x5c)) i--;
  if (i < 4) return false;
  return (
    (buf[i - 4]! | 0x20) === 0x6e &&
    (buf[i - 3]! | 0x20) === 0x61 &&
    (buf[i - 2]! | 0x20) === 0x6d &&
    (buf[i - 1]! | 0x20) === 0x65
  );
}

/** `--db-password VALUE`: the flag's name runs back to `--`, and a blank follows the keyword. */
function cliFlag(buf: Uint8Array, start: number, end: number): boolean {
  if (buf[end] !== SPACE && buf[end] !== TAB) return false;
  let i = start;
  const floor = Math.max(0, start - 48);
  while (i > floor && NAME[buf[i - 1]!] === 1 && buf[i - 1] !== 0x2e && buf[i - 1] !== 0x5f) i--;
  return buf[i] === 0x2d && buf[i + 1] === 0x2d;
}

/**
 * `<add key="Smtp:Password" value="…"/>`: the key attribute ends at the keyword (after an optional
 * `key` suffix), then its quote, blanks and ` value=`.
 */
function keyValueAttribute(buf: Uint8Array, _start: number, end: number): boolean {
  const n = buf.length;
  let i = end;
  if (buf[i] === 0x5f || buf[i] === 0x2e || buf[i] === 0x2d) i++;
  if (i + 3 <= n && (buf[i]! | 0x20) === 0x6b && (buf[i + 1]! | 0x20) === 0x65 && (buf[i + 2]! | 0x20) === 0x79) i += 3;
  if (buf[i] === 0x5c) i++;
  if (buf[i] !== 0x22 && buf[i] !== 0x27) return false;
  i++;
  while (i < n && (buf[i] === SPACE || buf[i] === TAB)) i++;
  return (
    i + 6 <= n &&
    (buf[i]! | 0x20) === 0x76 &&
    (buf[i + 1]! | 0x20) === 0x61 &&
    (buf[i + 2]! | 0x20) === 0x6c &&
    (buf[i + 3]! | 0x20) === 0x75 &&
    (buf[i + 4]! | 0x20) === 0x65 &&
    buf[i + 5] === 0x3d
  );
}

export const prefilters: Record<PrefilterName, Prefilter> = {
  userinfo,
  'assignment-password': assignment('assignment-password', PASSWORD),
  'assignment-secret': assignment('assignment-secret', SECRET),
  'assignment-token': assignment('assignment-token', TOKEN),
  'assignment-api-key': assignment('assignment-api-key', API_KEY),
  'assignment-aws-secret': assignment('assignment-aws-secret', AWS_SECRET),
  'env-name': envName,
  'cli-flag': cliFlag,
  'key-value-attribute': keyValueAttribute,
};
