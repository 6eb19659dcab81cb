import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKeywardenError, type KeywardenError } from '../../errors/error.js';
import { type Rule, RuleSpec } from '../../rules/schema.js';
import { DEFAULT_MAX_FILE_SIZE, loadConfig, mergeRules } from '../../scanner/config.js';
import { parseConfig } from '../../scanner/config-file.js';
import { thrown } from '../helpers/thrown.js';

const F = '.keywarden.yaml';

function rule(id: string, extra: Partial<Record<string, unknown>> = {}): Rule {
  return RuleSpec.parse({
    id,
    description: `test rule ${id}`,
    provider: 'Test',
    category: 'generic',
    pattern: `${id}_[a-z0-9]{20}`,
    keywords: [`${id}_`],
    examples: [`«${id}_{lowerdigits:20}»`],
    ...extra,
  });
}

/** The KeywardenError `p` rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<KeywardenError> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => {
      if (isKeywardenError(err)) return err;
      throw err;
    },
  );
}

describe('parseConfig', () => {
  it('fills every default for an empty file', () => {
    const c = parseConfig('', F);
    expect(c).toEqual({
      file: F,
      extends: 'builtin',
      rules: [],
      disable: [],
      allowlist: { regexes: [], stopwords: [], paths: [] },
      excludes: [],
      maxFileSize: DEFAULT_MAX_FILE_SIZE,
      overrides: [],
    });
    expect(DEFAULT_MAX_FILE_SIZE).toBe(10_000_000);
  });

  it('reads every field', () => {
    const c = parseConfig(
      `
extends: none
disable: [other]
allowlist:
  paths: ['^test/fixtures/']
  regexes: ['EXAMPLE$']
  stopwords: [dummy]
excludes: [vendor/, '*.min.js']
maxFileSize: 512KiB
overrides:
  - id: other
    entropy: 3.5
    confidence: low
    allowlist: { stopwords: [sample] }
`,
      F,
    );
    expect(c.extends).toBe('none');
    expect(c.disable).toEqual(['other']);
    expect(c.allowlist).toEqual({ paths: ['^test/fixtures/'], regexes: ['EXAMPLE$'], stopwords: ['dummy'] });
    expect(c.excludes).toEqual(['vendor/', '*.min.js']);
    expect(c.maxFileSize).toBe(524_288);
    expect(c.overrides).toEqual([
      { id: 'other', entropy: 3.5, confidence: 'low', allowlist: { stopwords: ['sample'], regexes: [], paths: [] } },
    ]);
  });

  it('validates added rules with the rule-file schema', () => {
    const c = parseConfig(
      `
rules:
  - id: acme-key
    description: ACME API key
    provider: ACME
    category: saas
    pattern: 'acme_[a-z0-9]{20}'
    keywords: [acme_]
    examples: ['«acme_{lowerdigits:20}»']
`,
      F,
    );
    expect(c.rules.map((r) => [r.id, r.confidence, r.boundary])).toEqual([['acme-key', 'high', 'word']]);
  });

  it('is frozen', () => {
    const c = parseConfig('excludes: [a]', F);
    expect(Object.isFrozen(c) && Object.isFrozen(c.excludes) && Object.isFrozen(c.allowlist)).toBe(true);
  });

  it('reports every problem together, each naming the file and the field', () => {
    const err = thrown(() =>
      parseConfig(
        `
extends: builtin
disable: nope
excludes: [ok, 3]
allowlist: { paths: ['('] }
exclude: [typo]
`,
        F,
      ),
    );
    expect(err.code).toBe('KW_CONFIG_INVALID');
    expect(err.message).toContain(F);
    expect(err.details).toHaveLength(4);
    expect(err.details.some((d) => d.startsWith(`${F} > disable: `))).toBe(true);
    expect(err.details.some((d) => d.startsWith(`${F} > excludes[1]: `))).toBe(true);
    expect(err.details.some((d) => d.startsWith(`${F} > allowlist.paths[0]: `) && d.includes('RE2'))).toBe(true);
    expect(err.details).toContain(`${F} > (top level): unknown field "exclude"`);
  });

  it('reports bad patterns, sizes, duplicate entries and bad added rules together', () => {
    const err = thrown(() =>
      parseConfig(
        `
allowlist: { paths: ['('], regexes: ['(?<=x)y'] }
maxFileSize: ten megabytes
disable: [a, a]
overrides: [{ id: a }, { id: a }, { id: b, allowlist: { regexes: ['['] } }]
rules: [{ id: acme-key }]
`,
        F,
      ),
    );
    const fields = err.details.map((d) => d.slice(0, d.indexOf(':')));
    expect(fields.filter((f) => !f.includes('rules[0]')).sort()).toEqual(
      [
        `${F} > disable[1]`,
        `${F} > allowlist.regexes[0]`,
        `${F} > allowlist.paths[0]`,
        `${F} > maxFileSize`,
        `${F} > overrides[1]`,
        `${F} > overrides[2].allowlist.regexes[0]`,
      ].sort(),
    );
    expect(fields.some((f) => f.startsWith(`${F} > rules[0]`))).toBe(true);
  });

  it('passes on the rule loader’s problems with their field, e.g. rules[0].pattern', () => {
    const err = thrown(() => parseConfig('rules:\n  - id: acme-key\n    description: x\n', F));
    expect(err.code).toBe('KW_CONFIG_INVALID');
    expect(err.details.length).toBeGreaterThan(0);
    for (const d of err.details) expect(d).toContain(F);
    expect(err.details.some((d) => /rules\[0\]/.test(d) && d.includes('pattern'))).toBe(true);
  });

  it('reports YAML syntax errors by line and column without quoting the file', () => {
    const err = thrown(() => parseConfig('excludes: [a\nallowlist: {stopwords: ["hunter2hunter2"]\n', F));
    expect(err.code).toBe('KW_CONFIG_INVALID');
    expect(err.details[0]).toMatch(/^\.keywarden\.yaml:\d+:\d+: /);
    expect(err.details.join('\n')).not.toContain('hunter2');
  });

  it('rejects a top level that is not a mapping', () => {
    expect(thrown(() => parseConfig('- a\n- b\n', F)).details[0]).toMatch(/^\.keywarden\.yaml > \(top level\): /);
  });
});

describe('loadConfig', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'kw-config-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('returns the defaults when the root has no config file', async () => {
    const c = await loadConfig(root);
    expect(c.file).toBeNull();
    expect(c.maxFileSize).toBe(DEFAULT_MAX_FILE_SIZE);
  });

  it('reads .keywarden.yaml (or .keywarden.yml) at the root', async () => {
    writeFileSync(join(root, '.keywarden.yml'), 'excludes: [a/]\n');
    expect((await loadConfig(root)).excludes).toEqual(['a/']);
    writeFileSync(join(root, '.keywarden.yaml'), 'excludes: [b/]\n');
    expect((await loadConfig(root)).excludes).toEqual(['b/']);
  });

  it('reads an explicit --config file, and names it when it is missing or invalid', async () => {
    const path = join(root, 'custom.yaml');
    writeFileSync(path, 'maxFileSize: 1KB\n');
    expect((await loadConfig(root, path)).maxFileSize).toBe(1000);

    const missing = await rejection(loadConfig(root, join(root, 'nope.yaml')));
    expect(missing.code).toBe('KW_CONFIG_INVALID');
    expect(missing.message).toContain('nope.yaml');

    writeFileSync(path, 'maxFileSize: -1\n');
    const bad = await rejection(loadConfig(root, path));
    expect(bad.details[0]).toMatch(/custom\.yaml > maxFileSize: /);
  });
});

describe('mergeRules', () => {
  const builtin = [rule('aaa'), rule('bbb'), rule('ccc')];
  const base = { file: F, extends: 'builtin' as const, rules: [] as Rule[], disable: [] as string[], overrides: [] };

  it('returns the built-in pack unchanged with an empty config', () => {
    expect(mergeRules(builtin, base)).toEqual(builtin);
  });

  it('replaces a built-in rule in place with an added rule of the same id, appends new ids, disables, overrides', () => {
    const replaced = rule('bbb', { description: 'mine' });
    const merged = mergeRules(builtin, {
      ...base,
      rules: [rule('ddd'), replaced],
      disable: ['ccc'],
      overrides: [{ id: 'aaa', entropy: 4, confidence: 'low', allowlist: { regexes: ['x'], stopwords: [], paths: [] } }],
    });
    expect(merged.map((r) => r.id)).toEqual(['aaa', 'bbb', 'ddd']);
    expect(merged[1]).toBe(replaced);
    expect(merged[0]).toMatchObject({ entropy: 4, confidence: 'low', allowlist: { regexes: ['x'], stopwords: [], paths: [] } });
    // The built-in rule objects are not mutated.
    expect(builtin[0]!.entropy).toBeUndefined();
  });

  it('appends an override allowlist to the rule’s own', () => {
    const own = rule('aaa', { allowlist: { regexes: ['own'], stopwords: ['s'], paths: [] } });
    const [r] = mergeRules([own], {
      ...base,
      overrides: [{ id: 'aaa', allowlist: { regexes: ['more'], stopwords: [], paths: ['^t/'] } }],
    });
    expect(r!.allowlist).toEqual({ regexes: ['own', 'more'], stopwords: ['s'], paths: ['^t/'], names: [] });
  });

  it('keeps only the added rules with extends: none', () => {
    expect(mergeRules(builtin, { ...base, extends: 'none', rules: [rule('ddd')] }).map((r) => r.id)).toEqual(['ddd']);
  });

  it('rejects unknown ids in disable and overrides, all together, naming the field', () => {
    const err = thrown(() => mergeRules(builtin, { ...base, disable: ['aaa', 'zzz'], overrides: [{ id: 'yyy' }] }));
    expect(err.code).toBe('KW_CONFIG_INVALID');
    expect(err.details).toHaveLength(2);
    expect(err.details[0]).toMatch(/^\.keywarden\.yaml > disable\[1\]: no rule "zzz"/);
    expect(err.details[1]).toMatch(/^\.keywarden\.yaml > overrides\[0\]\.id: no rule "yyy"/);
  });
});
