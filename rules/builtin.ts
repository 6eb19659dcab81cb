// The built-in pack: where its YAML lives, its build-time cache (dist/rules/builtin.json, written by
// `npm run build`) and the one loader every entry point uses (`builtinRules`). No YAML parser and no
// schema are imported here: with a fresh cache a scan never loads either (zod and yaml cost
// `keywarden scan` ~250 ms of start-up before the first file); the validating loader (load.ts) is
// imported only when the cache is missing or stale, and load.ts imports nothing from here.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

/**
 * The built-in pack. Parsing and validating 240 YAML rules costs ~500 ms, most of a small scan's run
 * time, so `npm run build` writes the validated pack to `dist/rules/builtin.json` (`writeBuiltinCache`)
 * and this reads that instead while every YAML file's size and mtime match; else the YAML, validated.
 */
export async function builtinRules(): Promise<Rule[]> {
  return readBuiltinCache() ?? (await import('./load.js')).loadRulePack(builtinRuleFiles());
}

/** Validates the YAML pack and writes the cache beside the compiled module. Called by `npm run build`. */
export async function writeBuiltinCache(): Promise<string> {
  const files = builtinRuleFiles();
  const rules = (await import('./load.js')).loadRulePack(files);
  const target = builtinCachePath() ?? join(dirname(fileURLToPath(import.meta.url)), 'builtin.json');
  writeFileSync(target, JSON.stringify({ stamp: builtinStamp(files), rules }));
  return target;
}
