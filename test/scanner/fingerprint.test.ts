import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeywardenError } from '../../errors/error.js';
import { fingerprint, resolveFingerprintKey } from '../../scanner/fingerprint.js';

const KEY = Buffer.from('0123456789abcdef');

describe('fingerprint', () => {
  it('is kw1: + the first 32 hex digits of HMAC-SHA256(key, rule NUL secret)', () => {
    // Vector computed independently: printf 'github-pat\0not-a-secret' | openssl dgst -sha256 -hmac 0123456789abcdef
    expect(fingerprint(KEY, 'github-pat', 'not-a-secret')).toBe('kw1:f16ac9ac4900be00b5f9ddd83d18f486');
  });

  it('changes with the key, the rule and the secret', () => {
    const base = fingerprint(KEY, 'r', 'secret-value');
    expect(fingerprint(Buffer.from('fedcba9876543210'), 'r', 'secret-value')).not.toBe(base);
    expect(fingerprint(KEY, 'r2', 'secret-value')).not.toBe(base);
    expect(fingerprint(KEY, 'r', 'secret-valuf')).not.toBe(base);
  });

  it('keeps rule and secret apart: moving characters across the boundary changes the hash', () => {
    expect(fingerprint(KEY, 'ab', 'c')).not.toBe(fingerprint(KEY, 'a', 'bc'));
  });
});

describe('resolveFingerprintKey', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-fpkey-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the UTF-8 bytes of KEYWARDEN_FINGERPRINT_KEY and touches no file', () => {
    const configDir = join(dir, 'cfg');
    const r = resolveFingerprintKey({ KEYWARDEN_FINGERPRINT_KEY: 'shared-key-for-ci-ü1' }, { configDir });
    expect(r.origin).toBe('env');
    expect(r.key.equals(Buffer.from('shared-key-for-ci-ü1', 'utf8'))).toBe(true);
    expect(() => statSync(configDir)).toThrow();
  });

  it.each(Object.entries({ short: 'too-short-key', empty: '' }))(
    'rejects a %s variable with KW_CONFIG_INVALID, without echoing it',
    (_name, value) => {
      let err: unknown;
      try {
        resolveFingerprintKey({ KEYWARDEN_FINGERPRINT_KEY: value }, { configDir: dir });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KeywardenError);
      expect((err as KeywardenError).code).toBe('KW_CONFIG_INVALID');
      if (value) expect((err as KeywardenError).message).not.toContain(value);
    },
  );

  it('creates a 0600 key file (and its directories) on first use, then reuses it', () => {
    const configDir = join(dir, 'a', 'b', 'keywarden');
    const first = resolveFingerprintKey({}, { configDir });
    expect(first.origin).toBe('file-created');
    const file = join(configDir, 'fingerprint.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);

    const second = resolveFingerprintKey({}, { configDir });
    expect(second.origin).toBe('file');
    expect(second.key.equals(first.key)).toBe(true);
  });

  it('gives the same key when the file text is copied into the variable on another machine', () => {
    const local = resolveFingerprintKey({}, { configDir: dir });
    const text = readFileSync(join(dir, 'fingerprint.key'), 'utf8').trim();
    const ci = resolveFingerprintKey({ KEYWARDEN_FINGERPRINT_KEY: text }, { configDir: join(dir, 'elsewhere') });
    expect(fingerprint(ci.key, 'r', 's')).toBe(fingerprint(local.key, 'r', 's'));
  });

  it('gives a different key on a different machine (a fresh config dir)', () => {
    const a = resolveFingerprintKey({}, { configDir: join(dir, 'a') });
    const b = resolveFingerprintKey({}, { configDir: join(dir, 'b') });
    expect(a.key.equals(b.key)).toBe(false);
  });

  it('rejects a key file holding fewer than 16 characters', () => {
    writeFileSync(join(dir, 'fingerprint.key'), 'short\n');
    expect(() => resolveFingerprintKey({}, { configDir: dir })).toThrow(expect.objectContaining({ code: 'KW_CONFIG_INVALID' }));
  });
});
