// Offline checksum validators named by rules (`checksum:` in a rule, schema.ts CHECKSUM_NAMES). The
// engine calls `verify` on a matched secret to drop look-alikes; the example expander calls `complete`
// and `corrupt` to build test secrets whose checksum is right or wrong. Pure functions, no I/O.
import type { ChecksumName } from './schema.js';

export interface ChecksumValidator {
  /** True when `secret` (the whole matched secret) carries a correct checksum. */
  verify(secret: string): boolean;
  /** The checksum suffix for a secret generated up to (not including) its checksum. */
  complete(secretSoFar: string): string;
  /** A suffix of the same shape as `complete` returns, but wrong. */
  corrupt(secretSoFar: string): string;
}

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib computes it. Written here because
// zlib.crc32 exists only from Node 22.2 and keywarden supports Node 20.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of the UTF-8 bytes of `text` (token alphabets are ASCII, so one byte per char). */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const IS_BASE62 = /^[0-9A-Za-z]+$/;
const IS_HEX8 = /^[0-9a-f]{8}$/;

function base62(n: number, width: number): string {
  let out = '';
  do {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(width, '0');
}

/** A different character from the same alphabet, so the corrupted suffix keeps its shape. */
function bump(s: string, alphabet: string): string {
  const last = s.at(-1) ?? alphabet[0]!;
  const next = alphabet[(alphabet.indexOf(last) + 1) % alphabet.length]!;
  return s.slice(0, -1) + next;
}

/** Everything after the first `_` (the type prefix); the whole string when there is none. */
function afterPrefix(s: string): string {
  const i = s.indexOf('_');
  return i < 0 ? s : s.slice(i + 1);
}

/*
 * GitHub (ghp_/gho_/ghu_/ghs_/ghr_) and npm (npm_) tokens: prefix + random base62 + 6 base62 chars
 * that encode CRC-32 of the random part only (not the prefix), alphabet 0-9A-Za-z, left-padded with
 * '0'. GitHub's post (https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/)
 * says only "32-bit checksum in the last 6 characters"; the split is established by public validators
 * that agree with each other: Samsung/CredSweeper credsweeper/filters/value_github_check.py (CRC of
 * value[4:-6], for gh*_ and npm_), DataDog/dd-sensitive-data-scanner
 * sds/src/secondary_validation/github_token_checksum.rs (CRC of the part after the last '_' minus 6),
 * and tokens their owner generated on GitHub in stefansundin/token-checksum test.rb, which pass only
 * when the prefix is left out (checked offline while writing this; those tokens are not copied here).
 * GitHub said tokens may grow, so the body is "all after the prefix underscore", not fixed at 30.
 */
const base62Crc32: ChecksumValidator = {
  verify(secret) {
    const body = afterPrefix(secret);
    if (body.length <= 6 || !IS_BASE62.test(body)) return false;
    return base62(crc32(body.slice(0, -6)), 6) === body.slice(-6);
  },
  complete: (soFar) => base62(crc32(afterPrefix(soFar)), 6),
  corrupt: (soFar) => bump(base62(crc32(afterPrefix(soFar)), 6), BASE62),
};

/*
 * Cloudflare cfut_/cfat_/cfk_ + 40 chars + 8 lowercase hex. Cloudflare's page
 * (https://developers.cloudflare.com/fundamentals/api/get-started/token-formats) says only "prefix,
 * 40 characters and a checksum". secretlint's rule (packages/@secretlint/secretlint-rule-cloudflare,
 * src/index.ts) documents "CRC32 of the body encoded as 8 lowercase hex chars", and its test input
 * uses one body with checksum 03fa099b under all three prefixes: that value is CRC-32 of the 40-char
 * body alone, big-endian hex (verified), so the prefix is not covered.
 */
const cloudflareCrc32: ChecksumValidator = {
  verify(secret) {
    const m = /^(?:cfut|cfat|cfk)_([0-9A-Za-z]+)$/.exec(secret);
    const rest = m?.[1];
    if (!rest || rest.length <= 8) return false;
    const sum = rest.slice(-8);
    return IS_HEX8.test(sum) && hex8(crc32(rest.slice(0, -8))) === sum;
  },
  complete: (soFar) => hex8(crc32(afterPrefix(soFar))),
  corrupt: (soFar) => bump(hex8(crc32(afterPrefix(soFar))), '0123456789abcdef'),
};

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Little-endian byte order, as Go's satokengen writes the CRC before hex-encoding it. */
function hex8le(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b.toString('hex');
}

/*
 * Grafana service-account tokens `glsa_` + 32 alnum + `_` + 8 hex. grafana/grafana
 * pkg/components/satokengen/tokengen.go: checksum = crc32.ChecksumIEEE("gl" + serviceID + "_" + secret),
 * i.e. CRC-32 of everything before the last `_` (prefix included), written as its 4 bytes in
 * little-endian order, hex-encoded. Vector from tokengen_test.go: glsa_iNValIdinValiDinvalidinvalidinva_5b582697.
 */
const grafanaCrc32: ChecksumValidator = {
  verify(secret) {
    const parts = secret.split('_');
    if (parts.length !== 3 || !parts[0]!.startsWith('gl') || !parts[1]) return false;
    return IS_HEX8.test(parts[2]!) && hex8le(crc32(`${parts[0]}_${parts[1]}`)) === parts[2];
  },
  // The template writes `glsa_{base62:32}_{checksum}`: the separator is already there; leave it out.
  complete: (soFar) => hex8le(crc32(soFar.replace(/_$/, ''))),
  corrupt: (soFar) => bump(hex8le(crc32(soFar.replace(/_$/, ''))), '0123456789abcdef'),
};

/*
 * Bech32 (BIP-173, https://github.com/bitcoin/bips/blob/master/bip-0173.mediawiki), as age uses it
 * for `AGE-SECRET-KEY-1…` (hrp `age-secret-key-`, upper case on the wire; the checksum is defined
 * over the lower-case form). Generic over the hrp, so BIP-173's own vectors test it.
 */
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32_GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= BECH32_GEN[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const hi: number[] = [];
  const lo: number[] = [];
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i);
    hi.push(c >>> 5);
    lo.push(c & 31);
  }
  return [...hi, 0, ...lo];
}

