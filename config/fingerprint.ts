// The fingerprint key's setting. A fingerprint is a keyed hash, so every machine that must agree on
// findings (workers, the intake, CI) needs the same key; without the variable each machine uses its
// own key file (scanner/fingerprint.ts resolves it, with this rule for its length).
import { z } from 'zod';
import { defineSection } from './section.js';

/** Environment variable holding a shared fingerprint key (UTF-8). */
export const FINGERPRINT_KEY_ENV = 'KEYWARDEN_FINGERPRINT_KEY';
/** Characters (code points) a fingerprint key needs at least. */
export const MIN_FINGERPRINT_KEY_CHARS = 16;

export const fingerprintSection = defineSection({
  key: 'fingerprint',
  fromFile: false,
  // Set but empty is an error, not "unset": a CI secret that failed to expand must not silently
  // switch the run to a machine-local key.
  env: { [FINGERPRINT_KEY_ENV]: { field: 'key', emptyIsValue: true } },
  schema: z.object({
    /** `KEYWARDEN_FINGERPRINT_KEY`: 16+ characters. @defaultValue none: the key file in the config directory */
    key: z
      .string()
      .refine(
        (k) => Array.from(k).length >= MIN_FINGERPRINT_KEY_CHARS,
        `must be at least ${MIN_FINGERPRINT_KEY_CHARS} characters`,
      )
      .optional(),
  }),
});
