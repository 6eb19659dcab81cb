// The line redactor and its stream: markers, JSON validity, line counts, escapes, over-long lines.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../model/finding.js';
import { builtinRules } from '../../rules/builtin.js';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { fingerprint } from '../../scanner/fingerprint.js';
import { redactLines as redactBatch } from '../../scanner/redact-lines.js';
import { createRedactor, type Redactor } from '../../scanner/redact-spans.js';
import { RedactTransform } from '../../scanner/redact-stream.js';
import { reportEntries } from '../../scanner/reporters/entries.js';

const KEY = Buffer.from('test-fingerprint-key-0123456789');
const rng = seededRng(7);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
const marker = (secret: string) => `[REDACTED:github-pat:kw1:${fingerprint(KEY, 'github-pat', secret).slice(4, 10)}]`;

let r: Redactor;
beforeAll(async () => {
  r = createRedactor({ rules: await builtinRules(), fingerprintKey: KEY, stream: 'test' });
});

/** The redacted text, and the findings as report entries (one per occurrence) in stream order. */
async function run(input: Buffer | Buffer[], json: boolean, maxLineLength?: number) {
  const findings: Finding[] = [];
  const out: Buffer[] = [];
  const t = new RedactTransform(r, { json, ...(maxLineLength ? { maxLineLength } : {}), onFinding: (f) => findings.push(f) });
  t.on('data', (b: Buffer) => out.push(b));
  await pipeline(Readable.from(Array.isArray(input) ? input : [input]), t);
  return { text: Buffer.concat(out).toString('utf8'), findings: reportEntries(findings, 'location') };
}

/** redactLines with its findings as report entries (one per occurrence), in line order. */
function redactLines(red: Redactor, buf: Buffer, json: boolean) {
  const { out, findings } = redactBatch(red, buf, json);
  return { out, findings: reportEntries(findings, 'location') };
}

