// The one module that imports the RE2 binding: every pattern in keywarden compiles here, so a
// pattern RE2 rejects fails in one place with one error shape.
import { createRequire } from 'node:module';
import { KeywardenError } from '../../errors/error.js';

const require = createRequire(import.meta.url);
// re2 is a CommonJS native addon; createRequire keeps ESM happy without a default-import shim.
const RE2Ctor = require('re2') as RE2Constructor;

export interface RE2Instance {
  lastIndex: number;
  readonly source: string;
  exec(input: Buffer | string): RE2ExecArray | null;
  test(input: Buffer | string): boolean;
}
export interface RE2ExecArray extends Array<Buffer | string | undefined> {
  index: number;
  indices?: Array<[number, number] | undefined>;
}
interface RE2Constructor {
  new (pattern: string, flags?: string): RE2Instance;
}

/**
 * Compiles `source` with RE2. Throws KW_REGEX_INVALID with RE2's reason (the caller adds the place).
 * Inline `(?i)` etc. are RE2 syntax and are accepted here.
 */
export function compileRe2(source: string, flags = ''): RE2Instance {
  try {
    return new RE2Ctor(source, flags);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new KeywardenError('KW_REGEX_INVALID', `RE2 rejects ${JSON.stringify(source.slice(0, 80))}: ${reason}`);
  }
}
