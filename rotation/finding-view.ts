// What rotation/ needs to know of a finding: a narrow view, so the one finding model (issue #9) plugs in
// with a small adapter and nothing here can reach a raw secret: the view has no field for one, and
// every body is built field by field from it (never by spreading what the caller passed).
import { Fingerprint } from '../model/finding.js';

/** One place the secret was seen. Fields that do not apply to the kind are absent. */
export interface RotationLocation {
  /** The occurrence's provenance kind: `file`, `git`, `dump`, `log`, `stdin`, `github-alert`. */
  readonly kind: string;
  /** Repository as the store records it (`github.com/acme/app`, a path); for dumps the dump path. */
  readonly repo?: string;
  readonly commit?: string;
  /** Path inside the repository (or of the file scanned). */
  readonly path?: string;
  /** 1-based. */
  readonly line?: number;
  /** Byte offset in a dump. */
  readonly offset?: number;
  /** Log stream name. */
  readonly stream?: string;
  /** A link to the place (a GitHub blob or alert URL), when the source has one. */
  readonly url?: string;
}

/** A finding (one secret identity) as rotation sees it. */
export interface RotationFindingView {
  /** `kw1:` + 32 hex: the keyed hash identity (model/finding.ts `Fingerprint`). */
  readonly fingerprint: Fingerprint;
  readonly ruleId: string;
  /** The rule's provider, as the rule spells it (`GitHub`, `Hugging Face`). */
  readonly provider: string;
  /** Redacted preview; never the secret. */
  readonly redacted: string;
  /** ISO 8601. */
  readonly firstSeen: string;
  /** Where it was seen, most relevant first; bodies carry at most {@link MAX_LOCATIONS}. */
  readonly locations: readonly RotationLocation[];
  /** All occurrences, when more than `locations` lists. @defaultValue locations.length */
  readonly occurrences?: number;
}

/** Locations a webhook body carries: a key pasted into 10,000 log lines must not make a 5 MB body. */
export const MAX_LOCATIONS = 20;

/** True for a finding model `Fingerprint` (model/finding.ts): `kw1:` + 32 hex. */
export function isFingerprint(s: string): s is Fingerprint {
  return Fingerprint.safeParse(s).success;
}
