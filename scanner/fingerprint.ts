// A finding's identity: a keyed hash of (rule id, secret), so reports, baselines and the store can
// compare findings across scans without ever holding the secret. Used by `pipeline.ts` and the
// redaction markers (`redact-spans.ts`); the key is resolved once at start-up by the entry point
// (`resolveFingerprintKey`).
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FINGERPRINT_KEY_ENV, MIN_FINGERPRINT_KEY_CHARS } from '../config/fingerprint.js';
import type { Environment } from '../config/section.js';
import { KeywardenError } from '../errors/error.js';

/** File name of the per-machine key inside the config directory. */
export const FINGERPRINT_KEY_FILE = 'fingerprint.key';

/**
 * `kw1:` + the first 32 hex digits (128 bits) of HMAC-SHA256(key, ruleId + NUL + secret).
 * Keyed, so a leaked report cannot be used to confirm a guessed secret; NUL-separated, so no
 * (rule, secret) pair can collide with another by moving characters across the boundary.
 */
export function fingerprint(key: Buffer, ruleId: string, secret: string): string {
  const mac = createHmac('sha256', key).update(ruleId, 'utf8').update('\0', 'utf8').update(secret, 'utf8').digest('hex');
  return `kw1:${mac.slice(0, 32)}`;
}

export interface FingerprintKey {
  key: Buffer;
  /** `env`: from {@link FINGERPRINT_KEY_ENV}; `file-created`: a new key was written now; `file`: an existing key file. */
  origin: 'env' | 'file' | 'file-created';
}

/**
 * Decides the key every fingerprint of this run is computed with.
 *
 * 1. `KEYWARDEN_FINGERPRINT_KEY`, if set (even to the empty string, so that a CI secret that failed to
 *    expand is an error rather than a silent switch to a machine-local key): its UTF-8 bytes, which must
 *    be at least 16 characters, else `KW_CONFIG_INVALID`.
 * 2. Otherwise the key file `<configDir>/fingerprint.key`, created on first use from 32 random bytes
 *    (written as 64 hex digits, mode 0600, directories created with mode 0700).
 *
 * @defaultValue `opts.configDir` is computed by the caller (config/paths.ts): `$XDG_CONFIG_HOME/keywarden`,
 * else `~/.config/keywarden`. With that default, fingerprints are stable **on this machine only**: two
 * machines (a laptop and CI, or two CI runners) produce different fingerprints for the same secret,
 * so baselines and ignore files do not carry over. To share fingerprints across machines and CI, set
 * `KEYWARDEN_FINGERPRINT_KEY` to the same value everywhere. The key is the file's text (not the bytes
 * it encodes), so `KEYWARDEN_FINGERPRINT_KEY=$(cat ~/.config/keywarden/fingerprint.key)` elsewhere
 * reproduces this machine's fingerprints exactly.
 */
export function resolveFingerprintKey(env: Environment, opts: { configDir: string }): FingerprintKey {
  const fromEnv = env[FINGERPRINT_KEY_ENV];
  if (fromEnv !== undefined) return { key: checkedKey(fromEnv, `${FINGERPRINT_KEY_ENV} is`), origin: 'env' };

  const file = join(opts.configDir, FINGERPRINT_KEY_FILE);
  const existing = readKeyFile(file);
  if (existing !== null) return { key: checkedKey(existing, `${file} holds a key`), origin: 'file' };

  try {
    mkdirSync(opts.configDir, { recursive: true, mode: 0o700 });
    // `wx`: if another keywarden process created the file since we looked, keep its key, not ours.
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new KeywardenError(
        'KW_CONFIG_INVALID',
        `cannot create the fingerprint key file ${file}: ${(err as Error).message}`,
        [`set ${FINGERPRINT_KEY_ENV} instead, or make ${opts.configDir} writable`],
        { cause: err },
      );
    }
  }
  const created = readKeyFile(file);
  if (created === null) throw new KeywardenError('KW_INTERNAL', `fingerprint key file ${file} vanished after creation`);
  return { key: checkedKey(created, `${file} holds a key`), origin: 'file-created' };
}

/** The file's text without surrounding whitespace, or null if it does not exist. */
function readKeyFile(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KeywardenError('KW_CONFIG_INVALID', `cannot read the fingerprint key file ${file}: ${(err as Error).message}`, [], {
      cause: err,
    });
  }
}

/** The message names where the key came from and its length, never the key itself. */
function checkedKey(text: string, what: string): Buffer {
  const chars = Array.from(text).length;
  if (chars < MIN_FINGERPRINT_KEY_CHARS) {
    throw new KeywardenError(
      'KW_CONFIG_INVALID',
      `${what} ${chars} characters long; a fingerprint key needs at least ${MIN_FINGERPRINT_KEY_CHARS}`,
    );
  }
  return Buffer.from(text, 'utf8');
}
