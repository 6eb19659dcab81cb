// `keywarden scan` on the questions issue #14 raised: a path the user names is scanned even when an
// enclosing .gitignore ignores it, a scan that reads nothing says why, every finding carries its
// context (and `--exclude-context` drops by it), and findings at `info` fail no scan.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { Report } from '../../scanner/report.js';

const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
const rng = seededRng(14);
const ghp = expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
const pk = expandTemplate('«pk_live_{base62:40}»', { rng }).secret!;

function run(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, KEYWARDEN_FINGERPRINT_KEY: 'test-fingerprint-key-0123456789' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let repo: string;
beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'kw-ctx-'));
  mkdirSync(join(repo, '.git'));
  writeFileSync(join(repo, '.gitignore'), 'vendor/\nbuild/\n*.log\nonly-logs/\n');
  for (const dir of ['vendor/lib/build', 'src', 'test', 'docs', 'only-logs', 'public'])
    mkdirSync(join(repo, dir), { recursive: true });
  writeFileSync(join(repo, 'vendor/lib/config.js'), `token = "${ghp}"\n`);
  writeFileSync(join(repo, 'vendor/lib/build/out.js'), `token = "${ghp}"\n`);
  writeFileSync(join(repo, 'vendor/lib/debug.log'), `token = "${ghp}"\n`);
  writeFileSync(join(repo, 'src/app.js'), `const token = "${ghp}";\n`);
  writeFileSync(join(repo, 'test/app_test.go'), `const token = "${ghp}"\n`);
  writeFileSync(join(repo, 'docs/setup.md'), `Use \`${ghp}\`\n`);
  writeFileSync(join(repo, 'only-logs/a.log'), `token = "${ghp}"\n`);
  writeFileSync(join(repo, 'public/pay.js'), `const stripe = Stripe("${pk}");\n`);
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

const report = (stdout: string) => Report.parse(JSON.parse(stdout));

describe('keywarden scan of a named path', () => {
  it('scans a directory the enclosing .gitignore ignores, and still prunes inside it', () => {
    const r = run(['scan', 'vendor/lib', '--format', 'json'], repo);
    expect(r.code).toBe(1);
    expect(report(r.stdout).findings.map((f) => f.path)).toEqual(['config.js']);
  });

  it('says on stderr why a scan read no file', () => {
    const r = run(['scan', 'only-logs/', '--format', 'json'], repo);
    expect(r.code).toBe(0);
    expect(report(r.stdout).stats.files).toBe(0);
    expect(r.stderr).toBe(
      'keywarden: warning: scanned 0 files in only-logs/: 1 path ignored by .gitignore (--no-ignore scans them)\n',
    );
  });
});

describe('finding context', () => {
  it('carries the context of each file in JSON and drops the excluded ones', () => {
    const all = report(run(['scan', '.', '--format', 'json'], repo).stdout).findings;
    const byPath = Object.fromEntries(all.map((f) => [f.path, f.context]));
    expect(byPath).toMatchObject({ 'src/app.js': 'code', 'test/app_test.go': 'test', 'docs/setup.md': 'docs' });
    const kept = report(run(['scan', '.', '--format', 'json', '--exclude-context', 'test,docs'], repo).stdout).findings;
    expect(kept.map((f) => f.path).sort()).toEqual(['public/pay.js', 'src/app.js']);
  });

  it('rejects an unknown context name before scanning', () => {
    const r = run(['scan', '.', '--exclude-context', 'tests'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--exclude-context takes code, test, fixture, docs, example/);
  });

  it('shows the context in text and SARIF reports', () => {
    const text = run(['scan', '.', '--format', 'text'], repo).stdout;
    expect(text).toMatch(/test\/app_test\.go\n.*github-pat.*\(high\)\s+\[test\]/);
    const sarif = JSON.parse(run(['scan', '.', '--format', 'sarif'], repo).stdout);
    const contexts = sarif.runs[0].results.map((x: { properties: { context: string } }) => x.properties.context);
    expect(contexts).toEqual(expect.arrayContaining(['code', 'test', 'docs']));
  });
});

describe('public-by-design keys', () => {
  it('reports a publishable key at info and does not fail the scan for it', () => {
    const r = run(['scan', 'public', '--format', 'json'], repo);
    const [f] = report(r.stdout).findings;
    expect(f).toMatchObject({ ruleId: 'stripe-publishable-key', confidence: 'info' });
    expect(r.code).toBe(0);
  });
});

describe('keywarden history', () => {
  it('finds a credential file committed and deleted, judged by its path, and filters by context', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-ctx-git-'));
    try {
      const git = (...args: string[]) =>
        execFileSync('git', args, {
          cwd: dir,
          env: {
            ...process.env,
            GIT_AUTHOR_NAME: 'A',
            GIT_AUTHOR_EMAIL: 'a@example.org',
            GIT_COMMITTER_NAME: 'A',
            GIT_COMMITTER_EMAIL: 'a@example.org',
          },
        });
      git('init', '-q');
      const pw = expandTemplate('«{base62:20}»', { rng }).secret!;
      mkdirSync(join(dir, 'test'));
      writeFileSync(join(dir, '.pgpass'), `db.internal:5432:app:app:${pw}\n`);
      writeFileSync(join(dir, 'test/app_test.go'), `const token = "${ghp}"\n`);
      git('add', '.');
      git('commit', '-qm', 'add');
      git('rm', '-q', '.pgpass');
      git('commit', '-qm', 'remove');
      const all = report(run(['history', '.', '--format', 'json'], dir).stdout).findings;
      expect(all.map((f) => `${f.ruleId} ${f.path} ${f.context}`).sort()).toEqual([
        'github-pat test/app_test.go test',
        'pgpass-password .pgpass code',
      ]);
      const kept = report(run(['history', '.', '--format', 'json', '--exclude-context', 'test'], dir).stdout).findings;
      expect(kept.map((f) => f.ruleId)).toEqual(['pgpass-password']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
