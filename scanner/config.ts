// The scan settings of the user's config file (`.keywarden.yaml` at the scanned root, or `--config
// FILE`): the file is found and parsed by config/file.ts, its scan keys validated by config-file.ts
// (loaded only when a file exists: its YAML parser and schema cost ~250 ms of start-up), then frozen.
// `resolveRules` turns the built-in pack plus this config into the rules a scan runs.
import { type ConfigDocument, loadConfigDocument } from '../config/file.js';
import { deepFreeze } from '../config/freeze.js';
import { configInvalid } from '../config/problems.js';
import { builtinRules } from '../rules/builtin.js';
import type { Rule } from '../rules/schema.js';
import { DEFAULT_MAX_FILE_SIZE, type KeywardenConfig, type RuleOverride } from './config-types.js';

export { DEFAULT_MAX_FILE_SIZE, type KeywardenConfig, type RuleOverride } from './config-types.js';

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
 * Reads `explicitPath` (which must exist) or else the first of `.keywarden.yaml` / `.keywarden.yml` at
 * `root`; with neither, returns the defaults. Throws KW_CONFIG_INVALID listing every problem.
 */
export async function loadConfig(root: string, explicitPath?: string): Promise<KeywardenConfig> {
  return configFromDocument(await loadConfigDocument(root, explicitPath));
}

/** The scan settings of a config file parsed at start-up (entry points that also read its other sections). */
export async function configFromDocument(doc: ConfigDocument | null): Promise<KeywardenConfig> {
  if (doc === null) return defaultConfig();
  const { validateConfig } = await import('./config-file.js');
  return validateConfig(doc.data, doc.file);
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
  if (problems.length > 0) throw configInvalid(file, problems);

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
    const a = rule.allowlist ?? { regexes: [], stopwords: [], paths: [], names: [] };
    out.allowlist = {
      regexes: [...a.regexes, ...o.allowlist.regexes],
      stopwords: [...a.stopwords, ...o.allowlist.stopwords],
      paths: [...a.paths, ...o.allowlist.paths],
      names: a.names,
    };
  }
  return out;
}

function hint(ext: 'builtin' | 'none'): string {
  return ext === 'none' ? ' (extends: none, so only the rules in this file exist)' : ' (see `keywarden rules list`)';
}
