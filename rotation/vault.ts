// The raw secret at rest, for liveness checks and provider-side revocation: AES-256-GCM with a random
// 96-bit nonce per record, the key from KEYWARDEN_SECRET_KEY (never stored), and the fingerprint as
// associated data, so a record copied onto another finding does not decrypt. The storage behind it
// (the finding store, in Redis) only ever holds the sealed text; `delete` runs when the finding closes.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SecretValue } from '../config/sections/rotation.js';

/** Where sealed records live. The store implements it on Redis; the key never reaches it. */
export interface CiphertextStorage {
  get(fingerprint: string): Promise<string | null>;
  set(fingerprint: string, sealed: string): Promise<void>;
  /** True if a record was there. */
  delete(fingerprint: string): Promise<boolean>;
}

/** The secret, and for paired credentials (an AWS key id with its secret key) the other parts by name. */
export interface RawSecret {
  value: string;
  parts?: Readonly<Record<string, string>>;
}

const VERSION = 'kwv1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Names the key without revealing it, so a record sealed under another key is told apart from a forged one. */
export function vaultKeyId(key: Buffer): string {
  return createHash('sha256').update('keywarden vault key id\0').update(key).digest('hex').slice(0, 8);
}

function aad(fingerprint: string): Buffer {
  return Buffer.from(`${VERSION}\0${fingerprint}`, 'utf8');
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new RangeError('the vault key must be 32 bytes (AES-256)');
}

/** `kwv1.<key id>.<nonce>.<ciphertext>.<tag>` (base64url parts). A new random nonce every call. */
export function sealSecret(key: Buffer, fingerprint: string, secret: RawSecret): string {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(fingerprint));
  const plain = Buffer.from(JSON.stringify(secret.parts ? { v: secret.value, p: secret.parts } : { v: secret.value }), 'utf8');
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  plain.fill(0);
  return [
    VERSION,
    vaultKeyId(key),
    nonce.toString('base64url'),
    ct.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
  ].join('.');
}

export type OpenResult =
  | { ok: true; secret: RawSecret }
  /**
   * `wrong-key`: sealed under another KEYWARDEN_SECRET_KEY; `not-authentic`: tampered with, or sealed
   * for another fingerprint; `malformed`: not a vault record.
   */
  | { ok: false; reason: 'wrong-key' | 'not-authentic' | 'malformed' };

export function openSecret(key: Buffer, fingerprint: string, sealed: string): OpenResult {
  checkKey(key);
  const parts = sealed.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) return { ok: false, reason: 'malformed' };
  const [, kid, n, c, t] = parts as [string, string, string, string, string];
  if (kid !== vaultKeyId(key)) return { ok: false, reason: 'wrong-key' };
  const nonce = Buffer.from(n, 'base64url');
  const tag = Buffer.from(t, 'base64url');
  if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) return { ok: false, reason: 'malformed' };
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(fingerprint));
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(Buffer.from(c, 'base64url')), decipher.final()]);
  } catch {
    return { ok: false, reason: 'not-authentic' };
  }
  try {
    const o = JSON.parse(plain.toString('utf8')) as { v?: unknown; p?: unknown };
    if (typeof o.v !== 'string') return { ok: false, reason: 'malformed' };
    const secret: RawSecret = { value: o.v };
    if (o.p !== undefined) secret.parts = o.p as Record<string, string>;
    return { ok: true, secret };
  } catch {
    return { ok: false, reason: 'malformed' };
  } finally {
    plain.fill(0);
  }
}

export type VaultRead =
  | { status: 'ok'; secret: RawSecret }
  | { status: 'absent' }
  | { status: 'unreadable'; reason: 'wrong-key' | 'not-authentic' | 'malformed' };

/** Encrypt / decrypt / delete raw secrets by fingerprint over a storage that sees only sealed text. */
export class SecretVault {
  readonly #key: Buffer;
  readonly #storage: CiphertextStorage;

  constructor(key: Buffer | SecretValue<Buffer>, storage: CiphertextStorage) {
    const k = Buffer.isBuffer(key) ? key : key.reveal();
    checkKey(k);
    this.#key = Buffer.from(k);
    this.#storage = storage;
  }

  /** Seals and stores (replacing an earlier record of the same finding). */
  async put(fingerprint: string, secret: RawSecret): Promise<void> {
    await this.#storage.set(fingerprint, sealSecret(this.#key, fingerprint, secret));
  }

  async get(fingerprint: string): Promise<VaultRead> {
    const sealed = await this.#storage.get(fingerprint);
    if (sealed === null) return { status: 'absent' };
    const r = openSecret(this.#key, fingerprint, sealed);
    return r.ok ? { status: 'ok', secret: r.secret } : { status: 'unreadable', reason: r.reason };
  }

  async has(fingerprint: string): Promise<boolean> {
    return (await this.#storage.get(fingerprint)) !== null;
  }

  /** When the finding closes (revoked, false positive, accepted risk). True if there was a record. */
  async delete(fingerprint: string): Promise<boolean> {
    return this.#storage.delete(fingerprint);
  }

  toJSON(): string {
    return '[SecretVault]';
  }
}

/** In-process storage for tests and the CLI's one-shot paths. */
export class MemoryCiphertextStorage implements CiphertextStorage {
  readonly records = new Map<string, string>();
  async get(fingerprint: string): Promise<string | null> {
    return this.records.get(fingerprint) ?? null;
  }
  async set(fingerprint: string, sealed: string): Promise<void> {
    this.records.set(fingerprint, sealed);
  }
  async delete(fingerprint: string): Promise<boolean> {
    return this.records.delete(fingerprint);
  }
}
