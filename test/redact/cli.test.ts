// `keywarden redact` and `keywarden intake` as a user runs them: the compiled binary, stdin to stdout.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { ReportEntry } from '../../scanner/report.js';

const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
const ENV = { ...process.env, KEYWARDEN_FINGERPRINT_KEY: 'test-fingerprint-key-0123456789' };
const rng = seededRng(5);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
const dir = mkdtempSync(join(tmpdir(), 'kw-redact-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function redact(args: string[], input: string) {
  const r = spawnSync(process.execPath, [BIN, 'redact', ...args], { input, encoding: 'utf8', env: ENV, cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('keywarden redact', () => {
  it('filters NDJSON: same line count, valid JSON, findings only in the --findings file', () => {
    const s = ghp();
    const input = [
      JSON.stringify({ msg: `token ${s}`, n: 1 }),
      '',
      'plain text line',
      JSON.stringify({ msg: 'ok', n: 2 }),
      `not json ${s}`,
    ].join('\n');
    const findings = join(dir, 'f.jsonl');
    const { code, stdout, stderr } = redact(['--json', '--findings', findings], `${input}\n`);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).not.toContain(s);
    const lines = stdout.split('\n');
    expect(lines).toHaveLength(6);
    expect(JSON.parse(lines[0]!).msg).toMatch(/^token \[REDACTED:github-pat:kw1:[0-9a-f]{6}\]$/);
    expect(lines.slice(1, 4)).toEqual(['', 'plain text line', JSON.stringify({ msg: 'ok', n: 2 })]);
    expect(lines[4]).toMatch(/^not json \[REDACTED:github-pat:kw1:[0-9a-f]{6}\]$/);
    const fs = readFileSync(findings, 'utf8')
      .trim()
      .split('\n')
      .map((l) => ReportEntry.parse(JSON.parse(l)));
    expect(fs.map((f) => [f.ruleId, f.line])).toEqual([
      ['github-pat', 1],
      ['github-pat', 5],
    ]);
    expect(readFileSync(findings, 'utf8')).not.toContain(s);
  });

  it('redacts a line longer than --max-line-length instead of passing it through', () => {
    const s = ghp();
    const long = `${'a '.repeat(20_000)}key ${s} ${'b '.repeat(20_000)}`;
    const { code, stdout } = redact(['--max-line-length', '8KiB'], `${long}\nshort\n`);
    expect(code).toBe(0);
    expect(stdout).not.toContain(s);
    expect(stdout.split('\n')).toHaveLength(3);
    expect(stdout.length).toBe(long.length + 7 - s.length + '[REDACTED:github-pat:kw1:000000]'.length);
  });
});

describe('keywarden intake', () => {
  it('starts on 127.0.0.1, refuses a missing token, and spools a batch', async () => {
    const spool = join(dir, 'spool');
    const child = spawn(process.execPath, [BIN, 'intake', '--port', '0', '--spool', spool], {
      env: { ...ENV, KEYWARDEN_INTAKE_TOKEN: 'cli-intake-token-0123456789' },
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    const url = await new Promise<string>((res, rej) => {
      child.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
        if (m) res(m[1]!);
      });
      child.once('exit', () => rej(new Error(`intake exited: ${err}`)));
    });
    try {
      expect((await fetch(url, { method: 'POST', body: '{}' })).status).toBe(401);
      const s = ghp();
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: 'Bearer cli-intake-token-0123456789', 'content-type': 'application/x-ndjson' },
        body: `${JSON.stringify({ log: `t ${s}` })}\n`,
      });
      expect(res.status).toBe(200);
      const files = readdirSync(spool).filter((f) => f.endsWith('.ndjson'));
      expect(files).toHaveLength(1);
      expect(readFileSync(join(spool, files[0]!), 'utf8')).toMatch(/\[REDACTED:github-pat:kw1:/);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
