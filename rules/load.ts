// Loads rule files (stage one of two): YAML → strict zod schema (schema.ts) → checks the schema cannot
// express (patterns compile under RE2, secretGroup exists, ids unique across the pack). Every problem
// is collected with its place and thrown at once as KW_RULES_INVALID; scanner/engine/compile.ts runs them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, relative } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
// The one import from outside rules/: the errors leaf (docs/architecture.md).
import { KeywardenError } from '../errors/error.js';
import { PREFILTERS_DROPPING_CODE, type Rule, RuleSpec } from './schema.js';

// rules/ may not import scanner/, so the loader reaches the re2 binding itself. It only validates
// (compiles and drops); the programs the engine runs come from scanner/engine/re2.ts.
const require = createRequire(import.meta.url);
const RE2 = require('re2') as new (pattern: string, flags?: string) => { exec(s: string): unknown[] | null };

/** One rule and the place it came from, for messages like `a.yaml > rules[3] (id)`. */
interface Located {
  rule: Rule;
  place: string;
}

function fail(problems: readonly string[]): never {
  const n = problems.length;
  throw new KeywardenError('KW_RULES_INVALID', `${n} problem${n === 1 ? '' : 's'} in rule files`, problems);
}

/** A path as shown in messages: relative to the working directory when under it. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** RE2's complaint about `source`, or null when it compiles. */
function re2Error(source: string): string | null {
  try {
    new RE2(source);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Capture groups in an RE2 pattern. `(?:p)|` always matches the empty string through its empty
 * branch, and RE2 returns one slot per group whether it took part or not.
 */
function groupCount(source: string): number {
  const m = new RE2(`(?:${source})|`).exec('');
  return m ? m.length - 1 : 0;
}

function ruleLabel(index: number, raw: unknown): string {
  const id = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).id : undefined;
  return typeof id === 'string' && id ? `rules[${index}] (${id})` : `rules[${index}]`;
}

/** `window.after`, `keywords[0]`, `allowlist.regexes[2]`. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): { path: PropertyKey[]; text: string } {
  const path = [...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => JSON.stringify(k)).join(', ');
    return { path, text: `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}` };
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return { path, text: 'required field is missing' };
  }
  return { path, text: issue.message };
}

/** Checks the schema cannot make: RE2 accepts each regex, secretGroup names an existing group. */
function regexProblems(raw: Record<string, unknown>, at: string, problems: string[]): void {
  const pattern = raw.pattern;
  if (typeof pattern === 'string' && pattern) {
    const err = re2Error(pattern);
    if (err) {
      problems.push(`${at}.pattern: RE2 rejects ${JSON.stringify(pattern.slice(0, 80))}: ${err}`);
    } else if (typeof raw.secretGroup === 'number' && Number.isInteger(raw.secretGroup) && raw.secretGroup > 0) {
      const groups = groupCount(pattern);
      if (raw.secretGroup > groups) {
        problems.push(
          `${at}.secretGroup: ${raw.secretGroup} but the pattern has ${groups} capture group${groups === 1 ? '' : 's'}`,
        );
      }
    }
  }
  const reCheck = (re: unknown, field: string): boolean => {
    if (typeof re !== 'string' || !re) return false;
    const err = re2Error(re);
    if (err) problems.push(`${at}.${field}: RE2 rejects ${JSON.stringify(re.slice(0, 80))}: ${err}`);
    return err === null;
  };
  if (Array.isArray(raw.paths)) {
    raw.paths.forEach((re, i) => {
      reCheck(re, `paths[${i}]`);
    });
  }
  const format = raw.format as Record<string, unknown> | undefined;
  if (typeof format === 'object' && format !== null) reCheck(format.keys, 'format.keys');
  const near = raw.near as Record<string, unknown> | undefined;
  if (typeof near === 'object' && near !== null) reCheck(near.pattern, 'near.pattern');
  const pair = raw.pair as Record<string, unknown> | undefined;
  if (typeof pair === 'object' && pair !== null && reCheck(pair.pattern, 'pair.pattern')) {
    const g = pair.secretGroup;
    if (typeof g === 'number' && Number.isInteger(g) && g > 0 && g > groupCount(pair.pattern as string)) {
      problems.push(`${at}.pair.secretGroup: ${g} but pair.pattern has ${groupCount(pair.pattern as string)} capture groups`);
    }
  }
  const allow = raw.allowlist;
  if (typeof allow === 'object' && allow !== null) {
    for (const key of ['regexes', 'paths', 'names'] as const) {
      const list = (allow as Record<string, unknown>)[key];
      if (!Array.isArray(list)) continue;
      list.forEach((re, i) => {
        if (typeof re !== 'string' || !re) return;
        const err = re2Error(re);
        if (err) problems.push(`${at}.allowlist.${key}[${i}]: RE2 rejects ${JSON.stringify(re.slice(0, 80))}: ${err}`);
      });
    }
  }
}

/**
 * Field combinations the schema cannot express: a rule without keywords must be path-gated (else it
 * would run on every file), a parser needs paths to choose its files, and path-gated examples need
 * a path to be tested at, one that the gate lets through.
 */
function shapeProblems(rule: Rule, at: string, problems: string[]): void {
  const paths = rule.paths ?? [];
  if (rule.keywords.length === 0 && paths.length === 0) problems.push(`${at}.keywords: required unless the rule has paths`);
  if (rule.format && paths.length === 0) problems.push(`${at}.format: a format rule needs paths (the files it parses)`);
  if (paths.length > 0 && !rule.examplePaths?.length)
    problems.push(`${at}.examplePaths: a path-gated rule needs the paths its examples are tested at`);
  if (rule.examplePaths && paths.length === 0) problems.push(`${at}.examplePaths: only a rule with paths takes examplePaths`);
  if (rule.pair && rule.near) problems.push(`${at}.pair: a rule takes pair or near, not both`);
  if (rule.format && (rule.pair || rule.near)) problems.push(`${at}.format: a format rule takes neither pair nor near`);
  if (rule.prefilter && PREFILTERS_DROPPING_CODE.includes(rule.prefilter) && !rule.placeholderFilter)
    problems.push(`${at}.prefilter: ${rule.prefilter} drops values that read as code, so the rule needs placeholderFilter: true`);
  const gates = paths.flatMap((p) => (re2Error(p) === null ? [new RE2(p)] : []));
  if (gates.length === paths.length) {
    rule.examplePaths?.forEach((p, i) => {
      if (!gates.some((g) => g.exec(p) !== null))
        problems.push(`${at}.examplePaths[${i}]: ${JSON.stringify(p)} matches none of paths`);
    });
  }
}

/** Validates one parsed document; pushes problems, returns the rules that passed. */
function collect(doc: unknown, file: string, problems: string[]): Located[] {
  let list: unknown;
  if (Array.isArray(doc)) {
    list = doc;
  } else if (typeof doc === 'object' && doc !== null) {
    const { rules, ...rest } = doc as Record<string, unknown>;
    for (const key of Object.keys(rest)) problems.push(`${file} > ${key}: unknown field (a rule file holds only \`rules:\`)`);
    list = rules;
    if (list === undefined) {
      problems.push(`${file} > rules: required field is missing`);
      return [];
    }
    if (Array.isArray(list) && list.length === 0) problems.push(`${file} > rules: holds no rule`);
  } else {
    problems.push(`${file}: expected a mapping with a \`rules:\` list, got ${doc === null ? 'an empty document' : typeof doc}`);
    return [];
  }
  if (!Array.isArray(list)) {
    problems.push(`${file} > rules: expected a list of rules`);
    return [];
  }

  const out: Located[] = [];
  const seen = new Map<string, string>();
  list.forEach((raw, index) => {
    const at = `${file} > ${ruleLabel(index, raw)}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`${at}: expected a mapping`);
      return;
    }
    const before = problems.length;
    const parsed = RuleSpec.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const { path, text } = describeIssue(issue);
        const field = fieldPath(path);
        problems.push(`${at}${field ? `.${field}` : ''}: ${text}`);
      }
    }
    // RE2 checks run on the raw fields too, so one pass reports a bad regex beside a missing field.
    regexProblems(raw as Record<string, unknown>, at, problems);
    if (parsed.success) shapeProblems(parsed.data, at, problems);
    if (parsed.success && problems.length === before) {
      const first = seen.get(parsed.data.id);
      if (first) {
        problems.push(`${at}.id: duplicate id, first defined at ${first}`);
        return;
      }
      seen.set(parsed.data.id, at);
      out.push({ rule: parsed.data, place: at });
    }
  });
  return out;
}

/**
 * Validates a parsed rule document: `{ rules: [...] }` (a rule file, or a config's `rules:` section
 * wrapped so) or a bare list. `file` labels every problem. Throws KW_RULES_INVALID listing all of them.
 */
export function parseRules(doc: unknown, file: string): Rule[] {
  const problems: string[] = [];
  const rules = collect(doc, file, problems);
  if (problems.length > 0) fail(problems);
  return rules.map((r) => r.rule);
}

/** Reads and parses one YAML file; YAML syntax errors come back as problems with line and column. */
function readRuleFile(path: string, problems: string[]): Located[] {
  const file = display(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    problems.push(`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
    return [];
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
      const reason = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      problems.push(`${where}: YAML syntax error: ${reason}`);
    }
    return [];
  }
  return collect(doc.toJS(), file, problems);
}

/** Loads one rule file. Throws KW_RULES_INVALID with every problem found. */
export function loadRuleFile(path: string): Rule[] {
  return loadRulePack([path]);
}

/** Loads several rule files as one pack: all problems of all files at once, ids unique across files. */
export function loadRulePack(paths: readonly string[]): Rule[] {
  const problems: string[] = [];
  const rules: Rule[] = [];
  const seen = new Map<string, string>();
  for (const path of paths) {
    for (const { rule, place } of readRuleFile(path, problems)) {
      const first = seen.get(rule.id);
      if (first) {
        problems.push(`${place}.id: duplicate id, first defined at ${first}`);
        continue;
      }
      seen.set(rule.id, place);
      rules.push(rule);
    }
  }
  if (problems.length > 0) fail(problems);
  return rules;
}
