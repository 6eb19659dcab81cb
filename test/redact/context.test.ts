// Context redaction in logs (issue #14): secrets only their context identifies are redacted, in text
// and in NDJSON, everywhere they recur in a record and later in the stream; ordinary identifiers stay.
// Measures leak and over-redaction rates on a generated corpus (log-corpus.ts) and prints them.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinRules } from '../../rules/builtin.js';
import type { Rule } from '../../rules/schema.js';
import { classifyName, findContextSpans } from '../../scanner/redact-context.js';
import { recentSecretsOf, redactLines } from '../../scanner/redact-lines.js';
import { RECENT_SECRETS_MAX, RecentSecrets } from '../../scanner/redact-recent.js';
import { createRedactor, type Redactor } from '../../scanner/redact-spans.js';
import { RedactTransform } from '../../scanner/redact-stream.js';
import { contextSecretLines, LogGen, ordinaryLines } from './log-corpus.js';

const KEY = Buffer.from('test-fingerprint-key-0123456789');
let rules: Rule[];
const redactor = (stream = 'test'): Redactor => createRedactor({ rules, fingerprintKey: KEY, stream });
beforeAll(async () => {
  rules = await builtinRules();
});

/** Never print a secret, even a generated one. */
const hide = (s: string) => `${s.slice(0, 2)}…(${s.length})`;

function redactOne(r: Redactor, line: string): string {
  return redactLines(r, Buffer.from(`${line}\n`), true)
    .out.toString('utf8')
    .slice(0, -1);
}

describe('context corpus: leaks and over-redaction', () => {
  it('redacts every context-only secret of every class and keeps names, schemes and identifiers', () => {
    const secretLines = contextSecretLines(14, 9);
    const ordinary = ordinaryLines(15, 12);
    const r = redactor();
    let secrets = 0;
    let leaked = 0;
    const leaks: string[] = [];
    const lost: string[] = [];
    const byClass = new Map<string, { n: number; leaked: number }>();
    for (const s of secretLines) {
      const out = redactOne(r, s.line);
      const c = byClass.get(s.cls) ?? { n: 0, leaked: 0 };
      for (const secret of s.secrets) {
        secrets++;
        c.n++;
        if (out.includes(secret)) {
          leaked++;
          c.leaked++;
          leaks.push(`${s.cls}: ${hide(secret)} in ${out.replaceAll(secret, '«SECRET»').slice(0, 160)}`);
        }
      }
      byClass.set(s.cls, c);
      for (const k of s.keep) if (!out.includes(k)) lost.push(`${s.cls}: lost ${JSON.stringify(k)} in ${out.slice(0, 160)}`);
      if (s.line.startsWith('{')) expect(() => JSON.parse(out), out).not.toThrow();
    }
    let ids = 0;
    let overRedacted = 0;
    const over: string[] = [];
    let changedLines = 0;
    // A fresh stream for ordinary lines, then the same lines interleaved with the secret lines.
    for (const [stream, lines] of [
      ['ordinary', ordinary],
      ['mixed', ordinary.flatMap((o, i) => [o, secretLines[i % secretLines.length]!])],
    ] as const) {
      const rr = redactor(stream);
      for (const o of lines) {
        const out = redactOne(rr, o.line);
        if (!('ids' in o)) continue;
        if (out !== o.line) changedLines++;
        for (const id of o.ids) {
          ids++;
          if (!out.includes(id)) {
            overRedacted++;
            over.push(`${o.cls}: ${id} in ${out.slice(0, 160)}`);
          }
        }
      }
    }
    const classes = [...byClass].map(([k, v]) => `${k} ${v.n - v.leaked}/${v.n}`).join(', ');
    process.stdout.write(
      `context redaction: ${secrets} context-only secrets in ${secretLines.length} lines (${byClass.size} classes), ` +
        `leaked ${leaked} (${((100 * leaked) / secrets).toFixed(1)}%); ${ids} identifiers in ${ordinary.length * 2} ordinary lines, ` +
        `over-redacted ${overRedacted} (${((100 * overRedacted) / ids).toFixed(1)}%), ${changedLines} ordinary lines changed\n  ${classes}\n`,
    );
    expect(secrets).toBeGreaterThanOrEqual(150);
    expect(leaks).toEqual([]);
    expect(lost).toEqual([]);
    expect(over).toEqual([]);
  });
});