/** Splits `hrp1data` at the last '1'; null when a data char is outside the alphabet. */
function splitBech32(lower: string): { hrp: string; data: number[] } | null {
  const sep = lower.lastIndexOf('1');
  if (sep < 1) return null;
  const data: number[] = [];
  for (const ch of lower.slice(sep + 1)) {
    const v = BECH32.indexOf(ch);
    if (v < 0) return null;
    data.push(v);
  }
  return { hrp: lower.slice(0, sep), data };
}

function bech32Checksum(soFar: string): string {
  const parts = splitBech32(soFar.toLowerCase());
  if (!parts) throw new Error(`bech32: cannot compute a checksum for a string without "1" separator or with non-Bech32 data`);
  const mod = polymod([...hrpExpand(parts.hrp), ...parts.data, 0, 0, 0, 0, 0, 0]) ^ 1;
  let out = '';
  for (let i = 0; i < 6; i++) out += BECH32[(mod >>> (5 * (5 - i))) & 31]!;
  // Match the case of what came before: age keys are upper case.
  return soFar === soFar.toUpperCase() ? out.toUpperCase() : out;
}

const bech32: ChecksumValidator = {
  verify(secret) {
    // BIP-173: all-lower or all-upper, printable ASCII hrp, at least 6 checksum chars.
    if (secret !== secret.toLowerCase() && secret !== secret.toUpperCase()) return false;
    const parts = splitBech32(secret.toLowerCase());
    if (!parts || parts.data.length < 6 || !/^[\x21-\x7e]+$/.test(parts.hrp)) return false;
    return polymod([...hrpExpand(parts.hrp), ...parts.data]) === 1;
  },
  complete: bech32Checksum,
  corrupt(soFar) {
    const good = bech32Checksum(soFar);
    const upper = good === good.toUpperCase();
    // Bech32 detects every single-character substitution, so changing one char is always wrong.
    const bad = bump(good.toLowerCase(), BECH32);
    return upper ? bad.toUpperCase() : bad;
  },
};

const IS_B64URL = /^[A-Za-z0-9_-]+$/;

/*
 * PyPI tokens: `pypi-` + a base64url-serialized macaroon whose location is "pypi.org" (tokens minted by
 * pypi.org begin `pypi-AgEIcHlwaS5vcmc`; test.pypi.org's carry "test.pypi.org"). No checksum to
 * compute: complete/corrupt return '' and rule templates do not use {checksum} with this validator.
 */
const pypiMacaroon: ChecksumValidator = {
  verify(secret) {
    if (!secret.startsWith('pypi-')) return false;
    const body = secret.slice(5);
    return IS_B64URL.test(body) && Buffer.from(body, 'base64url').includes('pypi.org');
  },
  complete: () => '',
  corrupt: () => '',
};

function decodeJsonObject(segment: string): Record<string, unknown> | null {
  if (!IS_B64URL.test(segment)) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/*
 * JWT (RFC 7519): three base64url segments; header and payload decode to JSON objects and the header
 * names its `alg`. Structural only (the signature needs the issuer's key). complete/corrupt return ''.
 */
const jwt: ChecksumValidator = {
  verify(secret) {
    const parts = secret.split('.');
    if (parts.length !== 3 || !IS_B64URL.test(parts[2]!)) return false;
    const header = decodeJsonObject(parts[0]!);
    return header !== null && typeof header.alg === 'string' && decodeJsonObject(parts[1]!) !== null;
  },
  complete: () => '',
  corrupt: () => '',
};

export const checksums: Record<ChecksumName, ChecksumValidator> = {
  'github-crc32': base62Crc32,
  'npm-crc32': base62Crc32,
  'cloudflare-crc32': cloudflareCrc32,
  'grafana-crc32': grafanaCrc32,
  bech32,
  'pypi-macaroon': pypiMacaroon,
  jwt,
};
