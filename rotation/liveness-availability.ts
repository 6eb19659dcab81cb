// Whether keywarden can ask the provider about a finding's key, and if not, the one line that says why:
// for `keywarden findings show`, `keywarden verify` and the revocation worker. Pure.
import { RAW_SECRETS_OFF_MESSAGE, type RawSecretKeeping } from '../config/sections/rotation.js';
import type { VaultRead } from './vault.js';

export type LivenessAvailability =
  | { available: true }
  | {
      available: false;
      /**
       * `no-check`: the rule has no liveness check; `no-key`: KEYWARDEN_SECRET_KEY is not set;
       * `no-secret`: nothing stored for this finding; `unreadable`: stored under another key, or damaged.
       */
      reason: 'no-check' | 'no-key' | 'no-secret' | 'unreadable';
      message: string;
    };

export function livenessAvailability(input: {
  ruleId: string;
  hasLivenessCheck: boolean;
  rawSecrets: RawSecretKeeping;
  /** The vault's answer for the finding; null when no key is configured (nothing to ask). */
  stored: VaultRead | null;
}): LivenessAvailability {
  if (!input.hasLivenessCheck)
    return {
      available: false,
      reason: 'no-check',
      message: `rule ${input.ruleId} has no liveness check: closing this finding takes a human's confirm_revoked with a reason`,
    };
  if (!input.rawSecrets.kept || input.stored === null)
    return { available: false, reason: 'no-key', message: RAW_SECRETS_OFF_MESSAGE };
  switch (input.stored.status) {
    case 'ok':
      return { available: true };
    case 'absent':
      return {
        available: false,
        reason: 'no-secret',
        message:
          'no raw secret is stored for this finding (recorded while KEYWARDEN_SECRET_KEY was not set, or already deleted): liveness checks cannot run',
      };
    case 'unreadable':
      return {
        available: false,
        reason: 'unreadable',
        message:
          input.stored.reason === 'wrong-key'
            ? 'the stored secret was sealed under another KEYWARDEN_SECRET_KEY: liveness checks cannot run until that key is restored'
            : 'the stored secret does not decrypt (damaged or not this finding’s): liveness checks cannot run',
      };
    default: {
      const never: never = input.stored;
      throw new Error(`unknown vault read ${JSON.stringify(never)}`);
    }
  }
}
