// Config file validation: YAML → strict zod schema, every problem reported together with its file
// and field. Loaded by config.ts only when a config file exists.
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { isKeywardenError } from '../errors/error.js';
import { parseRules } from '../rules/load.js';
import { Allowlist, Confidence, type Rule } from '../rules/schema.js';
import { DEFAULT_MAX_FILE_SIZE, deepFreeze, invalid, type KeywardenConfig, parseSize } from './config.js';
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
