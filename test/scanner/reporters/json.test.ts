import { describe, expect, it } from 'vitest';
import { Report, ReportEntry } from '../../../scanner/report.js';
import { renderJson, renderJsonl } from '../../../scanner/reporters/json.js';
import { buildFixture } from './fixture.js';

describe('JSON reporter', () => {
  it('matches the golden report, with no secret in it', async () => {
    const { report, secrets } = buildFixture();
    const out = renderJson(report);
    await expect(out).toMatchFileSnapshot('../../fixtures/golden/report.json');
    for (const s of secrets) expect(out).not.toContain(s);
  });

  it('writes what the Report schema (and so --baseline) reads back', () => {
    const { report } = buildFixture();
    expect(Report.parse(JSON.parse(renderJson(report)))).toEqual(report);
  });

  it('orders keys as the schema declares them, whatever order the finding was built in', () => {
    const { report } = buildFixture({ showSecrets: true });
    const shuffled = report.findings.map((f) => Object.fromEntries(Object.entries(f).reverse()) as ReportEntry);
    const out = JSON.parse(renderJson({ ...report, findings: shuffled }));
    expect(Object.keys(out)).toEqual(['version', 'tool', 'findings', 'stats']);
    expect(Object.keys(out.findings[1])).toEqual(Object.keys(ReportEntry.shape));
    expect(Object.keys(out.stats)).toEqual(['files', 'bytes', 'skipped', 'durationMs', 'errors']);
    expect(Object.keys(out.stats.skipped)).toEqual(['binary', 'tooLarge', 'unreadable', 'excluded', 'symlink']);
    expect(Object.keys(out.findings[1].source)).toEqual(['kind', 'commit', 'author', 'email', 'date', 'message']);
  });

  it('includes the secret only when the finding carries it (--show-secrets)', () => {
    const { report, secrets } = buildFixture({ showSecrets: true });
    const out = renderJson(report);
    for (const s of secrets) expect(out).toContain(s);
  });
});

describe('JSON Lines reporter', () => {
  it('writes one entry per line and nothing else', () => {
    const { report, secrets } = buildFixture();
    const out = renderJsonl(report.findings);
    const lines = out.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => ReportEntry.parse(JSON.parse(l)))).toEqual(report.findings);
    for (const s of secrets) expect(out).not.toContain(s);
  });

  it('writes nothing when there are no findings', () => {
    expect(renderJsonl([])).toBe('');
  });
});
