// Expands rule example templates (rules/README.md, "Example templates") into concrete text at test
// and bench time, so the repository never holds a realistic key: `{base62:30}` becomes 30 random
// chars, `{checksum}` the rule's checksum over the secret so far, `«…»` marks the expected secret.
import { checksums } from './checksums.js';
import type { ChecksumName } from './schema.js';

export interface ExpandOptions {
  /** The rule's checksum validator; required when the template uses `{checksum}` or `{badchecksum}`. */
  checksum?: ChecksumName | undefined;
  /** Uniform random numbers in [0, 1); use `seededRng` for reproducible output. */
  rng: () => number;
}

export interface Expanded {
  /** The template with placeholders expanded and the `«` `»` markers removed. */
  text: string;
  /** The text between `«` and `»`, when the template marks one. */
  secret?: string;
  /** UTF-16 index of the secret in `text`. */
  secretStart?: number;
}

const DIGITS = '0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** Placeholders that take a length: `{name:N}`. */
const SIZED: Record<string, string> = {
  base62: DIGITS + UPPER + LOWER,
  hex: '0123456789abcdef',
  HEX: '0123456789ABCDEF',
  base64: `${UPPER}${LOWER}${DIGITS}+/`,
  base64url: `${UPPER}${LOWER}${DIGITS}_-`,
  upper: UPPER,
  lower: LOWER,
  letters: UPPER + LOWER,
  digits: DIGITS,
  upperdigits: UPPER + DIGITS,
  lowerdigits: LOWER + DIGITS,
  base32: `${UPPER}234567`,
  bech32: BECH32,
  BECH32: BECH32.toUpperCase(),
};
/** Placeholders without arguments. */
const BARE = new Set(['checksum', 'badchecksum', 'jwt', 'uuid']);

/** `{name}` or `{name:args}` where name is an identifier; other brace text is left alone. */
const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)(?::([^{}\s]*))?\}/y;
/** Longest generated run one placeholder may ask for: a guard against typos like `{hex:3200000}`. */
const MAX_LENGTH = 65536;

/** Mulberry32: a small, fast, seedable PRNG; plenty for test data (never for real keys). */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick(alphabet: string, n: number, rng: () => number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(rng() * alphabet.length)] ?? alphabet[0];
  return out;
}

function uuid(rng: () => number): string {
  const h = '0123456789abcdef';
  const variant = '89ab'[Math.floor(rng() * 4)] ?? '8';
  return `${pick(h, 8, rng)}-${pick(h, 4, rng)}-4${pick(h, 3, rng)}-${variant}${pick(h, 3, rng)}-${pick(h, 12, rng)}`;
}

function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function jwt(rng: () => number): string {
  const header = b64url('{"alg":"HS256","typ":"JWT"}');
  const payload = b64url(
    JSON.stringify({ sub: pick(LOWER + DIGITS, 12, rng), iat: 1_500_000_000 + Math.floor(rng() * 300_000_000) }),
  );
  // 43 base64url chars = the 32 bytes of an HS256 signature.
  return `${header}.${payload}.${pick(SIZED.base64url!, 43, rng)}`;
}

/**
 * The token being built when no `«` precedes a `{checksum}` (negatives are unmarked): the run of
 * token-ish characters that ends where the placeholder stands.
 */
function tokenBefore(text: string): string {
  return /[A-Za-z0-9_.+/-]*$/.exec(text)?.[0] ?? '';
}

/**
 * Expands one template. Throws an Error naming the template on a malformed marker, `{checksum}`
 * without a checksum name, or a placeholder that looks like one of ours but is not (`{base62}`,
 * `{hex:x}`, `{alnum:20}`): those are typos in a rule file, better loud than silently literal.
 */
export function expandTemplate(template: string, opts: ExpandOptions): Expanded {
  const fail = (why: string): never => {
    throw new Error(`example template ${JSON.stringify(template)}: ${why}`);
  };
  let text = '';
  let start: number | undefined;
  let end: number | undefined;
  let i = 0;
  while (i < template.length) {
    const ch = template[i]!;
    if (ch === '«') {
      if (start !== undefined) fail('more than one « marker');
      start = text.length;
      i++;
      continue;
    }
    if (ch === '»') {
      if (start === undefined || end !== undefined) fail('» without a matching «');
      end = text.length;
      i++;
      continue;
    }
    if (ch === '{') {
      PLACEHOLDER.lastIndex = i;
      const m = PLACEHOLDER.exec(template);
      if (m) {
        const name = m[1]!;
        const arg = m[2];
        const expanded = expandOne(name, arg, text, start !== undefined && end === undefined ? start : undefined, opts, fail);
        if (expanded !== null) {
          text += expanded;
          i += m[0].length;
          continue;
        }
      }
    }
    text += ch;
    i++;
  }
  if (start !== undefined && end === undefined) fail('« without a closing »');
  if (start === undefined || end === undefined) return { text };
  return { text, secret: text.slice(start, end), secretStart: start };
}

/** Expansion of one `{name[:arg]}`, or null when it is ordinary brace text to keep literally. */
function expandOne(
  name: string,
  arg: string | undefined,
  text: string,
  openStart: number | undefined,
  opts: ExpandOptions,
  fail: (why: string) => never,
): string | null {
  const alphabet = SIZED[name];
  if (alphabet !== undefined) {
    if (arg === undefined || !/^[1-9][0-9]*$/.test(arg)) fail(`{${name}} needs a length, as in {${name}:32}`);
    const n = Number(arg);
    if (n > MAX_LENGTH) fail(`{${name}:${arg}} is longer than ${MAX_LENGTH}`);
    return pick(alphabet, n, opts.rng);
  }
  if (BARE.has(name)) {
    if (arg !== undefined) fail(`{${name}} takes no argument`);
    switch (name) {
      case 'uuid':
        return uuid(opts.rng);
      case 'jwt':
        return jwt(opts.rng);
      default: {
        if (!opts.checksum) fail(`{${name}} used but the rule names no checksum`);
        const validator = checksums[opts.checksum!];
        const soFar = openStart !== undefined ? text.slice(openStart) : tokenBefore(text);
        return name === 'checksum' ? validator.complete(soFar) : validator.corrupt(soFar);
      }
    }
  }
  // `{word:123}` reads as a placeholder with a misspelt name; `{word}` or `${VAR}` is ordinary text.
  if (arg !== undefined && /^[0-9]+$/.test(arg)) fail(`unknown placeholder {${name}:${arg}}`);
  return null;
}
