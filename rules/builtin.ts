// Where the built-in pack lives, and its build-time cache (dist/rules/builtin.json, written by
// `npm run build`). No YAML parser and no schema are imported here: with a fresh cache a scan never
// loads either (zod and yaml cost `keywarden scan` ~250 ms of start-up before the first file).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeywardenError } from '../errors/error.js';
import type { Rule } from './schema.js';

/**
 * Where the built-in YAML lives. From source this module is rules/builtin.ts (`./builtin`); compiled
 * it is dist/rules/builtin.js while the YAML ships beside dist/ in the package (`../../rules/builtin`).
 */
function builtinDir(): string {
  const candidates = ['./builtin/', '../../rules/builtin/', '../rules/builtin/'];
  for (const c of candidates) {
    const dir = fileURLToPath(new URL(c, import.meta.url));
    try {
      if (statSync(dir).isDirectory()) return dir;
    } catch {
      // Not this layout; try the next.
    }
  }
  throw new KeywardenError('KW_INTERNAL', `built-in rules not found next to ${fileURLToPath(import.meta.url)}`);
}

/** Every `*.yaml` of the built-in pack, sorted so rule order (and rule indices) are stable. */
export function builtinRuleFiles(): string[] {
  const dir = builtinDir();
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

/** Names, sizes and mtimes of the YAML files: the cache is used only while this matches. */
export function builtinStamp(files: readonly string[]): string {
  return files
    .map((f) => {
      const st = statSync(f);
      return `${basename(f)}:${st.size}:${Math.trunc(st.mtimeMs)}`;
    })
    .join('|');
}

/** Only the compiled module (dist/rules/builtin.js) has a cache; running from sources reads YAML. */
export function builtinCachePath(): string | null {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.js') ? join(dirname(here), 'builtin.json') : null;
}

/** The validated pack from the cache, or null when there is none or the YAML changed since. */
export function readBuiltinCache(): Rule[] | null {
  const cache = builtinCachePath();
  if (cache === null || !existsSync(cache)) return null;
  try {
    const cached = JSON.parse(readFileSync(cache, 'utf8')) as { stamp: string; rules: Rule[] };
    return cached.stamp === builtinStamp(builtinRuleFiles()) ? cached.rules : null;
  } catch {
    // A corrupt or partial cache is ignored: the YAML is the source of truth.
    return null;
  }
}

/** The built-in pack for entry points: the cache when fresh, else the validating loader (load.ts). */
export async function builtinRules(): Promise<Rule[]> {
  return readBuiltinCache() ?? (await import('./load.js')).loadBuiltinRules();
}
