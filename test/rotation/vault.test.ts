import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rotationSettings } from '../../config/sections/rotation.js';
import { MemoryCiphertextStorage, openSecret, SecretVault, sealSecret, vaultKeyId } from '../../rotation/vault.js';
import { randomFingerprint } from './fixtures.js';

const key = randomBytes(32);
// A made-up credential, generated per run.
const secret = `ghp_${randomBytes(18).toString('base64url')}`;

describe('raw-secret vault (AES-256-GCM)', () => {
  it('round-trips a secret, and paired parts, through storage that only sees sealed text', async () => {
    const storage = new MemoryCiphertextStorage();
    const vault = new SecretVault(key, storage);
    const fp = randomFingerprint();
    const fp2 = randomFingerprint();
    const awsSecret = randomBytes(30).toString('base64');
    await vault.put(fp, { value: secret });
    await vault.put(fp2, { value: 'AKIA-made-up', parts: { secretAccessKey: awsSecret } });
    expect(await vault.get(fp)).toEqual({ status: 'ok', secret: { value: secret } });
    expect(await vault.get(fp2)).toEqual({
      status: 'ok',
      secret: { value: 'AKIA-made-up', parts: { secretAccessKey: awsSecret } },
    });
    const stored = [...storage.records.values()].join('\n');
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(awsSecret);
    expect(stored).not.toContain(key.toString('hex'));
    expect(stored).not.toContain(key.toString('base64'));
    expect(storage.records.get(fp)).toMatch(/^kwv1\.[0-9a-f]{8}\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
  });

  it('uses a new random nonce for every record: the same secret never seals the same way twice', () => {
    const fp = randomFingerprint();
    const a = sealSecret(key, fp, { value: secret });
    const b = sealSecret(key, fp, { value: secret });
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
  });

  it('deletes, and reports absence', async () => {
    const storage = new MemoryCiphertextStorage();
    const vault = new SecretVault(key, storage);
    const fp = randomFingerprint();
    await vault.put(fp, { value: secret });
    expect(await vault.has(fp)).toBe(true);
    expect(await vault.delete(fp)).toBe(true);
    expect(await vault.delete(fp)).toBe(false);
    expect(await vault.get(fp)).toEqual({ status: 'absent' });
    expect(storage.records.size).toBe(0);
  });

  const fp = randomFingerprint();
  const sealed = sealSecret(key, fp, { value: secret });
  const parts = sealed.split('.');
  const flip = (s: string) => {
    const b = Buffer.from(s, 'base64url');
    b[0] = (b[0] as number) ^ 1;
    return b.toString('base64url');
  };
  const cases: Record<string, { key?: Buffer; fp?: string; sealed: string; reason: string }> = {
    'another key': { key: randomBytes(32), sealed, reason: 'wrong-key' },
    'a ciphertext with one bit flipped': {
      sealed: [parts[0], parts[1], parts[2], flip(parts[3] as string), parts[4]].join('.'),
      reason: 'not-authentic',
    },
    'a tag with one bit flipped': {
      sealed: [parts[0], parts[1], parts[2], parts[3], flip(parts[4] as string)].join('.'),
      reason: 'not-authentic',
    },
    'a nonce with one bit flipped': {
      sealed: [parts[0], parts[1], flip(parts[2] as string), parts[3], parts[4]].join('.'),
      reason: 'not-authentic',
    },
    "another finding's record (the fingerprint is associated data)": { fp: randomFingerprint(), sealed, reason: 'not-authentic' },
    'a truncated record': { sealed: parts.slice(0, 4).join('.'), reason: 'malformed' },
    'plain text': { sealed: secret, reason: 'malformed' },
    'another format version': { sealed: ['kwv0', ...parts.slice(1)].join('.'), reason: 'malformed' },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(`refuses ${name}`, () => {
      expect(openSecret(c.key ?? key, c.fp ?? fp, c.sealed)).toEqual({ ok: false, reason: c.reason });
    });
  }

  it('a key id that was forged to match still fails authentication under the wrong key', () => {
    const other = randomBytes(32);
    const forged = [parts[0], vaultKeyId(other), ...parts.slice(2)].join('.');
    expect(openSecret(other, fp, forged)).toEqual({ ok: false, reason: 'not-authentic' });
  });

  it('reads through the vault as unreadable, never as a secret', async () => {
    const storage = new MemoryCiphertextStorage();
    await new SecretVault(key, storage).put(fp, { value: secret });
    expect(await new SecretVault(randomBytes(32), storage).get(fp)).toEqual({ status: 'unreadable', reason: 'wrong-key' });
  });

  it('takes the key from the settings (KEYWARDEN_SECRET_KEY), and refuses a key that is not 32 bytes', async () => {
    const r = rotationSettings({ env: { KEYWARDEN_SECRET_KEY: key.toString('base64') } });
    if (!r.ok || !r.settings.rawSecrets.kept) throw new Error('expected a key');
    const storage = new MemoryCiphertextStorage();
    const vault = new SecretVault(r.settings.rawSecrets.key, storage);
    await vault.put(fp, { value: secret });
    expect(openSecret(key, fp, storage.records.get(fp) as string)).toEqual({ ok: true, secret: { value: secret } });
    expect(() => new SecretVault(randomBytes(16), storage)).toThrow(/32 bytes/);
    expect(JSON.stringify({ vault })).toBe('{"vault":"[SecretVault]"}');
  });
});
