// `keywarden scan` as a user runs it: the compiled binary on a real directory tree and on stdin.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { Report } from '../../scanner/report.js';

const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
const rng = seededRng(42);
const gen = (t: string, checksum?: 'github-crc32' | 'npm-crc32') => expandTemplate(t, { rng, ...(checksum ? { checksum } : {}) });

function run(args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    input: opts.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, KEYWARDEN_FINGERPRINT_KEY: 'test-fingerprint-key-0123456789', ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let root: string;
const ghp = gen('«ghp_{base62:30}{checksum}»', 'github-crc32');
const npm = gen('«npm_{base62:30}{checksum}»', 'npm-crc32');

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'kw-cli-'));
  mkdirSync(join(root, 'src/deep'), { recursive: true });
  mkdirSync(join(root, 'ignored'), { recursive: true });
  writeFileSync(join(root, 'src/app.js'), `// config\nconst token = "${ghp.secret}";\n`);
  writeFileSync(join(root, 'src/deep/.npmrc'), `//registry.npmjs.org/:_authToken=${npm.secret}\n`);
  writeFileSync(join(root, 'src/same.txt'), `again ${ghp.secret}\n`);
  writeFileSync(join(root, 'ignored/secret.txt'), `${ghp.secret}\n`);
  writeFileSync(join(root, '.gitignore'), 'ignored/\n');
  writeFileSync(join(root, 'image.png'), Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(64)]));
  writeFileSync(join(root, 'big.log'), 'x'.repeat(2_000_000));
  symlinkSync(join(root, 'src/app.js'), join(root, 'link.js'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('keywarden scan', () => {
  it('reports findings as JSON with positions, shared fingerprints and no secret, and exits 1', () => {
    const r = run(['scan', root, '--format', 'json', '--max-file-size', '1MB']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const report = Report.parse(JSON.parse(r.stdout));
    const where = report.findings.map((f) => `${f.ruleId} ${f.path}:${f.line}:${f.column}`);
    expect(where).toEqual(
      expect.arrayContaining([
        `github-pat src/app.js:2:16`,
        `github-pat src/same.txt:1:7`,
        expect.stringMatching(/^npm-access-token src\/deep\/\.npmrc:1:/),
      ]),
    );
    expect(where.some((w) => w.includes('ignored/'))).toBe(false);
    const gh = report.findings.filter((f) => f.ruleId === 'github-pat');
    expect(new Set(gh.map((f) => f.fingerprint)).size).toBe(1);
    expect(r.stdout).not.toContain(ghp.secret!);
    expect(r.stdout).not.toContain(npm.secret!);
    // Binary files are scanned as dumps now (test/cli/dump.test.ts); --skip-binary counts them instead.
    expect(report.stats.skipped).toMatchObject({ tooLarge: 1, symlink: 1 });
    expect(report.stats.skipped.binary ?? 0).toBe(0);
    const skipping = run(['scan', root, '--format', 'json', '--max-file-size', '1MB', '--skip-binary']);
    expect(JSON.parse(skipping.stdout).stats.skipped).toMatchObject({ binary: 1, tooLarge: 1, symlink: 1 });
  });

  it('prints the secret only with --show-secrets', () => {
    const r = run(['scan', join(root, 'src'), '--format', 'json', '--show-secrets']);
    expect(r.stdout).toContain(ghp.secret!);
  });

  it('writes SARIF to --output and exits 1', () => {
    const out = join(root, '..', `kw-${Date.now()}.sarif`);
    const r = run(['scan', join(root, 'src'), '--output', out]);
    expect(r.code).toBe(1);
    const sarif = JSON.parse(readFileSync(out, 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    expect(readFileSync(out, 'utf8')).not.toContain(ghp.secret!);
    rmSync(out);
  });

  it('exits 0 on a clean tree', () => {
    const clean = mkdtempSync(join(tmpdir(), 'kw-clean-'));
    writeFileSync(join(clean, 'a.txt'), 'nothing to see\n');
    const r = run(['scan', clean, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).findings).toEqual([]);
    rmSync(clean, { recursive: true });
  });

  it('reads stdin with `scan -` and reports lines from the stream start', () => {
    const input = `${'filler line\n'.repeat(50_000)}x = "${ghp.secret}"\n`;
    const r = run(['scan', '-', '--format', 'json'], { input });
    expect(r.code).toBe(1);
    const f = JSON.parse(r.stdout).findings[0];
    expect(f).toMatchObject({ ruleId: 'github-pat', path: '-', line: 50_001, column: 6 });
  });

  it('honours .keywardenignore and --baseline', () => {
    const first = run(['scan', join(root, 'src'), '--format', 'json']);
    const baseline = join(root, '..', `kw-baseline-${Date.now()}.json`);
    writeFileSync(baseline, first.stdout);
    const again = run(['scan', join(root, 'src'), '--format', 'json', '--baseline', baseline]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).findings).toEqual([]);
    rmSync(baseline);
  });

  it('fails with exit 2 and names file, rule and field for a malformed config rule', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-badcfg-'));
    writeFileSync(
      join(dir, '.keywarden.yaml'),
      'rules:\n  - id: my-rule\n    description: x\n    provider: me\n    category: saas\n    pattern: "(?<!x)abc"\n    keywords: [abc]\n    examples: ["«abc»"]\n',
    );
    const r = run(['scan', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('.keywarden.yaml');
    expect(r.stderr).toContain('my-rule');
    expect(r.stderr).toContain('pattern');
    rmSync(dir, { recursive: true });
  });

  it('lists and exports rules', () => {
    const list = run(['rules', 'list', '--format', 'json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).length).toBeGreaterThanOrEqual(150);
    const rg = run(['rules', 'export', '--format', 'rg']);
    expect(
      rg.stdout
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith('(?:') && l.endsWith(')')),
    ).toBe(true);
  });
});
