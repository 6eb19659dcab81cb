// The rule loader: one invalid fixture per kind of error (test/fixtures/rules-invalid/), every problem
// reported at once with its place, ids unique across files, and the built-in pack located on disk.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isKeywardenError, type KeywardenError } from '../../errors/error.js';
import { builtinRuleFiles } from '../../rules/builtin.js';
import { loadRuleFile, loadRulePack, parseRules } from '../../rules/load.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/rules-invalid/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);

/** Runs `fn`, expects KW_RULES_INVALID, returns the error. */
function rulesError(fn: () => unknown): KeywardenError {
  try {
    fn();
  } catch (err) {
    if (isKeywardenError(err) && err.code === 'KW_RULES_INVALID') return err;
    throw err;
  }
  throw new Error('expected KW_RULES_INVALID, nothing was thrown');
}

/** A minimal valid rule; tests override fields. No realistic secret: a made-up `demo_` token. */
function rule(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'demo-token',
    description: 'Demo token',
    provider: 'Demo',
    category: 'generic',
    pattern: 'demo_[a-z0-9]{20}',
    keywords: ['demo_'],
    examples: ['key = «demo_{lowerdigits:20}»'],
    ...over,
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'kw-rules-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('loadRuleFile on invalid fixtures', () => {
  const cases: Record<string, [string, RegExp]> = {
    'a pattern RE2 rejects': [
      'bad-regex.yaml',
      /bad-regex\.yaml > rules\[0\] \(demo-lookbehind\)\.pattern: RE2 rejects "\(\?<!x\)demo_.*": invalid perl operator: \(\?<!/,
    ],
    'a missing field': [
      'missing-field.yaml',
      /missing-field\.yaml > rules\[0\] \(demo-no-pattern\)\.pattern: required field is missing/,
    ],
    'an unknown field': [
      'unknown-field.yaml',
      /unknown-field\.yaml > rules\[0\] \(demo-unknown-field\): unknown field "severity"/,
    ],
    'a duplicate id': [
      'duplicate-id.yaml',
      /duplicate-id\.yaml > rules\[1\] \(demo-twice\)\.id: duplicate id, first defined at .*duplicate-id\.yaml > rules\[0\] \(demo-twice\)/,
    ],
    'a YAML syntax error': ['bad-yaml.yaml', /bad-yaml\.yaml:7:\d+: YAML syntax error: Flow sequence/],
    'a keyword shorter than 3 characters': [
      'keyword-too-short.yaml',
      /keyword-too-short\.yaml > rules\[0\] \(demo-short-keyword\)\.keywords\[0\]: keywords need 3\+ characters/,
    ],
    'a secretGroup beyond the pattern': [
      'bad-secret-group.yaml',
      /bad-secret-group\.yaml > rules\[0\] \(demo-bad-group\)\.secretGroup: 2 but the pattern has 1 capture group$/,
    ],
  };
  it.each(Object.entries(cases))('reports %s with its place', (_label, [file, detail]) => {
    const err = rulesError(() => loadRuleFile(fixture(file)));
    expect(err.details).toHaveLength(1);
    expect(err.details[0]).toMatch(detail);
    expect(err.message).toBe('1 problem in rule files');
  });

  it('reports every fixture problem at once when loaded as one pack', () => {
    const files = Object.values(cases).map(([f]) => fixture(f));
    const err = rulesError(() => loadRulePack(files));
    expect(err.details).toHaveLength(files.length);
    expect(err.message).toBe(`${files.length} problems in rule files`);
  });
});