describe('context rules', () => {
  it.each([
    ['password', 'secret'],
    ['DB_PASSWORD', 'secret'],
    ['client_secret', 'secret'],
    ['refreshToken', 'secret'],
    ['X-Api-Key', 'secret'],
    ['AWS_SECRET_ACCESS_KEY', 'secret'],
    ['secret_key_base', 'secret'],
    ['Proxy-Authorization', 'auth'],
    ['Set-Cookie', 'cookie'],
    ['X-Hub-Signature-256', 'secret'],
    ['key', 'url-only'],
    ['sig', 'secret'],
    ['token_type', null],
    ['secret_name', null],
    ['max_tokens', null],
    ['next_page_token', null],
    ['bypass', null],
    ['author', null],
    ['oauth', null],
    ['public_key', null],
    ['api_key_id', null],
  ])('%s is %s', (name, cls) => {
    expect(classifyName(name)).toBe(cls);
  });

  it('keeps `"token": null`, `"password": ""`, short values and placeholders readable', () => {
    const r = redactor();
    for (const line of [
      '{"token":null,"password":"","secret":"ab","api_key":"[hidden]","client_secret":"***","access_token":"${TOKEN}"}',
      'password=<password> token: null api_key=**** secret=true',
      'https://user:<password>@host/x and https://host:8080/health?key=&token=',
    ]) {
      expect(redactOne(r, line)).toBe(line);
    }
  });

  it('reads cookie lists as cookie lists: an unnamed value, joined Set-Cookie headers, and where the list ends', () => {
    const r = redactor();
    const g = new LogGen(4);
    const [a, b, c] = [g.token(14, 14), g.token(8, 8), g.token(8, 8)];
    expect(redactOne(r, `Cookie: ${a}`)).toMatch(/^Cookie: \[REDACTED:ctx-cookie:kw1:[0-9a-f]{6}\]$/);
    const set = redactOne(r, `Set-Cookie: a=${b}; Path=/, bb=${c}; HttpOnly status=200`);
    expect(set).not.toContain(b);
    expect(set).not.toContain(c);
    expect(set).toContain('; Path=/, bb=[REDACTED:');
    expect(set).toContain('; HttpOnly status=200');
    expect(redactOne(r, '{"cookies":"enabled"}')).toBe('{"cookies":"enabled"}');
  });

  it('redacts a bare `key` only as a URL query parameter', () => {
    const r = redactor();
    const k = new LogGen(3).token(20, 20);
    expect(redactOne(r, `GET https://maps.example.com/api?key=${k}`)).not.toContain(k);
    const json = JSON.stringify({ key: 'uploads/2026/a.png', cache: { key: 'user:42' } });
    expect(redactOne(r, json)).toBe(json);
  });

  it('keeps every JSON line valid JSON with the same structure', () => {
    const r = redactor();
    for (const s of contextSecretLines(21, 2).filter((s) => s.line.startsWith('{'))) {
      const out = redactOne(r, s.line);
      const a = JSON.parse(s.line);
      const b = JSON.parse(out);
      const shape = (v: unknown): unknown =>
        Array.isArray(v)
          ? v.map(shape)
          : v !== null && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]))
            : typeof v;
      expect(shape(b)).toEqual(shape(a));
    }
  });

  it('finds spans without any rule pack (the context parser is independent of rules)', () => {
    const t = 'abc123xyz';
    const buf = Buffer.from(`Authorization: Bearer ${t}\n`);
    const spans = findContextSpans(buf);
    expect(spans.map((s) => buf.toString('utf8', s.start, s.end))).toContain(t);
  });
});

