import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Finding } from '../../model/finding.js';
import { loadBaseline, parseBaseline } from '../../scanner/baseline.js';
import type { Report, ReportEntry } from '../../scanner/report.js';
import { isSuppressed, loadIgnoreFile, parseIgnoreFile, suppress } from '../../scanner/suppress.js';
import { thrown } from '../helpers/thrown.js';

const FP1 = `kw1:${'1'.repeat(32)}`;
const FP2 = `kw1:${'2'.repeat(32)}`;
const FP3 = `kw1:${'3'.repeat(32)}`;

function finding(fingerprint: string, path: string, line = 1): ReportEntry {
  return {
    ruleId: 'aws-access-key-id',
    description: 'AWS access key ID',
    path,
    line,
    column: 5,
    endLine: line,
    endColumn: 25,
    fingerprint,
    redacted: 'AKIA…MPLE',
    confidence: 'high',
    entropy: 3.7,
    source: { kind: 'file' },
  };
}

function report(findings: ReportEntry[]): Report {
  return {
    version: 1,
    tool: { name: 'keywarden', version: '0.1.0' },
    findings,
    stats: {
      files: 3,
      bytes: 100,
      skipped: { binary: 1, tooLarge: 0, unreadable: 0, excluded: 0, symlink: 0 },
      durationMs: 5,
      errors: [],
    },
  };
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kw-suppress-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('.keywardenignore', () => {
  it('reads fingerprints, skipping comments and blank lines, and accepts lines pasted from a JSON report', () => {
    const set = parseIgnoreFile(
      `# accepted test keys\n\n${FP1}\n  ${FP2}   # rotated 2024-05\r\n      "fingerprint": "${FP3}",\n`,
      '.keywardenignore',
    );
    expect([...set].sort()).toEqual([FP1, FP2, FP3]);
  });

  it('reports every malformed line by number, without echoing it (it may be a pasted secret)', () => {
    const err = thrown(() => parseIgnoreFile(`${FP1}\nAKIAIOSFODNN7EXAMPLE\nkw1:nothex\n`, '.keywardenignore'));
    expect(err.code).toBe('KW_CONFIG_INVALID');
    expect(err.details.map((d) => d.slice(0, d.indexOf(': ')))).toEqual(['.keywardenignore:2', '.keywardenignore:3']);
    expect(`${err.message}\n${err.details.join('\n')}`).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('is empty when the root has no .keywardenignore, and is read from the root otherwise', () => {
    expect(loadIgnoreFile(root).size).toBe(0);
    writeFileSync(join(root, '.keywardenignore'), `${FP1}\n`);
    expect([...loadIgnoreFile(root)]).toEqual([FP1]);
  });

  it('suppresses a fingerprint in every file', () => {
    const ignore = new Set([FP1]);
    expect(isSuppressed(finding(FP1, 'a.env'), ignore, null)).toBe(true);
    expect(isSuppressed(finding(FP1, 'b/c.yaml'), ignore, null)).toBe(true);
    expect(isSuppressed(finding(FP2, 'a.env'), ignore, null)).toBe(false);
  });
});

/** A scanner finding with one occurrence per path given. */
function grouped(fingerprint: string, ...paths: string[]): Finding {
  return {
    fingerprint,
    ruleId: 'aws-access-key-id',
    description: 'AWS access key ID',
    confidence: 'high',
    redacted: 'AKIA…MPLE',
    entropy: 3.7,
    state: 'detected',
    occurrences: paths.map((path) => ({
      provenance: { kind: 'file', path },
      span: { line: 1, column: 5, endLine: 1, endColumn: 25 },
    })),
  };
}

describe('suppress', () => {
  it('drops an ignored finding, the baselined occurrences of another, and a finding left with none', () => {
    const baseline = parseBaseline(
      JSON.stringify(report([finding(FP2, 'config/app.env'), finding(FP3, 'only.env')])),
      'baseline.json',
    );
    const kept = suppress(
      [grouped(FP1, 'a.env'), grouped(FP2, 'config/app.env', 'deploy/app.env'), grouped(FP3, 'only.env')],
      new Set([FP1]),
      baseline,
    );
    expect(kept.map((f) => [f.fingerprint, f.occurrences.map((o) => o.provenance)])).toEqual([
      [FP2, [{ kind: 'file', path: 'deploy/app.env' }]],
    ]);
  });
});

describe('baseline', () => {
  it('suppresses a baselined finding by fingerprint and path even after its line moved', () => {
    const path = join(root, 'baseline.json');
    writeFileSync(path, JSON.stringify(report([finding(FP1, 'config/app.env', 10)])));
    const baseline = loadBaseline(path);
    const none = new Set<string>();
    expect(isSuppressed(finding(FP1, 'config/app.env', 42), none, baseline)).toBe(true);
  });

  it('reports the same secret again when it appears in another file, and a new secret in the same file', () => {
    const baseline = parseBaseline(JSON.stringify(report([finding(FP1, 'config/app.env')])), 'baseline.json');
    const none = new Set<string>();
    expect(isSuppressed(finding(FP1, 'deploy/app.env'), none, baseline)).toBe(false);
    expect(isSuppressed(finding(FP2, 'config/app.env'), none, baseline)).toBe(false);
  });

  it('rejects a file that is not JSON, naming the file and not quoting it', () => {
    const err = thrown(() => parseBaseline('{"findings": [AKIAIOSFODNN7EXAMPLE', 'old.json'));
    expect(err.code).toBe('KW_BASELINE_INVALID');
    expect(err.message).toContain('old.json');
    expect(err.message).not.toContain('AKIA');
  });

  it('rejects JSON that is not a keywarden report, with the fields at fault', () => {
    const bad = { ...report([finding(FP1, 'a')]), version: 2 };
    const err = thrown(() => parseBaseline(JSON.stringify(bad), 'old.json'));
    expect(err.code).toBe('KW_BASELINE_INVALID');
    expect(err.message).toContain('old.json');
    expect(err.details.some((d) => d.startsWith('old.json > version: '))).toBe(true);
    // A gitleaks report (an array) is not one either.
    expect(thrown(() => parseBaseline('[]', 'gitleaks.json')).code).toBe('KW_BASELINE_INVALID');
  });

  it('rejects a missing baseline file, naming it', () => {
    const err = thrown(() => loadBaseline(join(root, 'missing.json')));
    expect(err.code).toBe('KW_BASELINE_INVALID');
    expect(err.message).toContain('missing.json');
  });
});