describe('redactLines', () => {
  it('replaces a token in a plain line with a marker naming the rule and a short keyed fingerprint', () => {
    const s = ghp();
    const { out, findings } = redactLines(r, Buffer.from(`user logged in with ${s} ok\n`), false);
    expect(out.toString()).toBe(`user logged in with ${marker(s)} ok\n`);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ ruleId: 'github-pat', line: 1, source: { kind: 'log', stream: 'test' } });
    expect(JSON.stringify(findings)).not.toContain(s);
  });

  it('names the more confident rule when two rules claim the same span, and keeps CRLF line ends', () => {
    const s = ghp();
    const { out } = redactLines(r, Buffer.from(`token=${s}\r\nnext\r\n`), false);
    expect(out.toString()).toBe(`token=${marker(s)}\r\nnext\r\n`);
  });

  it('returns the very same buffer when a batch holds no secret', () => {
    const buf = Buffer.from('{"msg":"hello"}\n{"msg":"world"}\n');
    expect(redactLines(r, buf, true).out).toBe(buf);
  });

  it('keeps NDJSON lines valid and their structure unchanged', () => {
    const s = ghp();
    const lines = [
      { level: 30, msg: `token ${s}`, nested: { list: ['a', `Bearer ${s}`] } },
      { level: 30, msg: 'quiet' },
      { level: 40, msg: `quoted "${s}" inside`, tab: 'a\tb' },
    ];
    const input = `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
    const { out, findings } = redactLines(r, Buffer.from(input), true);
    // One secret, three places: one finding.
    expect(new Set(findings.map((f) => f.fingerprint)).size).toBe(1);
    const got = out.toString().split('\n');
    expect(got).toHaveLength(4);
    expect(out.toString()).not.toContain(s);
    const parsed = got.slice(0, 3).map((l) => JSON.parse(l));
    expect(parsed[0].msg).toBe(`token ${marker(s)}`);
    expect(parsed[0].nested.list).toEqual(['a', `Bearer ${marker(s)}`]);
    expect(parsed[1]).toEqual(lines[1]);
    expect(parsed[2]).toEqual({ level: 40, msg: `quoted "${marker(s)}" inside`, tab: 'a\tb' });
    expect(findings.map((f) => f.line)).toEqual([1, 1, 3]);
  });

  it('finds a token hidden by a \\u escape, and leaves escaped lines without secrets byte for byte', () => {
    const s = ghp();
    const hidden = `{"msg":"\\u0067${s.slice(1)}"}`; // `g` written as \u0067: invisible to the raw scan
    const clean = '{"msg":"caf\\u00e9 \\/ ok"}';
    const { out, findings } = redactLines(r, Buffer.from(`${hidden}\n${clean}\n`), true);
    const [a, b] = out.toString().split('\n');
    expect(JSON.parse(a!)).toEqual({ msg: marker(s) });
    expect(b).toBe(clean);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.line).toBe(1);
  });

  it('redacts a line that is not JSON as plain text in --json mode, never dropping it', () => {
    const s = ghp();
    const { out } = redactLines(r, Buffer.from(`{"ok":1}\nnot json: ${s}\n{"broken": "${s}"\n`), true);
    expect(out.toString()).toBe(`{"ok":1}\nnot json: ${marker(s)}\n{"broken": "${marker(s)}"\n`);
  });
});

describe('RedactTransform', () => {
  it('gives one line out per line in, in order, however the input is chunked', async () => {
    const secrets = Array.from({ length: 50 }, ghp);
    const lines = Array.from({ length: 2000 }, (_, i) =>
      i % 40 === 0 ? JSON.stringify({ i, msg: `k=${secrets[i / 40]}` }) : i % 7 === 0 ? '' : JSON.stringify({ i }),
    );
    const input = Buffer.from(`${lines.join('\n')}\nlast line without newline ${secrets[0]}`);
    const whole = await run(input, true);
    const pieces: Buffer[] = [];
    for (let i = 0; i < input.length; i += 997) pieces.push(input.subarray(i, i + 997));
    const chunked = await run(pieces, true);
    expect(chunked.text).toBe(whole.text);
    const outLines = whole.text.split('\n');
    expect(outLines).toHaveLength(lines.length + 1);
    for (let i = 0; i < lines.length; i++) {
      if (lines[i] === '') expect(outLines[i]).toBe('');
      else expect(JSON.parse(outLines[i]!).i).toBe(i);
    }
    for (const s of secrets) expect(whole.text).not.toContain(s);
    expect(whole.findings.map((f) => f.line)).toEqual([...Array.from({ length: 50 }, (_, k) => k * 40 + 1), 2001]);
  });

  it('redacts an over-long line in bounded pieces, including a secret across a piece boundary', async () => {
    const max = 8192;
    const secrets = Array.from({ length: 12 }, ghp);
    // Secrets every ~3 KB: with pieces of 8 KiB some straddle the boundaries of the scan pieces.
    const long = secrets.map((s, i) => `${'x '.repeat(1500 + i * 7)}tok ${s} `).join('');
    expect(long.length).toBeGreaterThan(4 * max);
    const input = Buffer.from(`{"a":1}\n${long}\n{"b":"${secrets[0]}"}\n`);
    const pieces: Buffer[] = [];
    for (let i = 0; i < input.length; i += 1000) pieces.push(input.subarray(i, i + 1000));
    const { text, findings } = await run(pieces, true, max);
    for (const s of secrets) expect(text).not.toContain(s);
    const out = text.split('\n');
    expect(out).toHaveLength(4);
    expect(out[1]).toBe(secrets.reduce((acc, s) => acc.replace(s, marker(s)), long));
    expect(JSON.parse(out[2]!)).toEqual({ b: marker(secrets[0]!) });
    expect(findings.filter((f) => f.line === 2)).toHaveLength(12);
    expect(findings.at(-1)!.line).toBe(3);
  });
});
