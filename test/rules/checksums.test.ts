// Checksum validators: generated tokens verify, one changed character fails, and published vectors
// (CRC-32 check value, Grafana's own test token, secretlint's Cloudflare fixture, BIP-173) hold.
// Realistic-looking tokens are generated here at test time, never stored.
import { describe, expect, it } from 'vitest';
import { checksums, crc32 } from '../../rules/checksums.js';
import { seededRng } from '../../rules/examples.js';
import type { ChecksumName } from '../../rules/schema.js';

const rng = seededRng(20240501);
const pick = (alphabet: string, n: number) =>
  Array.from({ length: n }, () => alphabet[Math.floor(rng() * alphabet.length)]).join('');
const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BECH = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** Replaces the char at `i` with another char that keeps the token's alphabet. */
function flip(s: string, i: number, alphabet: string): string {
  const c = s[i]!;
  const j = alphabet.indexOf(c);
  const other = alphabet[(j + 7) % alphabet.length]!;
  return s.slice(0, i) + other + s.slice(i + 1);
}

/** For each validator with a computed checksum: how to build the part before the checksum. */
const generators: Record<string, { name: ChecksumName; head: () => string; sep?: string; alphabet: string }> = {
  'GitHub classic PAT': { name: 'github-crc32', head: () => `ghp_${pick(B62, 30)}`, alphabet: B62 },
  'GitHub OAuth token': { name: 'github-crc32', head: () => `gho_${pick(B62, 30)}`, alphabet: B62 },
  'GitHub token with a longer body': { name: 'github-crc32', head: () => `ghs_${pick(B62, 70)}`, alphabet: B62 },
  'npm token': { name: 'npm-crc32', head: () => `npm_${pick(B62, 30)}`, alphabet: B62 },
  'Cloudflare user token': { name: 'cloudflare-crc32', head: () => `cfut_${pick(B62, 40)}`, alphabet: B62 },
  'Cloudflare global key': { name: 'cloudflare-crc32', head: () => `cfk_${pick(B62, 40)}`, alphabet: B62 },
  'Grafana service-account token': { name: 'grafana-crc32', head: () => `glsa_${pick(B62, 32)}_`, alphabet: B62 },
  'age secret key': {
    name: 'bech32',
    head: () => `AGE-SECRET-KEY-1${pick(BECH, 52).toUpperCase()}`,
    alphabet: BECH.toUpperCase(),
  },
};

