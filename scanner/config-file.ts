// Validation of the config file's scan settings: the parsed YAML (config/yaml.ts) → strict zod
// schema, every problem reported together with its file and field. Loaded by config.ts only when a
// config file exists. The file's service sections and `schedule:` belong to their own readers.
import { z } from 'zod';
import { Size } from '../config/fields.js';
import { deepFreeze } from '../config/freeze.js';
import { configInvalid, describeIssue, fieldPath } from '../config/problems.js';
import { SERVICE_FILE_KEYS } from '../config/service.js';
import { parseYaml } from '../config/yaml.js';
import { isKeywardenError } from '../errors/error.js';
import { parseRules } from '../rules/load.js';
import { Allowlist, Confidence, type Rule } from '../rules/schema.js';
import { DEFAULT_MAX_FILE_SIZE, type KeywardenConfig, type RuleOverride } from './config-types.js';
import { compileRe2 } from './engine/re2.js';

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
  .strict() satisfies z.ZodType<RuleOverride>;

/**
 * What the file may say about scans. Unknown keys are errors (a typo must not silently do nothing);
 * the keys of the service sections and `schedule:` (SERVICE_FILE_KEYS) are validated by their owners.
 */
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
  })
  .strict();

/** Validates config text; `file` names it in messages. Pure: reads nothing else. */
export function parseConfig(text: string, file: string): KeywardenConfig {
  return validateConfig(parseYaml(text, file), file);
}

/** Validates the scan settings of a parsed config file; `file` names it in messages. */
export function validateConfig(data: unknown, file: string): KeywardenConfig {
  const problems: string[] = [];
  const raw = isRecord(data) ? withoutKeys(data, SERVICE_FILE_KEYS) : data;
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
  if (!parsed.success || problems.length > 0) throw configInvalid(file, problems);

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

function withoutKeys(data: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) if (!keys.includes(k)) out[k] = v;
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
