// The SARIF schema is the OASIS draft-07 edition, vendored from oasis-tcs/sarif-spec
// (sarif-2.1/prose/sarif-schema-2.1.0.json @ e0583813, formerly Schemata/sarif-schema-2.1.0.json).
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { Log } from 'sarif';
import { describe, expect, it } from 'vitest';
import { renderSarif } from '../../../scanner/reporters/sarif.js';
import { buildFixture, RULES } from './fixture.js';

// ajv-formats is CommonJS with `exports.default`: TypeScript (NodeNext) sees the default import as the
// module object, while vitest may hand over the function itself; accept either.
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? (addFormatsModule as unknown as FormatsPlugin);

const schema = JSON.parse(readFileSync(new URL('../../fixtures/sarif-schema-2.1.0.json', import.meta.url), 'utf8'));
// unicodeRegExp: false because the schema's `language` pattern (`...[a-zA-Z]{2}]?$`) has a stray `]`
// that is legal only in non-Unicode regular expressions; strict: false for its draft-07 leniencies.
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajv);
const validate = ajv.compile(schema);

function parse(text: string): Log {
  return JSON.parse(text) as Log;
}

describe('SARIF reporter', () => {
  it('matches the golden log, with no secret in it', async () => {
    const { report, secrets } = buildFixture();
    const out = renderSarif(report, RULES);
    await expect(out).toMatchFileSnapshot('../../fixtures/golden/report.sarif');
    for (const s of secrets) expect(out).not.toContain(s);
  });

  it('validates against the SARIF 2.1.0 JSON schema', () => {
    const { report } = buildFixture();
    const ok = validate(parse(renderSarif(report, RULES)));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('has a schema check with teeth: a result with an unknown level fails it', () => {
    const { report } = buildFixture();
    const log = parse(renderSarif(report, RULES));
    (log.runs[0]!.results![0] as { level: string }).level = 'critical';
    expect(validate(log)).toBe(false);
  });

  it('validates with no findings and no rules', () => {
    const { report } = buildFixture();
    expect(validate(parse(renderSarif({ ...report, findings: [], stats: { ...report.stats, errors: [] } }, [])))).toBe(true);
  });

  it('never includes the secret, even when the finding carries it (--show-secrets)', () => {
    const { report, secrets } = buildFixture({ showSecrets: true });
    const out = renderSarif(report, RULES);
    for (const s of secrets) expect(out).not.toContain(s);
  });

  it('maps confidence to level, points ruleIndex at the rule, and keys the fingerprint', () => {
    const { report } = buildFixture();
    const run = parse(renderSarif(report, RULES)).runs[0]!;
    const rules = run.tool.driver.rules!;
    expect(run.results!.map((r) => r.level)).toEqual(['error', 'warning']);
    for (const [i, r] of run.results!.entries()) {
      expect(rules[r.ruleIndex!]!.id).toBe(r.ruleId);
      expect(r.partialFingerprints).toEqual({ 'keywarden/v1': report.findings[i]!.fingerprint });
      expect(r.message.text).toContain(report.findings[i]!.redacted);
    }
    expect(rules[0]!.helpUri).toBe(RULES[0]!.references![0]);
    expect(rules[1]!.helpUri).toBeUndefined();
  });

  it('percent-encodes each path segment under %SRCROOT%', () => {
    const { report } = buildFixture();
    const loc = parse(renderSarif(report, RULES)).runs[0]!.results![1]!.locations![0]!.physicalLocation!;
    expect(loc.artifactLocation).toEqual({ uri: 'config/my%20settings%231.yaml', uriBaseId: '%SRCROOT%' });
    expect(loc.region).toEqual({ startLine: 7, startColumn: 10, endLine: 7, endColumn: 42 });
  });

  it('adds a descriptor for a finding whose rule was not passed in', () => {
    const { report } = buildFixture();
    const run = parse(renderSarif(report, [])).runs[0]!;
    expect(run.tool.driver.rules!.map((r) => r.id)).toEqual(['github-pat', 'generic-api-key']);
    expect(run.results!.map((r) => r.ruleIndex)).toEqual([0, 1]);
  });
});
