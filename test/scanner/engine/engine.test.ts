// The engine on hand-built rules: windows, boundaries, multi-line secrets, decoding, inline allow.
import { describe, expect, it } from 'vitest';
import { type Rule, RuleSpec } from '../../../rules/schema.js';
import { buildAutomaton, findKeywords, HitList } from '../../../scanner/engine/aho.js';
import { compilePack } from '../../../scanner/engine/compile.js';
import { scanBuffer } from '../../../scanner/engine/engine.js';
import { seededRandom } from '../../helpers/seed.js';

const random = seededRandom();

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function rand(n: number, alphabet = B62): string {
  const bytes = random.bytes(n);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

function rule(partial: Partial<Rule> & Pick<Rule, 'id' | 'pattern' | 'keywords'>): Rule {
  return RuleSpec.parse({ description: partial.id, provider: 'test', category: 'saas', examples: ['x'], ...partial });
}

const token = rule({ id: 'demo-token', pattern: 'dmo_[A-Za-z0-9]{32}', keywords: ['dmo_'] });
const assigned = rule({
  id: 'demo-assigned',
  pattern: '(?i)zzsecret\\s*=\\s*"([^"]{8,64})"',
  keywords: ['zzsecret'],
  secretGroup: 1,
  entropy: 2.5,
});
const pem = rule({
  id: 'demo-pem',
  pattern: '-----BEGIN DEMO KEY-----[A-Za-z0-9+/=\\s]+?-----END DEMO KEY-----',
  keywords: ['-----BEGIN DEMO'],
  boundary: 'none',
  window: { before: 0, after: 16384, multiline: true },
});
const pack = compilePack([token, assigned, pem]);

describe('Aho–Corasick keyword prefilter', () => {
  it('records only the hits a keyword gate passes, and every hit of an ungated keyword', () => {
    const ac = buildAutomaton(['ab', 'cd']);
    const hits = new HitList();
    const seen: Array<[number, number]> = [];
    const gate = (buf: Uint8Array, start: number, end: number): boolean => {
      seen.push([start, end]);
      return buf[end] === 0x21; // `!` right after the keyword
    };
    findKeywords(ac, Buffer.from('ab ab! cd cd!'), hits, 0, 13, [gate, null]);
    const got = Array.from({ length: hits.length }, (_, i) => [hits.ids[i], hits.ends[i]]);
    expect(got).toEqual([
      [0, 5],
      [1, 9],
      [1, 12],
    ]);
    expect(seen).toEqual([
      [0, 2],
      [3, 5],
    ]);
  });

  it('finds overlapping keywords case-insensitively with their end offsets', () => {
    const ac = buildAutomaton(['abc', 'bcd', 'c']);
    const hits = new HitList();
    findKeywords(ac, Buffer.from('xABCD'), hits);
    const got = Array.from({ length: hits.length }, (_, i) => [hits.ids[i], hits.ends[i]]);
    expect(got).toEqual(
      expect.arrayContaining([
        [0, 4],
        [2, 4],
        [1, 5],
      ]),
    );
    expect(got).toHaveLength(3);
  });
});

describe('scanBuffer', () => {
  it('reports a token at its byte offsets, after multi-byte text', () => {
    const t = `dmo_${rand(32)}`;
    const text = `// héllo wörld\nconst k = "${t}";\n`;
    const [m, ...rest] = scanBuffer(pack, Buffer.from(text));
    expect(rest).toEqual([]);
    expect(m?.secret).toBe(t);
    expect(m?.start).toBe(Buffer.byteLength(text.slice(0, text.indexOf(t))));
  });

  it('opens a path gate on the path as UTF-8 (non-ASCII directories, case-insensitive gates)', () => {
    const gated = rule({
      id: 'demo-gated',
      pattern: 'pw=([a-z0-9]{12})',
      keywords: [],
      paths: ['(?i)(?:^|/)démo\\.conf$'],
      secretGroup: 1,
      entropy: 0,
    });
    const gatedPack = compilePack([gated]);
    const text = Buffer.from(`pw=${rand(12, 'abcdefghij0123456789')}\n`);
    expect(scanBuffer(gatedPack, text, { path: 'ünï/DÉMO.conf' })).toHaveLength(1);
    expect(scanBuffer(gatedPack, text, { path: 'ünï/démo.conf.txt' })).toEqual([]);
    expect(scanBuffer(gatedPack, text, { path: 'ünïdémo.conf' })).toEqual([]);
  });

  it('rejects a token glued to word characters (boundary checked after the match)', () => {
    expect(scanBuffer(pack, Buffer.from(`xdmo_${rand(32)}`))).toEqual([]);
    expect(scanBuffer(pack, Buffer.from(`dmo_${rand(33)}`))).toEqual([]);
  });

  it('takes the declared capture group as the secret and applies the entropy floor', () => {
    const s = rand(20);
    const got = scanBuffer(pack, Buffer.from(`ZZSECRET = "${s}"\nzzsecret="aaaaaaaaaa"`));
    expect(got.map((m) => m.secret)).toEqual([s]);
  });

  it('finds a multi-line PEM-style block', () => {
    const body = Array.from({ length: 5 }, () => rand(64, `${B62}+/`)).join('\n');
    const text = `key: |\n-----BEGIN DEMO KEY-----\n${body}\n-----END DEMO KEY-----\n`;
    const got = scanBuffer(pack, Buffer.from(text));
    expect(got).toHaveLength(1);
    expect(got[0]?.secret.startsWith('-----BEGIN DEMO KEY-----')).toBe(true);
  });

  it('honours keywarden:allow on the line', () => {
    expect(scanBuffer(pack, Buffer.from(`k = "dmo_${rand(32)}" # keywarden:allow`))).toEqual([]);
  });

  it('finds a token inside base64 and points at the encoded text', () => {
    const t = `dmo_${rand(32)}`;
    const encoded = Buffer.from(`export DEMO=${t}\n`).toString('base64');
    const text = `data:\n  env: ${encoded}\n`;
    const got = scanBuffer(pack, Buffer.from(text));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      secret: t,
      encoding: 'base64',
      start: text.indexOf(encoded),
      end: text.indexOf(encoded) + encoded.length,
    });
  });

  it('finds a token inside percent-encoded text', () => {
    const t = `dmo_${rand(32)}`;
    const text = `GET /cb?cfg=${encodeURIComponent(`{"k":"${t}"}`)} HTTP/1.1`;
    const got = scanBuffer(pack, Buffer.from(text));
    expect(got.map((m) => [m.secret, m.encoding])).toEqual([[t, 'percent']]);
  });

  it('finds every occurrence across a large buffer with many keyword hits', () => {
    const parts: string[] = [];
    const planted: string[] = [];
    for (let i = 0; i < 2000; i++) {
      parts.push(`line ${i} dmo_ short zzsecret\n`);
      if (i % 100 === 0) {
        const t = `dmo_${rand(32)}`;
        planted.push(t);
        parts.push(`token: ${t}\n`);
      }
    }
    const got = scanBuffer(pack, Buffer.from(parts.join('')));
    expect(got.map((m) => m.secret)).toEqual(planted);
  });
});

