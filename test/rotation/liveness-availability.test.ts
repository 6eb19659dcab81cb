import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RAW_SECRETS_OFF_MESSAGE, type RawSecretKeeping, SecretValue } from '../../config/sections/rotation.js';
import { livenessAvailability } from '../../rotation/liveness-availability.js';
import type { VaultRead } from '../../rotation/vault.js';

const kept: RawSecretKeeping = { kept: true, key: new SecretValue(randomBytes(32)) };
const off: RawSecretKeeping = { kept: false, message: RAW_SECRETS_OFF_MESSAGE };

describe('whether a liveness check can run, and why not', () => {
  const cases: Record<string, { check?: boolean; raw: RawSecretKeeping; stored: VaultRead | null; want: string | null }> = {
    'a stored secret and a check: available': { raw: kept, stored: { status: 'ok', secret: { value: 'x' } }, want: null },
    'a rule without a check': {
      check: false,
      raw: kept,
      stored: { status: 'ok', secret: { value: 'x' } },
      want: "no-check: rule github-pat has no liveness check: closing this finding takes a human's confirm_revoked with a reason",
    },
    'no KEYWARDEN_SECRET_KEY': { raw: off, stored: null, want: `no-key: ${RAW_SECRETS_OFF_MESSAGE}` },
    'nothing stored for the finding': {
      raw: kept,
      stored: { status: 'absent' },
      want: 'no-secret: no raw secret is stored for this finding (recorded while KEYWARDEN_SECRET_KEY was not set, or already deleted): liveness checks cannot run',
    },
    'sealed under another key': {
      raw: kept,
      stored: { status: 'unreadable', reason: 'wrong-key' },
      want: 'unreadable: the stored secret was sealed under another KEYWARDEN_SECRET_KEY: liveness checks cannot run until that key is restored',
    },
    damaged: {
      raw: kept,
      stored: { status: 'unreadable', reason: 'not-authentic' },
      want: 'unreadable: the stored secret does not decrypt (damaged or not this finding’s): liveness checks cannot run',
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const r = livenessAvailability({
        ruleId: 'github-pat',
        hasLivenessCheck: c.check ?? true,
        rawSecrets: c.raw,
        stored: c.stored,
      });
      expect(r.available ? null : `${r.reason}: ${r.message}`).toBe(c.want);
    });
  }
});
