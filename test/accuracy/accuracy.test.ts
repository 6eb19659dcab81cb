// Accuracy of the whole built-in pack on generated corpora: every rule's examples planted in
// realistic files (corpus.ts) must be found at their line with the exact secret, the hard negatives
// must produce nothing, and each class of issue #14 (classes.ts: credential files, command lines and
// DSNs, pairs, confidence levels, contexts and false-positive classes) is measured on its own.
// Prints one summary line per corpus (recall, precision) for the release note.
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../rules/builtin.js';
import { contextOf } from '../../scanner/context.js';
import { compilePack } from '../../scanner/engine/compile.js';
import { scanBuffer, scanPathRules } from '../../scanner/engine/engine.js';
import type { RawMatch } from '../../scanner/engine/types.js';
import { classCorpora } from './classes.js';
import { hardNegatives, plantPositives } from './corpus.js';

const rules = await builtinRules();
const pack = compilePack(rules);

/** Never print a secret, even a generated one: a prefix and the length say enough to debug. */
function redact(s: string): string {
  return `${s.slice(0, 4)}…(${s.length})`;
}

function lineAt(buf: Buffer, offset: number): number {
  let n = 1;
  for (let i = buf.indexOf(10); i !== -1 && i < offset; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/** The text of a line with the given byte range redacted, trimmed for a report. */
function shownLine(buf: Buffer, start: number, end: number): string {
  const ls = buf.lastIndexOf(10, start - 1) + 1;
  const nl = buf.indexOf(10, end);
  const le = nl === -1 ? buf.length : nl;
  const text = `${buf.toString('utf8', ls, start)}«${redact(buf.toString('utf8', start, end))}»${buf.toString('utf8', end, le)}`;
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** True when rule `a`'s match drops rule `b`'s on overlapping text (rank, or `supersedes`). */
function replaces(a: number, b: number): boolean {
  const ra = pack.rules[a]!;
  return ra.rank > pack.rules[b]!.rank || ra.supersedes.includes(b);
}

/** One file as the tree scan sees it: rules judged by path, then the engine. */
function scanFile(path: string, buf: Buffer): RawMatch[] {
  return [...scanPathRules(pack, buf, { path }), ...scanBuffer(pack, buf, { path })];
}

/** Path-gated rules are files, not lines: the class corpora (classes.ts) plant them at their paths. */
const planted = rules.map((r) => (r.paths ? { ...r, examples: [] } : r));
const positives = plantPositives(planted, (ruleIndex, secret) =>
  scanBuffer(pack, Buffer.from(secret)).some((m) => m.ruleIndex === ruleIndex && m.start === 0 && m.secret === secret),
);
const negatives = hardNegatives(rules);

let doubled = 0; // planted secrets reported by more than one rule
const pairs = new Map<string, number>();
let truePositives = 0; // findings on a planted secret (any rule)
let falsePositives = 0; // findings on negatives or on filler
const misses: string[] = [];
const fps: string[] = [];

const scanned = positives.map((p) => {
  const buf = Buffer.from(p.text);
  const found = scanBuffer(pack, buf, { path: p.path });
  return { p, buf, found };
});
for (const { p, buf, found } of scanned) {
  // Found by its own rule, or by a rule that outranks it on the same text (a provider rule over a
  // generic one, a checksum-validated JWT over a bearer header): the engine reports one rule per secret.
  const hit = found.some(
    (m) =>
      (m.ruleIndex === p.ruleIndex || replaces(m.ruleIndex, p.ruleIndex)) &&
      m.secret === p.secret &&
      lineAt(buf, m.start) === p.line,
  );
  if (!hit) {
    const own = found.filter((m) => m.ruleIndex === p.ruleIndex);
    const got = own.length ? ` (rule reported ${own.map((m) => `${redact(m.secret)} @${lineAt(buf, m.start)}`).join(', ')})` : '';
    misses.push(`${rules[p.ruleIndex]!.id} in ${p.context}: line ${p.line}: ${shownLine(buf, p.start, p.end)}${got}`);
  }
  const onSecret = new Set(found.filter((m) => m.start < p.end && p.start < m.end).map((m) => m.ruleIndex));
  if (onSecret.size > 1) {
    doubled++;
    const key = [...onSecret]
      .map((i) => rules[i]!.id)
      .sort()
      .join(' + ');
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }
  for (const m of found) {
    if (m.start < p.end && p.start < m.end) truePositives++;
    else if (m.end <= p.blockStart || m.start >= p.blockEnd) {
      falsePositives++;
      fps.push(fpLine(p.path, p.context, buf, m));
    }
    // Anything else sits in the planted example beside the secret: neither true nor false.
  }
}

function fpLine(path: string, context: string, buf: Buffer, m: RawMatch): string {
  return `${rules[m.ruleIndex]!.id} on ${context} (${path}:${lineAt(buf, m.start)}): ${shownLine(buf, m.start, m.end)}`;
}

for (const n of negatives) {
  const buf = Buffer.from(n.text);
  for (const m of scanBuffer(pack, buf, { path: n.path })) {
    falsePositives++;
    fps.push(fpLine(n.path, n.context, buf, m));
  }
}

const plantedCount = positives.length;
const recall = plantedCount ? (plantedCount - misses.length) / plantedCount : 1;
const precision = truePositives + falsePositives ? truePositives / (truePositives + falsePositives) : 1;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
console.log(
  `accuracy: recall ${pct(recall)} (${plantedCount - misses.length}/${plantedCount} planted positives, ${rules.length} rules), ` +
    `precision ${pct(precision)} (${truePositives} true, ${falsePositives} false findings; ${negatives.length} hard-negative files, ` +
    `${negatives.reduce((n, f) => n + f.text.length, 0)} bytes); ${doubled} planted secrets reported by 2+ rules`,
);

/** A failure message listing at most 300 entries (a long list makes the runner's diff crawl). */
function report(what: string, lines: readonly string[]): string {
  const more = lines.length > 300 ? `\n... and ${lines.length - 300} more` : '';
  return `${lines.length} ${what}:\n${lines.slice(0, 300).join('\n')}${more}\n`;
}

// Rules that report the same planted secret: a hint for cross-rule dedup, not a failure.
const topPairs = [...pairs].sort((a, b) => b[1] - a[1]).slice(0, 12);
console.log(`accuracy: secrets reported by 2+ rules (top): ${topPairs.map(([k, n]) => `${k} ×${n}`).join('; ')}`);

// ---- the classes of issue #14 ----------------------------------------------------------------

interface ClassResult {
  name: string;
  expected: number;
  found: number;
  truePositives: number;
  falsePositives: number;
  problems: string[];
}

const isInfo = (m: RawMatch) => (pack.rules[m.ruleIndex]!.kind ?? 'credential') !== 'credential';

const classResults: ClassResult[] = classCorpora().map((corpus) => {
  const r: ClassResult = { name: corpus.name, expected: 0, found: 0, truePositives: 0, falsePositives: 0, problems: [] };
  for (const f of corpus.files) {
    const buf = Buffer.from(f.text);
    const matches = scanFile(f.path, buf);
    const claimed = new Set<RawMatch>();
    for (const e of f.expected) {
      r.expected++;
      const byPath = e.secret === '(by path)';
      const m = matches.find((x) => (byPath ? x.start === 0 && x.secret.startsWith('sha256:') : x.secret === e.secret));
      if (!m) {
        r.problems.push(`missed in ${f.path} (${f.what}): ${redact(e.secret)}`);
        continue;
      }
      claimed.add(m);
      const wrong: string[] = [];
      if (!byPath && isInfo(m) !== (e.info === true))
        wrong.push(`confidence ${isInfo(m) ? 'info' : 'credential'}, expected ${e.info ? 'info' : 'credential'}`);
      if (e.parts && JSON.stringify(m.parts) !== JSON.stringify(e.parts)) wrong.push('parts differ from the pair');
      if (e.context && contextOf(f.path) !== e.context) wrong.push(`context ${contextOf(f.path)}, expected ${e.context}`);
      if (wrong.length > 0) r.problems.push(`${pack.rules[m.ruleIndex]!.rule.id} in ${f.path}: ${wrong.join('; ')}`);
      else r.found++;
    }
    for (const m of matches) {
      if (claimed.has(m)) {
        r.truePositives++;
        continue;
      }
      // Another match on an expected secret (a second rule on the same text) is a duplicate, not new.
      if (f.expected.some((e) => e.secret === m.secret)) continue;
      r.falsePositives++;
      r.problems.push(`false positive in ${f.path} (${f.what}): ${fpLine(f.path, f.what, buf, m)}`);
    }
  }
  const recallText = r.expected ? pct(r.found / r.expected) : 'n/a';
  const precisionText = r.truePositives + r.falsePositives ? pct(r.truePositives / (r.truePositives + r.falsePositives)) : 'n/a';
  console.log(
    `accuracy: ${r.name}: recall ${recallText} (${r.found}/${r.expected}), precision ${precisionText} ` +
      `(${r.truePositives} true, ${r.falsePositives} false; ${corpus.files.length} files, ${corpus.files.filter((x) => x.expected.length === 0).length} negative)`,
  );
  return r;
});

describe('accuracy of the built-in pack on a generated corpus', () => {
  it('plants every line rule at least once (path-gated rules live in the class corpora)', () => {
    const covered = new Set(positives.map((p) => p.ruleIndex));
    expect(rules.filter((r, i) => !r.paths && !covered.has(i)).map((r) => r.id)).toEqual([]);
  });

  it.each(classResults.map((c) => [c.name, c] as const))('class %s: full recall and precision', (_name, c) => {
    expect(c.problems, report('problems', c.problems)).toEqual([]);
  });

  it('finds every planted secret at its line, with the exact secret', () => {
    expect(misses.length, report('misses', misses)).toBe(0);
  });

  it('reports nothing on hard negatives or filler', () => {
    expect(fps.length, report('false positives', fps)).toBe(0);
  });
});
