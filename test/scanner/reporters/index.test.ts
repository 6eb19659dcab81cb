import { describe, expect, it } from 'vitest';
import { REPORT_FORMATS, render } from '../../../scanner/reporters/index.js';
import { renderJson, renderJsonl } from '../../../scanner/reporters/json.js';
import { renderSarif } from '../../../scanner/reporters/sarif.js';
import { renderText } from '../../../scanner/reporters/text.js';
import { buildFixture, RULES } from './fixture.js';

describe('render', () => {
  it('dispatches every format to its reporter', () => {
    const { report } = buildFixture();
    const expected = {
      text: renderText(report, { color: true }),
      json: renderJson(report),
      jsonl: renderJsonl(report.findings),
      sarif: renderSarif(report, RULES),
    };
    for (const format of REPORT_FORMATS) expect(render(format, report, { rules: RULES, color: true })).toBe(expected[format]);
  });

  it('never puts a secret in SARIF, even from a --show-secrets report', () => {
    const { report, secrets } = buildFixture({ showSecrets: true });
    const out = render('sarif', report, { rules: RULES });
    for (const s of secrets) expect(out).not.toContain(s);
  });
});
