// The user's config file (`.keywarden.yaml` at the scanned root, or `--config FILE`): found and read
// here, validated by config-file.ts (loaded only when a file exists: its YAML parser and schema cost
// ~250 ms of start-up), then frozen. `resolveRules` turns the built-in pack plus this config into the
// rules a scan runs.
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { KeywardenError } from '../errors/error.js';
import { builtinRules } from '../rules/builtin.js';
import type { Rule } from '../rules/schema.js';
import type { RuleOverride } from './config-file.js';

/** File names looked for at the scanned root, first found wins. */
export const CONFIG_FILE_NAMES = ['.keywarden.yaml', '.keywarden.yml'] as const;

/** @defaultValue 10 MB (10,000,000 bytes). */
export const DEFAULT_MAX_FILE_SIZE = 10_000_000;

/** The validated, frozen config. Arrays are typed mutable for callers' convenience but frozen at runtime. */
export interface KeywardenConfig {
  /** The file it was read from (as shown in messages); null when no file was found (all defaults). */
  readonly file: string | null;
  readonly extends: 'builtin' | 'none';
  readonly rules: Rule[];
  readonly disable: string[];
  readonly allowlist: { regexes: string[]; stopwords: string[]; paths: string[] };
  readonly excludes: string[];
  /** Bytes. */
  readonly maxFileSize: number;
  readonly overrides: RuleOverride[];
}

export function defaultConfig(): KeywardenConfig {
  return deepFreeze({
    file: null,
    extends: 'builtin',
    rules: [],
    disable: [],
    allowlist: { regexes: [], stopwords: [], paths: [] },
    excludes: [],
    maxFileSize: DEFAULT_MAX_FILE_SIZE,
    overrides: [],
  });
}

/**
 * Reads `explicitPath` (which must exist) or else the first of CONFIG_FILE_NAMES at `root`; with
 * neither, returns the defaults. Throws KW_CONFIG_INVALID listing every problem.
 */
export async function loadConfig(root: string, explicitPath?: string): Promise<KeywardenConfig> {
  const found = await readConfigFile(root, explicitPath);
  if (found === null) return defaultConfig();
  const { parseConfig } = await import('./config-file.js');
  return parseConfig(found.text, displayPath(found.path));
}

/**
 * The config file's text: `explicitPath` (must exist) or the first of `.keywarden.yaml` /
 * `.keywarden.yml` at `root`; null when there is none. Shared with the scheduler, which reads the
 * `schedule:` section of the same file.
 */
export async function readConfigFile(root: string, explicitPath?: string): Promise<{ path: string; text: string } | null> {
  const candidates = explicitPath !== undefined ? [explicitPath] : CONFIG_FILE_NAMES.map((n) => join(root, n));
  for (const path of candidates) {
    try {
      return { path, text: await readFile(path, 'utf8') };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (explicitPath === undefined && code === 'ENOENT') continue;
      const shown = displayPath(path);
      throw new KeywardenError(
        'KW_CONFIG_INVALID',
        `cannot read config ${shown}: ${code ?? String(err)}`,
        [`${shown}: ${code ?? String(err)}`],
        { cause: err },
      );
    }
  }
  return null;
}

/** The rules a scan with `config` runs: the built-in pack (unless `extends: none`) merged with it (`mergeRules`). */
export async function resolveRules(
  config: Pick<KeywardenConfig, 'file' | 'extends' | 'rules' | 'disable' | 'overrides'>,
): Promise<Rule[]> {
  return mergeRules(config.extends === 'none' ? [] : await builtinRules(), config);
}

/**
 * The rules a scan runs: the built-in pack (unless `extends: none`), then the config's added rules
 * (an added rule whose id exists replaces that rule in place, so a user can redefine a built-in
 * rule; new ids are appended), then `disable`, then `overrides`. Ids in `disable` or `overrides`
 * that name no rule of that set are errors (KW_CONFIG_INVALID), all reported together.
 */
export function mergeRules(
  builtin: readonly Rule[],
  config: Pick<KeywardenConfig, 'file' | 'extends' | 'rules' | 'disable' | 'overrides'>,
): Rule[] {
  const file = config.file ?? 'config';
  const problems: string[] = [];
  const byId = new Map<string, Rule>();
  for (const r of config.extends === 'none' ? [] : builtin) byId.set(r.id, r);
  // Map insertion order is kept on replacement: a replaced rule stays where the built-in one was.
  for (const r of config.rules) byId.set(r.id, r);

  config.disable.forEach((id, i) => {
    if (!byId.has(id)) problems.push(`${file} > disable[${i}]: no rule ${JSON.stringify(id)}${hint(config.extends)}`);
  });
  config.overrides.forEach((o, i) => {
    if (!byId.has(o.id)) problems.push(`${file} > overrides[${i}].id: no rule ${JSON.stringify(o.id)}${hint(config.extends)}`);
  });
  if (problems.length > 0) throw invalid(file, problems);

  for (const id of config.disable) byId.delete(id);
  for (const o of config.overrides) {
    const rule = byId.get(o.id);
    if (rule) byId.set(o.id, applyOverride(rule, o));
  }
  return [...byId.values()];
}

function applyOverride(rule: Rule, o: RuleOverride): Rule {
  const out: Rule = { ...rule };
  if (o.entropy !== undefined) out.entropy = o.entropy;
  if (o.confidence !== undefined) out.confidence = o.confidence;
  if (o.allowlist) {
    const a = rule.allowlist ?? { regexes: [], stopwords: [], paths: [] };
    out.allowlist = {
      regexes: [...a.regexes, ...o.allowlist.regexes],
      stopwords: [...a.stopwords, ...o.allowlist.stopwords],
      paths: [...a.paths, ...o.allowlist.paths],
    };
  }
  return out;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  kib: 1024,
  mib: 1 << 20,
  gib: 1 << 30,
};

/** `10MB` → 10,000,000 (MB = 10^6, MiB = 2^20); a bare number is bytes. Null if it is not a size. */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i.exec(text.trim());
  if (!m) return null;
  const unit = SIZE_UNITS[(m[2] ?? 'b').toLowerCase()];
  return unit === undefined ? null : Math.round(Number(m[1]) * unit);
}

function hint(ext: 'builtin' | 'none'): string {
  return ext === 'none' ? ' (extends: none, so only the rules in this file exist)' : ' (see `keywarden rules list`)';
}

export function invalid(file: string, problems: string[]): KeywardenError {
  const n = problems.length;
  return new KeywardenError('KW_CONFIG_INVALID', `invalid config ${file} (${n} problem${n === 1 ? '' : 's'})`, problems);
}

/** Relative to the working directory when inside it (shorter messages), else absolute. */
function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
