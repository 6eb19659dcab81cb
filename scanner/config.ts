// The user's config file (`.keywarden.yaml` at the scanned root, or `--config FILE`): validated once at
// start-up against a strict schema, every problem reported together with its file and field, then
// frozen. `mergeRules` turns the built-in pack plus this config into the rules a scan runs.
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { parseRules } from '../rules/load.js';
import { Allowlist, Confidence, type Rule } from '../rules/schema.js';
import { compileRe2 } from './engine/re2.js';
import { isKeywardenError, KeywardenError } from './errors.js';

/** File names looked for at the scanned root, first found wins. */
export const CONFIG_FILE_NAMES = ['.keywarden.yaml', '.keywarden.yml'] as const;

/** @defaultValue 10 MB (10,000,000 bytes). */
export const DEFAULT_MAX_FILE_SIZE = 10_000_000;

/** The rule schema's allowlist, with each pattern compiled here so a bad one is reported with its field. */
const CheckedAllowlist = Allowlist.superRefine((a, ctx) => {
  for (const field of ['regexes', 'paths'] as const) {
    a[field].forEach((pattern, i) => {
      try {
        compileRe2(pattern);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: [field, i], message: err instanceof Error ? err.message : String(err) });
      }
    });
  }
});

/** Bytes (a positive whole number) or a size such as `10MB`, `512KiB` (MB = 10^6, MiB = 2^20). */
const Size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const bytes = typeof v === 'number' ? v : parseSize(v);
  if (bytes === null || !Number.isInteger(bytes) || bytes < 1) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a positive whole number of bytes or a size like 10MB; got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  return bytes;
});

/** No id twice in one list: the second entry would silently win. */
function unique<T>(key: (item: T) => string, what: string) {
  return (items: T[], ctx: z.RefinementCtx<T[]>) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const k = key(item);
      if (seen.has(k)) ctx.addIssue({ code: 'custom', path: [i], message: `${k} ${what}` });
      seen.add(k);
    });
  };
}

const Override = z
  .object({
    /** The rule to adjust (built-in or added). */
    id: z.string().min(1),
    /** Replaces the rule's minimum Shannon entropy, bits per character. */
    entropy: z.number().min(0).max(8).optional(),
    /** Replaces the rule's confidence. */
    confidence: Confidence.optional(),
    /** Appended to the rule's own allowlist (it cannot remove entries a rule ships with). */
    allowlist: CheckedAllowlist.optional(),
  })
  .strict();
export type RuleOverride = z.infer<typeof Override>;

/** What the file may say. Unknown keys are errors (a typo must not silently do nothing). */
export const ConfigFile = z
  .object({
    /** `builtin`: start from the built-in pack; `none`: only the rules given here. @defaultValue builtin */
    extends: z.enum(['builtin', 'none']).default('builtin'),
    /** Extra rules, same schema as rule files (rules/schema.ts); one with an existing id replaces that rule. */
    rules: z.array(z.unknown()).default([]),
    /** Rule ids to turn off; an id that names no rule is an error. */
    disable: z
      .array(z.string().min(1))
      .superRefine(unique((id) => id, 'is listed twice'))
      .default([]),
    /** Applied to every rule. `paths` and `regexes` are RE2 patterns (paths match the `/`-separated relative path). */
    allowlist: CheckedAllowlist.default({ regexes: [], stopwords: [], paths: [] }),
    /** Gitignore-style patterns relative to the root; matching files are skipped and counted as `excluded`. */
    excludes: z.array(z.string().min(1)).default([]),
    /** Bytes, or a size such as `10MB`, `512KiB`; larger files are skipped as `tooLarge`. @defaultValue 10MB */
    maxFileSize: Size.default(DEFAULT_MAX_FILE_SIZE),
    /** Per-rule adjustments. */
    overrides: z
      .array(Override)
      .superRefine(unique((o) => o.id, 'is already overridden above; merge the two entries'))
      .default([]),
    /** Nightly scan schedule for `keywarden serve`; validated there (workers/scheduler.ts), not by the scanner. */
    schedule: z.unknown().optional(),
  })
  .strict();

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
  return found === null ? defaultConfig() : parseConfig(found.text, displayPath(found.path));
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

/** Validates config text; `file` names it in messages. Pure: reads nothing else. */
export function parseConfig(text: string, file: string): KeywardenConfig {
  const problems: string[] = [];
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Line and column only: YAML's pretty errors quote the source line, which may hold a secret.
    for (const e of doc.errors) {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      problems.push(`${file}:${line}:${col}: YAML syntax error: ${firstLine(e.message)}`);
    }
    throw invalid(file, problems);
  }
  const raw: unknown = doc.toJS() ?? {};

  const parsed = ConfigFile.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${file} > ${fieldPath(issue.path)}: ${describeIssue(issue)}`);
  }
  // Added rules go through the rule loader even when other fields are wrong: all problems at once.
  const rawRules = isRecord(raw) && Array.isArray(raw.rules) ? raw.rules : [];
  let rules: Rule[] = [];
  if (rawRules.length > 0) {
    try {
      rules = parseRules({ rules: rawRules }, file);
    } catch (err) {
      if (!isKeywardenError(err)) throw err;
      problems.push(...(err.details.length > 0 ? err.details : [`${file} > rules: ${err.message}`]));
    }
  }
  if (!parsed.success || problems.length > 0) throw invalid(file, problems);

  const cfg = parsed.data;
  return deepFreeze({
    file,
    extends: cfg.extends,
    rules,
    disable: cfg.disable,
    allowlist: cfg.allowlist,
    excludes: cfg.excludes,
    maxFileSize: cfg.maxFileSize,
    overrides: cfg.overrides,
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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

function invalid(file: string, problems: string[]): KeywardenError {
  const n = problems.length;
  return new KeywardenError('KW_CONFIG_INVALID', `invalid config ${file} (${n} problem${n === 1 ? '' : 's'})`, problems);
}

/** ['rules', 0, 'pattern'] → `rules[0].pattern`. */
function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  return out;
}

/** Same wording as the rule loader (rules/load.ts), so both kinds of file read alike. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return 'required field is missing';
  return issue.message;
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i === -1 ? s : s.slice(0, i);
}

/** Relative to the working directory when inside it (shorter messages), else absolute. */
function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
