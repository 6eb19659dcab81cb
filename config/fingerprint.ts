// The fingerprint key's setting: its variable and its rule. A fingerprint is a keyed hash, so every machine that must agree on
// findings (workers, the intake, CI) needs the same key; without the variable each machine uses its
// own key file (scanner/fingerprint.ts resolves it, with this rule for its length). No schema
// library here: every scan imports this.

/** Environment variable holding a shared fingerprint key (UTF-8). */
export const FINGERPRINT_KEY_ENV = 'KEYWARDEN_FINGERPRINT_KEY';
/** Characters (code points) a fingerprint key needs at least. */
export const MIN_FINGERPRINT_KEY_CHARS = 16;
