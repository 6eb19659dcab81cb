// The intake against a real Fluent Bit process: `tail`/`dummy` inputs reading lines with generated
// secrets, the `http` output (`json_lines`, `json`, `compress gzip`) shipping them to a real intake that
// forwards to a real downstream on 127.0.0.1. Skipped when no fluent-bit binary is found
// (KEYWARDEN_FLUENT_BIT, or `fluent-bit` on PATH): Debian 12 does not package it, CI does not fetch it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Intake, startIntake } from '../../intake/server.js';
import { builtinRules } from '../../rules/builtin.js';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { createRedactor, type Redactor } from '../../scanner/redact-spans.js';
import { Downstream } from '../helpers/downstream.js';

/** Where the binary is, or why the suite cannot run. */
function findFluentBit(): { bin: string } | { reason: string } {
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const fromEnv = process.env.KEYWARDEN_FLUENT_BIT;
  if (fromEnv) {
    return executable(fromEnv) ? { bin: fromEnv } : { reason: `KEYWARDEN_FLUENT_BIT=${fromEnv} is not an executable file` };
  }
  // The official packages install to /opt/fluent-bit/bin, which is not on PATH.
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/opt/fluent-bit/bin'];
  for (const d of dirs) if (executable(join(d, 'fluent-bit'))) return { bin: join(d, 'fluent-bit') };
  return { reason: 'no fluent-bit binary: set KEYWARDEN_FLUENT_BIT=/path/to/fluent-bit or put fluent-bit on PATH' };
}

const found = findFluentBit();
const FLUENT_BIT = 'bin' in found ? found.bin : '';
if ('reason' in found) console.warn(`[fluent-bit.test] skipped: ${found.reason} (see docs/logs.md)`);

const TOKEN = 'intake-fluent-bit-token-0123456789';
const MARKER = /\[REDACTED:github-pat:kw1:([0-9a-f]{6})\]/g;
const rng = seededRng(23);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
/** Every wait is bounded: a stuck shipper fails the test, it does not hang it. */
const WAIT_MS = 20_000;

/** A `tail` input reading `log` from its start; `parser` json turns each line into a structured record. */
function tailInput(log: string, parser?: 'json'): string {
  return `[INPUT]
    Name            tail
    Path            ${log}
    Tag             app
    Read_from_Head  On
${parser ? `    Parser          ${parser}\n` : ''}`;
}

/** A running fluent-bit; its own log goes to a file, quoted in failure messages. */
interface Shipper {
  proc: ChildProcess;
  logFile: string;
  exited: boolean;
}

let redactor: Redactor;
let dir: string;
let downstream: Downstream;
let intake: Intake | null = null;
const shippers = new Set<Shipper>();

async function stopShipper(s: Shipper): Promise<void> {
  shippers.delete(s);
  if (s.exited) return;
  const gone = once(s.proc, 'exit');
  s.proc.kill('SIGTERM');
  const t = setTimeout(() => s.proc.kill('SIGKILL'), 3000); // Fluent Bit's grace period is 1 s here
  await gone;
  clearTimeout(t);
}

function shipperLog(s: Shipper): string {
  try {
    // Log lines only (they start with `[date]`), not the start-up banner.
    const lines = readFileSync(s.logFile, 'utf8').split('\n');
    return lines
      .filter((l) => l.startsWith('['))
      .slice(-30)
      .join('\n');
  } catch {
    return '(no log)';
  }
}

interface OutputOpts {
  format: 'json' | 'json_lines' | 'msgpack';
  compress?: 'gzip' | 'zstd' | 'snappy';
  token?: string;
}

/** The `[OUTPUT]` section: Fluent Bit's `http` output pointed at the intake. */
function httpOutput(it: Intake, o: OutputOpts): string {
  const port = new URL(it.url).port;
  return `[OUTPUT]
    Name         http
    Match        *
    Host         127.0.0.1
    Port         ${port}
    URI          /v1/logs
    Format       ${o.format}
    Header       Authorization Bearer ${o.token ?? TOKEN}
    ${o.compress ? `Compress     ${o.compress}` : ''}
    Retry_Limit  5
`;
}