describe('parseRules', () => {
  it('returns validated rules with schema defaults filled in', () => {
    const [r] = parseRules({ rules: [rule()] }, 'inline.yaml');
    expect(r).toMatchObject({
      id: 'demo-token',
      secretGroup: 0,
      confidence: 'high',
      boundary: 'word',
      placeholderFilter: false,
      negatives: [],
    });
  });

  it('reports several problems in several rules of one document together', () => {
    const err = rulesError(() =>
      parseRules(
        {
          rules: [
            rule({ id: 'one', pattern: 'a(' }),
            rule({ id: 'two', confidence: 'sure', keywords: ['ab'] }),
            rule({ id: 'three', allowlist: { regexes: ['(?=x)'], paths: ['ok/.*', '[z-a]'] } }),
          ],
        },
        'inline.yaml',
      ),
    );
    expect(err.details).toEqual([
      expect.stringMatching(/^inline\.yaml > rules\[0\] \(one\)\.pattern: RE2 rejects "a\(": missing \)/),
      expect.stringMatching(/^inline\.yaml > rules\[1\] \(two\)\.(confidence|keywords\[0\]): /),
      expect.stringMatching(/^inline\.yaml > rules\[1\] \(two\)\.(confidence|keywords\[0\]): /),
      expect.stringMatching(/^inline\.yaml > rules\[2\] \(three\)\.allowlist\.regexes\[0\]: RE2 rejects/),
      expect.stringMatching(/^inline\.yaml > rules\[2\] \(three\)\.allowlist\.paths\[1\]: RE2 rejects/),
    ]);
  });

  it('reports a bad regex beside a schema error in the same rule', () => {
    const err = rulesError(() => parseRules({ rules: [rule({ pattern: '(?<!x)y', description: undefined })] }, 'f.yaml'));
    expect(err.details).toHaveLength(2);
    expect(err.details.join('\n')).toMatch(/\.description: required field is missing/);
    expect(err.details.join('\n')).toMatch(/\.pattern: RE2 rejects/);
  });

  it('requires placeholderFilter of a rule whose prefilter drops values that read as code', () => {
    const shape = { pattern: 'token[ =]+([A-Za-z0-9]{16,})', secretGroup: 1, keywords: ['token'], prefilter: 'assignment-token' };
    expect(parseRules({ rules: [rule({ ...shape, placeholderFilter: true })] }, 'f.yaml')).toHaveLength(1);
    const err = rulesError(() => parseRules({ rules: [rule(shape)] }, 'f.yaml'));
    expect(err.details[0]).toMatch(
      /prefilter: assignment-token drops values that read as code, so the rule needs placeholderFilter: true/,
    );
  });

  it('counts named and unnamed capture groups, not non-capturing ones', () => {
    const ok = parseRules(
      { rules: [rule({ pattern: '(?:key|token)=(?P<v>[a-z]+)(x)', secretGroup: 2, keywords: ['key'] })] },
      'f.yaml',
    );
    expect(ok[0]!.secretGroup).toBe(2);
    const err = rulesError(() => parseRules({ rules: [rule({ pattern: '(?:a)(?:b)', secretGroup: 1 })] }, 'f.yaml'));
    expect(err.details[0]).toMatch(/secretGroup: 1 but the pattern has 0 capture groups/);
  });

  it('accepts a bare list, as a config rules: section may pass it', () => {
    expect(parseRules([rule()], '.keywarden.yaml')).toHaveLength(1);
  });

  const shapes: Record<string, [unknown, RegExp]> = {
    'an empty document': [null, /^f\.yaml: expected a mapping with a `rules:` list, got an empty document/],
    'no rules key': [{}, /^f\.yaml > rules: required field is missing/],
    'an empty rules list': [{ rules: [] }, /^f\.yaml > rules: holds no rule/],
    'rules that are not a list': [{ rules: 'x' }, /^f\.yaml > rules: expected a list of rules/],
    'an unknown top-level key': [{ rules: [rule()], version: 2 }, /^f\.yaml > version: unknown field/],
    'a rule that is not a mapping': [{ rules: ['x'] }, /^f\.yaml > rules\[0\]: expected a mapping/],
  };
  it.each(Object.entries(shapes))('rejects %s', (_label, [doc, detail]) => {
    const err = rulesError(() => parseRules(doc, 'f.yaml'));
    expect(err.details[0]).toMatch(detail);
  });
});

describe('loadRulePack', () => {
  it('rejects an id defined in two files, naming both places', () => {
    const a = join(tmp, 'a.yaml');
    const b = join(tmp, 'b.yaml');
    writeFileSync(
      a,
      `rules:\n  - id: demo-shared\n    description: A\n    provider: Demo\n    category: generic\n    pattern: 'demo_[a-z]{20}'\n    keywords: [demo_]\n    examples: ['«demo_{lower:20}»']\n`,
    );
    writeFileSync(
      b,
      `rules:\n  - id: demo-other\n    description: B\n    provider: Demo\n    category: generic\n    pattern: 'other_[a-z]{20}'\n    keywords: [other_]\n    examples: ['«other_{lower:20}»']\n  - id: demo-shared\n    description: C\n    provider: Demo\n    category: generic\n    pattern: 'third_[a-z]{20}'\n    keywords: [third_]\n    examples: ['«third_{lower:20}»']\n`,
    );
    expect(loadRulePack([a]).map((r) => r.id)).toEqual(['demo-shared']);
    const err = rulesError(() => loadRulePack([a, b]));
    expect(err.details).toEqual([
      expect.stringMatching(
        /b\.yaml > rules\[1\] \(demo-shared\)\.id: duplicate id, first defined at .*a\.yaml > rules\[0\] \(demo-shared\)$/,
      ),
    ]);
  });

  it('reports a file it cannot read', () => {
    const err = rulesError(() => loadRulePack([join(tmp, 'absent.yaml')]));
    expect(err.details[0]).toMatch(/absent\.yaml: cannot read: ENOENT/);
  });
});

describe('builtinRuleFiles', () => {
  it('finds the built-in YAML directory next to this module', () => {
    const files = builtinRuleFiles();
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(f).toMatch(/[/\\]rules[/\\]builtin[/\\][^/\\]+\.yaml$/);
  });
});
