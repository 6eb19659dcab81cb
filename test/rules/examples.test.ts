// The example-template expander: each placeholder's alphabet and length, «» markers and the secret's
// position, checksums over the marked secret, literal braces left alone, and loud typos.
import { describe, expect, it } from 'vitest';
import { checksums } from '../../rules/checksums.js';
import { expandTemplate, seededRng } from '../../rules/examples.js';

const rng = () => seededRng(7);
const expand = (t: string, checksum?: Parameters<typeof expandTemplate>[1]['checksum']) =>
  expandTemplate(t, { rng: rng(), checksum });

describe('expandTemplate', () => {
  const sized: Record<string, RegExp> = {
    '{base62:30}': /^[0-9A-Za-z]{30}$/,
    '{hex:32}': /^[0-9a-f]{32}$/,
    '{HEX:16}': /^[0-9A-F]{16}$/,
    '{base64:40}': /^[A-Za-z0-9+/]{40}$/,
    '{base64url:43}': /^[A-Za-z0-9_-]{43}$/,
    '{upper:8}': /^[A-Z]{8}$/,
    '{lower:8}': /^[a-z]{8}$/,
    '{letters:9}': /^[A-Za-z]{9}$/,
    '{digits:12}': /^[0-9]{12}$/,
    '{upperdigits:16}': /^[A-Z0-9]{16}$/,
    '{lowerdigits:16}': /^[a-z0-9]{16}$/,
    '{base32:16}': /^[A-Z2-7]{16}$/,
    '{bech32:20}': /^[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{20}$/,
    '{BECH32:20}': /^[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{20}$/,
    '{uuid}': /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  };
  it.each(Object.entries(sized))('expands %s to its alphabet and length', (template, shape) => {
    for (let seed = 0; seed < 20; seed++) {
      expect(expandTemplate(template, { rng: seededRng(seed) }).text).toMatch(shape);
    }
  });

  it('is reproducible for one seed and varies across seeds', () => {
    expect(expand('{base62:30}').text).toBe(expand('{base62:30}').text);
    expect(expandTemplate('{base62:30}', { rng: seededRng(1) }).text).not.toBe(
      expandTemplate('{base62:30}', { rng: seededRng(2) }).text,
    );
  });

  it('removes « » and reports the secret with its UTF-16 start', () => {
    const ex = expand('export TOKEN="«demo_{hex:8}»" # ünïcode before? no: after ✓');
    expect(ex.text).not.toMatch(/[«»]/);
    expect(ex.secret).toMatch(/^demo_[0-9a-f]{8}$/);
    expect(ex.text.slice(ex.secretStart, ex.secretStart! + ex.secret!.length)).toBe(ex.secret);
    expect(ex.secretStart).toBe('export TOKEN="'.length);
  });

  it('counts the secret start in UTF-16 units when non-ASCII text comes first', () => {
    const ex = expand('clé → «k_{digits:4}»');
    expect(ex.secretStart).toBe('clé → '.length);
    expect(ex.text.slice(ex.secretStart)).toBe(ex.secret);
  });

  it('returns no secret for an unmarked template (negatives)', () => {
    const ex = expand('token: {hex:8}');
    expect(ex.secret).toBeUndefined();
    expect(ex.secretStart).toBeUndefined();
  });

  it('computes {checksum} over the marked secret so far, so the result verifies', () => {
    for (let seed = 0; seed < 20; seed++) {
      const ex = expandTemplate('GITHUB_TOKEN=«ghp_{base62:30}{checksum}»', { checksum: 'github-crc32', rng: seededRng(seed) });
      expect(ex.secret).toMatch(/^ghp_[0-9A-Za-z]{36}$/);
      expect(checksums['github-crc32'].verify(ex.secret!)).toBe(true);
    }
    const age = expand('«AGE-SECRET-KEY-1{BECH32:52}{checksum}»', 'bech32');
    expect(age.secret).toMatch(/^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$/);
    expect(checksums.bech32.verify(age.secret!)).toBe(true);
    const grafana = expand('«glsa_{base62:32}_{checksum}»', 'grafana-crc32');
    expect(checksums['grafana-crc32'].verify(grafana.secret!)).toBe(true);
  });

  it('computes {badchecksum} in unmarked negatives over the token that precedes it', () => {
    for (let seed = 0; seed < 20; seed++) {
      const ex = expandTemplate('export X=ghp_{base62:30}{badchecksum}', { checksum: 'github-crc32', rng: seededRng(seed) });
      const token = ex.text.slice('export X='.length);
      expect(token).toMatch(/^ghp_[0-9A-Za-z]{36}$/);
      expect(checksums['github-crc32'].verify(token)).toBe(false);
    }
    const cf = expand('"cfut_{base62:40}{badchecksum}"', 'cloudflare-crc32');
    expect(cf.text).toMatch(/^"cfut_[0-9A-Za-z]{40}[0-9a-f]{8}"$/);
    expect(checksums['cloudflare-crc32'].verify(cf.text.slice(1, -1))).toBe(false);
  });

  it('builds a JWT whose header and payload are JSON', () => {
    const ex = expand('Authorization: Bearer «{jwt}»');
    const [h, p, s] = ex.secret!.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    expect(typeof payload.sub).toBe('string');
    expect(Number.isInteger(payload.iat)).toBe(true);
    expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ex.secret!.startsWith('eyJ')).toBe(true);
    expect(checksums.jwt.verify(ex.secret!)).toBe(true);
  });

  const literal: Record<string, string> = {
    'JSON object': '{"token": "x", "n": {"a": 1}}',
    'shell variable': 'TOKEN=${GITHUB_TOKEN}',
    'Helm value': 'token: {{ .Values.token }}',
    'YAML flow mapping': 'auth: {user: demo, pass: demo}',
    'bare word in braces': 'see {token} below',
    'empty braces': 'fn() {}',
  };
  it.each(Object.entries(literal))('keeps a %s literal', (_label, template) => {
    expect(expand(template).text).toBe(template);
  });

  const errors: Record<string, [string, RegExp]> = {
    'a sized placeholder without its length': ['{base62}', /\{base62\} needs a length/],
    'a non-numeric length': ['{hex:abc}', /\{hex\} needs a length/],
    'a zero length': ['{hex:0}', /needs a length/],
    'an argument to a bare placeholder': ['{uuid:4}', /takes no argument/],
    'an unknown placeholder name with a length': ['{alnum:20}', /unknown placeholder \{alnum:20\}/],
    'two « markers': ['«a» «b»', /more than one «/],
    'an unclosed «': ['«abc', /« without a closing »/],
    'a stray »': ['abc»', /» without a matching «/],
  };
  it.each(Object.entries(errors))('throws on %s', (_label, [template, message]) => {
    expect(() => expand(template)).toThrow(message);
  });

  it('throws when {checksum} is used by a rule that names no checksum', () => {
    expect(() => expand('«ghp_{base62:30}{checksum}»')).toThrow(/\{checksum\} used but the rule names no checksum/);
    expect(() => expand('ghp_{base62:30}{badchecksum}')).toThrow(/names no checksum/);
  });
});

describe('seededRng', () => {
  it('yields numbers in [0, 1) and repeats per seed', () => {
    const a = seededRng(123);
    const b = seededRng(123);
    for (let n = 0; n < 1000; n++) {
      const x = a();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      expect(b()).toBe(x);
    }
  });
});
