// Commit metadata is scanned content: a secret in a commit message, an author name or email, or a
// branch name is found with its own provenance (`location`), and no provenance, report or stored
// occurrence carries it in clear: every metadata field is redacted before a finding is made.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportEntries, toReport } from '../../../scanner/reporters/entries.js';
import { render } from '../../../scanner/reporters/index.js';
import { scanDiff, scanHistory } from '../../../scanner/scan-git.js';
import { openRepo } from '../../../scanner/sources/git/repo.js';
import { KWTEST_RULE, secret, TestRepo } from './fixture.js';

const key = Buffer.from('test-fingerprint-key-0123456789');
const opts = { rules: [KWTEST_RULE], globalAllow: {}, fingerprintKey: key, showSecrets: false, maxFileSize: 100_000 };
const S = { subject: secret(), body: secret(), author: secret(), branch: secret(), blob: secret(), range: secret() };
const c: Record<string, string> = {};
let repo: TestRepo;

beforeAll(() => {
  repo = new TestRepo();
  repo.write('a.txt', 'nothing here\n');
  c.base = repo.commit('base');
  // The same commit adds a secret in a file and names another in its subject and a third in its body.
  repo.write('config.txt', `token = "${S.blob}"\n`);
  c.message = repo.commit(`rotate ${S.subject}\n\nold key was:\n  ${S.body}\n`);
  repo.git('-c', `user.name=ci ${S.author}`, 'commit', '-q', '--allow-empty', '-m', 'empty');
  c.author = repo.head();
  repo.git('branch', `leak/${S.branch}`);
  repo.git('checkout', '-q', '-b', 'pr');
  c.range = repo.commit(`fix: use ${S.range}`);
  repo.git('checkout', '-q', 'main');
});

afterAll(() => rmSync(repo.dir, { recursive: true, force: true }));

describe('commit metadata in history', () => {
  it('finds secrets in messages, authors and ref names, each at its own location, with lines and columns in that text', async () => {
    const result = await scanHistory(await openRepo(repo.dir, process.env), opts);
    const entries = reportEntries(result.findings, 'finding');
    const at = entries
      .map((e) =>
        e.source.kind === 'git'
          ? `${e.source.commit.slice(0, 7)} ${e.path}:${e.line}:${e.column} ${e.source.location ?? '-'}`
          : '?',
      )
      .sort();
    const short = (s: string) => s.slice(0, 7);
    expect(at).toEqual(
      [
        `${short(c.message!)} config.txt:1:10 -`,
        `${short(c.message!)} <message>:1:8 message`,
        `${short(c.message!)} <message>:4:3 message`,
        `${short(c.author!)} <author>:1:4 author`,
        `${short(c.author!)} <ref>:1:17 ref`,
        `${short(c.range!)} <message>:1:10 message`,
      ].sort(),
    );
    const ref = entries.find((e) => e.source.kind === 'git' && e.source.location === 'ref')!;
    expect(ref.source).toMatchObject({ kind: 'git', location: 'ref', commit: c.author });
    expect(ref.context).toBeUndefined();
  });

  it('redacts every metadata field before it reaches a finding: no secret in the JSON or SARIF report', async () => {
    const result = await scanHistory(await openRepo(repo.dir, process.env), opts);
    const blob = reportEntries(result.findings, 'finding').find((e) => e.path === 'config.txt')!;
    expect(blob.source).toMatchObject({
      kind: 'git',
      message: expect.stringMatching(/^rotate \[REDACTED:kwtest-token:kw1:[0-9a-f]{6}\]$/),
    });
    const author = reportEntries(result.findings, 'finding').find((e) => e.path === '<author>')!;
    expect(author.source).toMatchObject({ author: expect.stringMatching(/^ci \[REDACTED:kwtest-token:kw1:[0-9a-f]{6}\]$/) });
    const ref = reportEntries(result.findings, 'finding').find((e) => e.path === '<ref>')!;
    expect(ref.source).toMatchObject({
      ref: expect.stringMatching(/^refs\/heads\/leak\/\[REDACTED:kwtest-token:kw1:[0-9a-f]{6}\]$/),
    });
    const report = toReport(result.findings, result.stats, '0', 'finding');
    for (const format of ['json', 'jsonl', 'sarif', 'text'] as const) {
      const out = render(format, report, { rules: [KWTEST_RULE] });
      for (const s of Object.values(S)) expect(out).not.toContain(s);
    }
  });
});

describe('commit metadata in a range', () => {
  it('reports a secret in the message of a commit the range adds, not one in a message before it', async () => {
    const result = await scanDiff(await openRepo(repo.dir, process.env), { ...opts, base: 'main', head: 'pr' });
    const entries = reportEntries(result.findings, 'finding');
    expect(entries.map((e) => `${e.path}:${e.line}:${e.column}`)).toEqual(['<message>:1:10']);
    expect(entries[0]!.source).toMatchObject({
      kind: 'git',
      commit: c.range,
      location: 'message',
      message: expect.stringMatching(/^fix: use \[REDACTED:/),
    });
    expect(JSON.stringify(result.findings)).not.toContain(S.range);
  });
});

describe('files judged by path, in history', () => {
  it('reports a keystore at the paths that make it one: committed as a .p12, renamed from a .bin, never at the .bin', async () => {
    const r = new TestRepo();
    try {
      // Binary content built here; a PKCS#12 file is judged by its path, never by its bytes.
      const bytes = Buffer.concat([Buffer.from([0x30, 0x82, 0x0a, 0x00, 0x00]), Buffer.from(secret())]);
      r.write('certs/client.p12', bytes);
      const added = r.commit('add client cert');
      r.write('build/blob.bin', Buffer.concat([bytes, Buffer.from([1])]));
      r.commit('an unrelated binary');
      r.write('android/release.keystore', Buffer.concat([bytes, Buffer.from([1])]));
      r.git('rm', '-q', 'build/blob.bin');
      const renamed = r.commit('rename into a keystore path');
      const { builtinRules } = await import('../../../rules/builtin.js');
      const rules = (await builtinRules()).filter((x) => x.id === 'java-keystore-file');
      const result = await scanHistory(await openRepo(r.dir, process.env), { ...opts, rules });
      const at = reportEntries(result.findings, 'finding').map(
        (e) => `${e.source.kind === 'git' ? e.source.commit : ''} ${e.path} ${e.confidence}`,
      );
      expect(at.sort()).toEqual([`${added} certs/client.p12 low`, `${renamed} android/release.keystore low`].sort());
    } finally {
      rmSync(r.dir, { recursive: true, force: true });
    }
  });
});
