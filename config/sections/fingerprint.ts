// The fingerprint key as a service setting, validated with the others at start-up.
import { z } from 'zod';
import { FINGERPRINT_KEY_ENV, MIN_FINGERPRINT_KEY_CHARS } from '../fingerprint.js';
import { defineSection } from '../section.js';

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