describe('every occurrence, in the record and later in the stream', () => {
  it('redacts a secret everywhere in its record once context names it', () => {
    const r = redactor();
    const t = new LogGen(5).token(12, 12);
    const out = redactOne(r, JSON.stringify({ headers: { 'x-api-key': t }, msg: `retrying with key ${t}`, retry: { last: t } }));
    expect(out).not.toContain(t);
    expect(JSON.parse(out).msg).toMatch(/^retrying with key \[REDACTED:ctx-field:kw1:[0-9a-f]{6}\]$/);
  });

  it('redacts later occurrences in the stream, across batches, with the first marker and no context at all', async () => {
    const r = redactor();
    const t = new LogGen(6).token(16, 16);
    const first = `Authorization: Bearer ${t}\n`;
    const filler = Array.from({ length: 2000 }, (_, i) => `line ${i} ok\n`).join('');
    const later = `worker 3 retried with ${t} and failed\n`;
    const out: Buffer[] = [];
    const tr = new RedactTransform(r, { json: false });
    tr.on('data', (b: Buffer) => out.push(b));
    await pipeline(Readable.from([Buffer.from(first), Buffer.from(filler), Buffer.from(later)]), tr);
    const text = Buffer.concat(out).toString('utf8');
    expect(text).not.toContain(t);
    const markers = text.match(/\[REDACTED:ctx-header:kw1:[0-9a-f]{6}\]/g);
    expect(markers).toHaveLength(2);
    expect(markers![0]).toBe(markers![1]);
    expect(text.split('\n')).toHaveLength(2003);
  });

  it('does not carry one stream’s secrets into another stream', () => {
    const t = new LogGen(7).token(16, 16);
    redactOne(redactor('a'), `Authorization: Bearer ${t}`);
    expect(redactOne(redactor('b'), `saw ${t}`)).toBe(`saw ${t}`);
  });

  it('remembers HMACs, never a secret, and stays bounded', () => {
    const g = new LogGen(8);
    const r = redactor();
    const secrets = Array.from({ length: RECENT_SECRETS_MAX + 50 }, () => g.token(20, 20));
    redactLines(r, Buffer.from(secrets.map((s) => `password=${s}`).join('\n')), false);
    const cache = recentSecretsOf(r);
    expect(cache.size).toBe(RECENT_SECRETS_MAX);
    const dump = inspect(cache, { depth: 10, maxArrayLength: 100_000, maxStringLength: 1_000_000 });
    for (const s of secrets) expect(dump).not.toContain(s);
    for (const s of secrets) expect(dump).not.toContain(Buffer.from(s).toString('hex'));
    // The oldest were evicted: seen again without context, they are no longer known.
    expect(redactOne(r, `saw ${secrets[0]}`)).toContain(secrets[0]!);
    expect(redactOne(r, `saw ${secrets.at(-1)}`)).not.toContain(secrets.at(-1)!);
  });

  it('matches a remembered secret only whole, by HMAC', () => {
    const c = new RecentSecrets(4);
    const s = Buffer.from('zz9-Plural-Z-Alpha');
    c.add(s, 0, s.length, 'M');
    const hits: string[] = [];
    const line = Buffer.from('a zz9-Plural-Z-Alpha b zz9-Plural-Z-Alphx c Plural');
    c.scan(line, 0, line.length, (h) => hits.push(line.toString('utf8', h.start, h.end)));
    expect(hits).toEqual(['zz9-Plural-Z-Alpha']);
  });
});

describe('context in over-long lines', () => {
  it('redacts a header value in a line redacted in pieces, across a piece boundary too', async () => {
    const r = redactor();
    const g = new LogGen(9);
    const secrets = Array.from({ length: 40 }, () => g.token(12, 24));
    const line = `${secrets.map((s, i) => `${'x'.repeat(200 + i * 37)} X-Api-Key: ${s} `).join('')}\n`;
    const out: Buffer[] = [];
    const tr = new RedactTransform(r, { json: false, maxLineLength: 1024 });
    tr.on('data', (b: Buffer) => out.push(b));
    await pipeline(Readable.from([Buffer.from(line)]), tr);
    const text = Buffer.concat(out).toString('utf8');
    for (const s of secrets) expect(text).not.toContain(s);
    expect(text.match(/X-Api-Key: \[REDACTED:/g)).toHaveLength(40);
  });
});

describe('who remembers', () => {
  it('a redactor not made to remember (callback notes) answers no guesses across calls, yet redacts repeats in one text', () => {
    const base = redactor();
    const r: Redactor = { pack: base.pack, key: base.key, stream: 'callback-note', markers: new Map() };
    const t = new LogGen(10).token(16, 16);
    const once = redactLines(r, Buffer.from(`rotated, new password: ${t}; retry with ${t}\n`), false).out.toString();
    expect(once).not.toContain(t);
    expect(redactLines(r, Buffer.from(`guess ${t}\n`), false).out.toString()).toBe(`guess ${t}\n`);
  });
});