describe('Aho–Corasick construction', () => {
  it('builds quickly for long alphabetic keywords (each state queued once)', () => {
    const ac = buildAutomaton(['abcdefghijklmnopqrstuvwxyzabcdefghijklmn', 'hooks.slack.com/services']);
    const hits = new HitList();
    findKeywords(ac, Buffer.from('x ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMN y'), hits);
    expect(hits.length).toBe(1);
  });
});

describe('scanBuffer: cross-rule and template handling', () => {
  const generic = rule({
    id: 'demo-generic',
    category: 'generic',
    pattern: '(?i)zztoken\\s*=\\s*"([^"]{8,64})"',
    keywords: ['zztoken'],
    secretGroup: 1,
  });
  const both = compilePack([token, generic]);

  it('reports a provider token assigned to a suggestive name once, under the provider rule', () => {
    const t = `dmo_${rand(32)}`;
    const got = scanBuffer(both, Buffer.from(`zztoken = "${t}"`));
    expect(got.map((m) => both.rules[m.ruleIndex]!.rule.id)).toEqual(['demo-token']);
  });

  it('reports a secret once, under the rule that supersedes the other, even when that rule ranks lower', () => {
    const provider = rule({ id: 'demo-legacy', pattern: 'zzauth=([0-9a-f]{32})', keywords: ['zzauth'], secretGroup: 1 });
    const file = rule({
      id: 'demo-file',
      category: 'credential-file',
      pattern: 'zzauth=([0-9a-f]{32})',
      keywords: ['zzauth'],
      secretGroup: 1,
      supersedes: ['demo-legacy'],
    });
    const pack = compilePack([provider, file]);
    const got = scanBuffer(pack, Buffer.from(`zzauth=${random.bytes(16).toString('hex')}`));
    expect(got.map((m) => pack.rules[m.ruleIndex]!.rule.id)).toEqual(['demo-file']);
  });

  it('never reports rule-example templates as secrets', () => {
    expect(scanBuffer(both, Buffer.from('zztoken = "«{base62:30}»"\nzztoken = "abc{hex:32}def"'))).toEqual([]);
  });
});

describe('relaxRepetitions', () => {
  it('widens only wide counted repetitions, leaving escaped braces and narrow bounds', async () => {
    const { relaxRepetitions } = await import('../../../scanner/engine/compile.js');
    expect(relaxRepetitions('a{2,200}\\{1,500}b{1,3}[x]{16,256}')).toBe('a{2,}\\{1,500}b{1,3}[x]{16,}');
  });

  it('keeps a wide bound in force through the window and the boundary check', () => {
    const wide = rule({
      id: 'demo-wide',
      pattern: 'wde_[A-Za-z0-9]{100,300}',
      keywords: ['wde_'],
      window: { before: 0, after: 304, multiline: false },
    });
    const widePack = compilePack([wide]);
    const ok = `wde_${rand(250)}`;
    expect(scanBuffer(widePack, Buffer.from(`k = "${ok}"\n`)).map((m) => m.secret)).toEqual([ok]);
    // Longer than the format allows: cut off by the window, then rejected by the word boundary.
    expect(scanBuffer(widePack, Buffer.from(`k = "wde_${rand(400)}"\n`))).toEqual([]);
    expect(scanBuffer(widePack, Buffer.from(`k = "wde_${rand(99)}"\n`))).toEqual([]);
  });
});
