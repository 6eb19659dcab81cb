// How configuration problems read, wherever they are found (the config file's scan settings, its
// service sections, environment variables): every problem with its place, all thrown at once.
import type { z } from 'zod';
import { KeywardenError } from '../errors/error.js';

/** A problem list as the one error every owner of the config file throws. */
export function configInvalid(file: string, problems: readonly string[]): KeywardenError {
  const n = problems.length;
  return new KeywardenError('KW_CONFIG_INVALID', `invalid config ${file} (${n} problem${n === 1 ? '' : 's'})`, problems);
}

/** ['rules', 0, 'pattern'] → `rules[0].pattern`; [] → `(top level)`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  return out;
}

/** A zod issue in words, the same for every file keywarden reads (rule files use the same wording). */
export function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return 'required field is missing';
  return issue.message;
}