describe('checksum validators', () => {
  it('compute the standard CRC-32 check value', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });

  describe.each(Object.entries(generators))('%s', (_label, g) => {
    const v = checksums[g.name];
    it('verifies tokens built with complete()', () => {
      for (let n = 0; n < 50; n++) {
        const head = g.head();
        expect(v.verify(head + v.complete(head))).toBe(true);
      }
    });
    it('rejects a token with one changed character in the body or the checksum', () => {
      for (let n = 0; n < 50; n++) {
        const head = g.head();
        const token = head + v.complete(head);
        const prefixLen = token.indexOf('_') >= 0 && g.name !== 'bech32' ? token.indexOf('_') + 1 : 'AGE-SECRET-KEY-1'.length;
        // Skip separators: changing `_` changes the shape, not the checksum.
        let i = prefixLen + Math.floor(rng() * (token.length - prefixLen));
        while (!g.alphabet.includes(token[i]!)) i = (i + 1) % token.length;
        expect(v.verify(flip(token, i, g.alphabet))).toBe(false);
      }
    });
    it('rejects the suffix from corrupt(), which keeps the shape of complete()', () => {
      for (let n = 0; n < 50; n++) {
        const head = g.head();
        const good = v.complete(head);
        const bad = v.corrupt(head);
        expect(bad).toHaveLength(good.length);
        expect(bad).not.toBe(good);
        expect(v.verify(head + bad)).toBe(false);
      }
    });
  });

  it('pads a small CRC to six base62 characters', () => {
    // Search a body whose CRC encodes below 62^5, so padding is exercised deterministically.
    const v = checksums['github-crc32'];
    let head = '';
    for (let n = 0; n < 100_000; n++) {
      head = `ghp_${pick(B62, 30)}`;
      if (v.complete(head).startsWith('0')) break;
    }
    expect(v.complete(head)).toMatch(/^0[0-9A-Za-z]{5}$/);
    expect(v.verify(head + v.complete(head))).toBe(true);
  });

  it('rejects GitHub-shaped strings that are not base62 or too short', () => {
    const v = checksums['github-crc32'];
    expect(v.verify('ghp_abc')).toBe(false);
    expect(v.verify('ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')).toBe(false);
    expect(v.verify('github_pat_aaaaaaaaaaaaaaaaaaaaaa_bbbbbbbbbbbbbb')).toBe(false);
  });

  it("accepts Grafana's own test token and rejects its checksum changed", () => {
    // pkg/components/satokengen/tokengen_test.go in grafana/grafana.
    const v = checksums['grafana-crc32'];
    expect(v.verify('glsa_iNValIdinValiDinvalidinvalidinva_5b582697')).toBe(true);
    expect(v.verify('glsa_iNValIdinValiDinvalidinvalidinva_5b582698')).toBe(false);
    expect(v.complete('glsa_iNValIdinValiDinvalidinvalidinva_')).toBe('5b582697');
    expect(v.verify('glsa_iNValIdinValiDinvalidinvalidinva')).toBe(false);
  });

  it("accepts secretlint's Cloudflare fixture body under every prefix", () => {
    // packages/@secretlint/secretlint-rule-cloudflare/test/snapshots/ng.secret/input.txt (an alphabet walk).
    const v = checksums['cloudflare-crc32'];
    const body = 'aAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStT';
    for (const prefix of ['cfut_', 'cfat_', 'cfk_']) expect(v.verify(`${prefix}${body}03fa099b`)).toBe(true);
    expect(v.verify(`cfut_${body}03fa099c`)).toBe(false);
    expect(v.verify(`cfxx_${body}03fa099b`)).toBe(false);
  });

  it('accepts the BIP-173 valid Bech32 vectors and rejects the invalid ones', () => {
    const v = checksums.bech32;
    const valid = [
      'A12UEL5L',
      'a12uel5l',
      'an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs',
      'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw',
      '11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j',
      'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w',
      '?1ezyfcl',
    ];
    for (const s of valid) expect(v.verify(s), s).toBe(true);
    const invalid = ['pzry9x0s0muk', '1pzry9x0s0muk', 'x1b4n0q5v', 'li1dgmt3', 'A1G7SGD8', '10a06t8', '1qzzfhee', 'A12uEL5L'];
    for (const s of invalid) expect(v.verify(s), s).toBe(false);
  });

  it('computes the BIP-173 checksum from the data so far, in the case of the input', () => {
    expect(checksums.bech32.complete('a1')).toBe('2uel5l');
    expect(checksums.bech32.complete('A1')).toBe('2UEL5L');
  });

  it('recognises PyPI macaroon tokens by their serialized location', () => {
    const v = checksums['pypi-macaroon'];
    expect(v.verify(`pypi-AgEIcHlwaS5vcmc${pick(B62 + '_-', 120)}`)).toBe(true);
    expect(v.verify(`pypi-${Buffer.from('not a macaroon at all').toString('base64url')}`)).toBe(false);
    expect(v.verify('pypi-AgEIcHlwaS5vcmc!!')).toBe(false);
    expect(v.complete('pypi-')).toBe('');
    expect(v.corrupt('pypi-')).toBe('');
  });

  it('recognises JWTs by their JSON header with alg and JSON payload', () => {
    const v = checksums.jwt;
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const sig = pick(B62, 43);
    expect(v.verify(`${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'demo' })}.${sig}`)).toBe(true);
    expect(v.verify(`${b64({ typ: 'JWT' })}.${b64({ sub: 'demo' })}.${sig}`)).toBe(false);
    expect(v.verify(`${b64({ alg: 'HS256' })}.${b64([1, 2])}.${sig}`)).toBe(false);
    expect(v.verify(`${b64({ alg: 'HS256' })}.${b64({ sub: 'demo' })}`)).toBe(false);
    expect(v.verify(`${b64({ alg: 'HS256' })}.${Buffer.from('{oops').toString('base64url')}.${sig}`)).toBe(false);
    expect(v.complete('')).toBe('');
  });
});
