import { describe, expect, it } from 'vitest';
import { renderText } from '../../../scanner/reporters/text.js';
import { buildFixture } from './fixture.js';

const ANSI = /\x1b\[/;

describe('text reporter', () => {
  it('matches the golden text: findings grouped by file, then a summary line', async () => {
    const { report, secrets } = buildFixture();
    const out = renderText(report, { color: false });
    await expect(out).toMatchFileSnapshot('../../fixtures/golden/report.txt');
    for (const s of secrets) expect(out).not.toContain(s);
  });

  it('colours only when asked', () => {
    const { report } = buildFixture();
    expect(renderText(report, { color: false })).not.toMatch(ANSI);
    expect(renderText(report, { color: true })).toMatch(ANSI);
  });

  it('shows the secret only when the finding carries it (--show-secrets)', () => {
    const { report, secrets } = buildFixture({ showSecrets: true });
    const out = renderText(report, { color: false });
    for (const s of secrets) expect(out).toContain(s);
  });

  it('escapes control characters from scanned content, so a file name cannot drive the terminal', () => {
    const { report } = buildFixture();
    const f = { ...report.findings[0]!, path: 'evil\x1b[2J\nname.txt' };
    const out = renderText({ ...report, findings: [f] }, { color: false });
    expect(out).not.toMatch(ANSI);
    expect(out).toContain('evil\\x1b[2J\\nname.txt');
  });

  it('says so when there is nothing to report', () => {
    const { report } = buildFixture();
    const out = renderText({ ...report, findings: [] }, { color: false });
    expect(out).toMatch(
      /^No secrets found · scanned 42 files, 1\.23 MB in 0\.32 s · skipped 3 binary, 1 too large, 1 unreadable, 2 symlink\n$/,
    );
  });
});
