// `keywarden redact` as an rsyslog `omprog` program: a real rsyslogd (foreground, its own config,
// pid file and work directory in a temp dir, no imuxsock) receives syslog over TCP on loopback,
// pipes each message through the compiled binary, and omprog writes the filter's stdout to a file.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';

const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p));
const rng = seededRng(23);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

let dir: string | undefined;
let rsyslogd: ChildProcess | undefined;
afterAll(async () => {
  if (rsyslogd && rsyslogd.exitCode === null) {
    rsyslogd.kill('SIGTERM');
    await once(rsyslogd, 'exit');
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(RSYSLOGD === undefined)('rsyslog omprog', () => {
  it('pipes syslog messages through keywarden redact and writes them redacted', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-rsyslog-'));
    mkdirSync(join(dir, 'work'));
    const out = join(dir, 'out.log');
    const findings = join(dir, 'findings.jsonl');
    // omprog runs the program without a shell; a wrapper sets the key the markers are computed with.
    const wrapper = join(dir, 'redact.sh');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nexport KEYWARDEN_FINGERPRINT_KEY=rsyslog-test-key-0123456789\nexec "${process.execPath}" "${BIN}" redact --findings "${findings}" --stream syslog\n`,
    );
    chmodSync(wrapper, 0o755);
    // imtcp picks its own port and writes it to a file once it listens: no port chosen here can be
    // taken by another process before rsyslogd binds it.
    const portFile = join(dir, 'imtcp.port');
    const conf = join(dir, 'rsyslog.conf');
    writeFileSync(
      conf,
      [
        `global(workDirectory="${dir}/work")`,
        'module(load="imtcp")',
        'module(load="omprog")',
        `template(name="msgonly" type="string" string="%syslogtag%%msg%\\n")`,
        `input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${portFile}" ruleset="redact")`,
        'ruleset(name="redact") {',
        `  action(type="omprog" binary="${wrapper}" output="${out}" template="msgonly")`,
        '}',
        '',
      ].join('\n'),
    );
    const check = spawnSync(RSYSLOGD!, ['-N1', '-f', conf], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    rsyslogd = spawn(RSYSLOGD!, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    rsyslogd.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    await waitFor(
      () => rsyslogd!.exitCode !== null || (existsSync(portFile) && readFileSync(portFile, 'utf8').trim() !== ''),
      10_000,
    );
    expect(rsyslogd.exitCode, stderr).toBeNull();
    const port = Number(readFileSync(portFile, 'utf8').trim());

    const secrets = [ghp(), ghp()];
    const sock = connect(port, '127.0.0.1');
    await once(sock, 'connect');
    sock.write(`<14>Nov 22 04:00:00 host1 app[42]: login ok token=${secrets[0]}\n`);
    sock.write('<14>Nov 22 04:00:01 host1 app[42]: nothing to see\n');
    sock.write(`<11>Nov 22 04:00:02 host1 app[42]: failed with Authorization: token ${secrets[1]}\n`);
    sock.end();

    await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').length >= 4, 15_000).catch((e) => {
      throw new Error(
        `${e.message}; output: ${existsSync(out) ? readFileSync(out, 'utf8').length : 'none'} bytes; rsyslogd: ${stderr}`,
      );
    });
    const text = readFileSync(out, 'utf8');
    for (const s of secrets) expect(text).not.toContain(s);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^app\[42\]: login ok token=\[REDACTED:[a-z0-9-]+:kw1:[0-9a-f]{6}\]$/);
    expect(lines[1]).toBe('app[42]: nothing to see');
    expect(lines[2]).toMatch(/\[REDACTED:[a-z0-9-]+:kw1:[0-9a-f]{6}\]$/);
    await waitFor(() => existsSync(findings) && readFileSync(findings, 'utf8').trim().split('\n').length >= 2, 5_000);
    const fs = readFileSync(findings, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(fs.every((f) => f.source.kind === 'log' && f.source.stream === 'syslog')).toBe(true);
  });
});