/** Writes the config into `sub`'s directory and starts fluent-bit on it. */
function startShipper(sub: string, input: string, output: string): Shipper {
  const base = join(dir, sub);
  writeFileSync(join(base, 'parsers.conf'), '[PARSER]\n    Name   json\n    Format json\n');
  writeFileSync(
    join(base, 'fluent-bit.conf'),
    `[SERVICE]
    Flush        1
    Grace        1
    Log_Level    info
    Parsers_File ${join(base, 'parsers.conf')}

${input}
${output}`,
  );
  const logFile = join(base, 'fluent-bit.log');
  const fd = openSync(logFile, 'a');
  const proc = spawn(FLUENT_BIT, ['-c', join(base, 'fluent-bit.conf'), '-f', '1'], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const s: Shipper = { proc, logFile, exited: false };
  proc.on('exit', () => {
    s.exited = true;
  });
  shippers.add(s);
  return s;
}

/** Polls `done` every 100 ms; fails with the shipper's log if it exits early or time runs out. */
async function waitFor(what: string, s: Shipper, done: () => boolean, ms = WAIT_MS): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (s.exited) throw new Error(`fluent-bit exited before ${what}:\n${shipperLog(s)}`);
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}; fluent-bit log:\n${shipperLog(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startIntakeFor(sub: string): Promise<Intake> {
  mkdirSync(join(dir, sub), { recursive: true });
  intake = await startIntake({
    redactor,
    token: TOKEN,
    spoolDir: join(dir, sub, 'spool'),
    findingsFile: join(dir, sub, 'findings.jsonl'),
    downstreamUrl: downstream.url,
    retryMinMs: 20,
    retryMaxMs: 100,
    downstreamTimeoutMs: 2000,
  });
  return intake;
}

interface FindingLine {
  ruleId: string;
  fingerprint: string;
  secret?: string;
  source: { kind: string; stream?: string };
}

function findingsOf(sub: string): FindingLine[] {
  const p = join(dir, sub, 'findings.jsonl');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as FindingLine);
}

/**
 * An application log of `n` lines: JSON with a secret in a message, in a nested object, or none; every
 * `plainEvery`-th line plain text with a secret (kept whole under `log` by the tail input).
 */
function writeAppLog(path: string, n: number, plainEvery = 0): { secrets: string[]; lines: string[] } {
  const secrets: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    if (plainEvery > 0 && i % plainEvery === plainEvery - 1) {
      const s = ghp();
      secrets.push(s);
      lines.push(`seq=${i} plain line GITHUB_TOKEN=${s} "quoted" \\ end`);
      continue;
    }
    const rec: Record<string, unknown> = { seq: i, level: i % 2 ? 'info' : 'warn', msg: `request ${i} ok` };
    if (i % 5 === 1) {
      const s = ghp();
      secrets.push(s);
      rec.msg = `auth with token=${s} for user u${i}`;
    } else if (i % 5 === 3) {
      const s = ghp();
      secrets.push(s);
      rec.ctx = { user: `u${i}`, headers: { authorization: `token ${s}` }, ids: [i, i + 1] };
    }
    lines.push(JSON.stringify(rec));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { secrets, lines };
}

/**
 * What each line should be downstream (minus `date`) with its secret as `<M>`, keyed by its seq: the
 * parsed object when the `json` parser is on and the line is JSON, else `{ log: line }`.
 */
function expectedRecords(lines: string[], secrets: string[], parsed: boolean): Map<number, unknown> {
  const out = new Map<number, unknown>();
  lines.forEach((line, i) => {
    let exp = line;
    for (const s of secrets) exp = exp.replaceAll(s, '<M>');
    out.set(i, parsed && exp.startsWith('{') ? JSON.parse(exp) : { log: exp });
  });
  return out;
}

/** Received records without Fluent Bit's `date`, markers as `<M>`, keyed by seq (a field, or in `log`). */
function normalized(records: Array<Record<string, unknown>>): Map<number, unknown> {
  const out = new Map<number, unknown>();
  for (const r of records) {
    const { date, ...rest } = r;
    expect(typeof date).toBe('number'); // json_date_format double, Fluent Bit's default
    const m = /"seq":(\d+)|^seq=(\d+) /.exec(String(rest.log));
    const seq = typeof rest.seq === 'number' ? rest.seq : Number(m?.[1] ?? m?.[2]);
    out.set(seq, JSON.parse(JSON.stringify(rest).replace(MARKER, '<M>')));
  }
  return out;
}

/** The checks every case makes: all lines, no secret, markers, structure, findings matching markers. */
function checkDelivered(sub: string, secrets: string[], expected: Map<number, unknown>): void {
  const all = downstream.received.map((r) => r.body).join('\n');
  for (const s of secrets) expect(all.includes(s), 'a generated secret reached downstream').toBe(false);
  const records = downstream.records();
  expect(records).toHaveLength(expected.size);
  expect(normalized(records)).toEqual(expected);
  const markers = new Set([...all.matchAll(MARKER)].map((m) => m[1]));
  expect(markers.size).toBe(secrets.length);

  const findings = findingsOf(sub);
  expect(findings.length).toBeGreaterThanOrEqual(secrets.length); // a batch Fluent Bit re-sends is recorded again
  expect(new Set(findings.map((f) => f.fingerprint)).size).toBe(secrets.length);
  for (const f of findings) {
    expect(f.ruleId).toBe('github-pat');
    expect(f.source.kind).toBe('log');
    expect(f.secret).toBeUndefined();
    // The marker's 6 hex digits are the start of the finding's fingerprint: log lines correlate with findings.
    expect(markers.has(f.fingerprint.slice(4, 10))).toBe(true);
  }
  const raw = readFileSync(join(dir, sub, 'findings.jsonl'), 'utf8');
  for (const s of secrets) expect(raw.includes(s), 'a generated secret reached the findings file').toBe(false);
}

describe.skipIf(!FLUENT_BIT)('intake with a real Fluent Bit', () => {
  beforeAll(async () => {
    redactor = createRedactor({ rules: await builtinRules(), fingerprintKey: Buffer.from('test-fingerprint-key-0123456789') });
    dir = mkdtempSync(join(tmpdir(), 'kw-fluent-bit-'));
    downstream = new Downstream();
    const v = spawnSync(FLUENT_BIT, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    console.info(`[fluent-bit.test] ${FLUENT_BIT}: ${(v.stdout || v.stderr).split('\n')[0]}`);
  });
  afterEach(async () => {
    await Promise.all([...shippers].map(stopShipper));
    await intake?.close();
    intake = null;
    await downstream.stop();
    downstream.received = [];
  });
  afterAll(async () => {
    await Promise.all([...shippers].map(stopShipper));
    await downstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tail + json parser, `format json_lines`: every record arrives redacted, structure kept', async () => {
    await downstream.start();
    const it = await startIntakeFor('lines');
    const log = join(dir, 'lines', 'app.log');
    const { secrets, lines } = writeAppLog(log, 300, 50);
    const s = startShipper('lines', tailInput(log, 'json'), httpOutput(it, { format: 'json_lines' }));
    await waitFor('300 records downstream', s, () => downstream.records().length >= 300);
    await it.drained(WAIT_MS);
    expect(downstream.received.every((r) => r.contentType === 'application/x-ndjson')).toBe(true);
    checkDelivered('lines', secrets, expectedRecords(lines, secrets, true));
  }, 40_000);

  it('tail without a parser, `format json`: one JSON array per batch, the `log` strings redacted', async () => {
    await downstream.start();
    const it = await startIntakeFor('array');
    const log = join(dir, 'array', 'app.log');
    const { secrets, lines } = writeAppLog(log, 120, 7);
    const s = startShipper('array', tailInput(log), httpOutput(it, { format: 'json' }));
    await waitFor('120 records downstream', s, () => downstream.records().length >= 120);
    await it.drained(WAIT_MS);
    expect(downstream.received.every((r) => r.contentType === 'application/json')).toBe(true);
    expect(downstream.received.every((r) => r.body.trimStart().startsWith('['))).toBe(true);
    checkDelivered('array', secrets, expectedRecords(lines, secrets, false));
  }, 40_000);

  it('dummy input, `format json_lines` with `compress gzip`', async () => {
    await downstream.start();
    const it = await startIntakeFor('gzip');
    const [a, b] = [ghp(), ghp()];
    const record = { svc: 'billing', msg: `deploy key ${a}`, env: { GH_TOKEN: b, region: 'eu-west-1' }, n: 7 };
    const s = startShipper(
      'gzip',
      `[INPUT]
    Name     dummy
    Tag      dummy
    Dummy    ${JSON.stringify(record)}
    Samples  20
    Rate     20
`,
      httpOutput(it, { format: 'json_lines', compress: 'gzip' }),
    );
    await waitFor('20 records downstream', s, () => downstream.records().length >= 20);
    await it.drained(WAIT_MS);
    const records = downstream.records();
    expect(records).toHaveLength(20);
    const want = JSON.parse(JSON.stringify(record).replaceAll(a, '<M>').replaceAll(b, '<M>'));
    for (const { date, ...rest } of records) {
      expect(typeof date).toBe('number');
      expect(JSON.parse(JSON.stringify(rest).replace(MARKER, '<M>'))).toEqual(want);
    }
    const all = downstream.received.map((r) => r.body).join('\n');
    expect(all.includes(a) || all.includes(b)).toBe(false);
    expect(all).toContain('[REDACTED:github-pat:kw1:');
    const findings = findingsOf('gzip');
    expect(new Set(findings.map((f) => f.fingerprint)).size).toBe(2);
    expect(findings.length).toBeGreaterThanOrEqual(40);
  }, 40_000);

  it('spools while downstream is down, then delivers everything in order once it is up', async () => {
    await downstream.start();
    await downstream.stop(); // down: the port stays ours, every connection is reset
    const it = await startIntakeFor('spool');
    const log = join(dir, 'spool', 'app.log');
    const { secrets, lines } = writeAppLog(log, 200, 0);
    const s = startShipper('spool', tailInput(log, 'json'), httpOutput(it, { format: 'json_lines' }));
    // The intake acknowledges what it spooled, so Fluent Bit has nothing to retry. Findings are
    // recorded before a batch is spooled, so wait for both: every secret seen (the last is near the
    // end of the file) and something in the spool.
    await waitFor(
      'every secret recorded and a batch spooled',
      s,
      () => it.spool.length > 0 && new Set(findingsOf('spool').map((f) => f.fingerprint)).size >= secrets.length,
    );
    expect(downstream.received).toHaveLength(0);
    await downstream.start();
    await waitFor('200 records downstream', s, () => downstream.records().length >= 200);
    await it.drained(WAIT_MS);
    checkDelivered('spool', secrets, expectedRecords(lines, secrets, true));
    const seqs = downstream.records().map((r) => r.seq as number);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  }, 40_000);

  it('refuses a shipper with the wrong token: Fluent Bit gets 401 and drops the chunk, nothing is forwarded', async () => {
    await downstream.start();
    const it = await startIntakeFor('auth');
    const log = join(dir, 'auth', 'app.log');
    writeAppLog(log, 20, 0);
    const s = startShipper('auth', tailInput(log), httpOutput(it, { format: 'json_lines', token: 'not-the-intake-token-0123' }));
    await waitFor('a 401 in the fluent-bit log', s, () => shipperLog(s).includes('HTTP status=401'));
    expect(downstream.received).toHaveLength(0);
    expect(it.spool.length).toBe(0);
    expect(findingsOf('auth')).toHaveLength(0);
  }, 40_000);

  it('refuses bodies it cannot read (zstd, snappy, msgpack) with 415, so no secret passes unscanned', async () => {
    for (const [sub, o] of [
      ['zstd', { format: 'json_lines', compress: 'zstd' }],
      ['snappy', { format: 'json_lines', compress: 'snappy' }],
      ['msgpack', { format: 'msgpack' }],
    ] as const) {
      await downstream.start();
      const it = await startIntakeFor(sub);
      const log = join(dir, sub, 'app.log');
      writeAppLog(log, 50, 0);
      const s = startShipper(sub, tailInput(log), httpOutput(it, o));
      await waitFor('a 415 in the fluent-bit log', s, () => shipperLog(s).includes('HTTP status=415'));
      expect(downstream.received).toHaveLength(0);
      expect(it.spool.length).toBe(0);
      await stopShipper(s);
      await it.close();
      intake = null;
      await downstream.stop();
    }
  }, 60_000);
});
