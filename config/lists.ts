// List settings: a comma-separated list in an environment variable or a flag, a YAML sequence in the
// config file. One field type for every list of the service configuration (hosts, paths).
import { z } from 'zod';

/** Items of a list setting: `a,b , c` as text (empty items dropped), or a YAML sequence of strings. */
export function listOf(separator: RegExp = /,/) {
  return z
    .union([z.array(z.string()), z.string()])
    .transform((v) => (typeof v === 'string' ? v.split(separator) : v).map((s) => s.trim()).filter((s) => s !== ''));
}
