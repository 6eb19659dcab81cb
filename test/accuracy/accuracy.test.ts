// Accuracy of the whole built-in pack on a generated corpus (corpus.ts): every rule's examples
// planted in realistic files must be found at their line with the exact secret, and the hard
// negatives must produce nothing. Prints one summary line (recall, precision) for the release note.
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../rules/builtin.js';
import { compilePack } from '../../scanner/engine/compile.js';
import { scanBuffer } from '../../scanner/engine/engine.js';
import type { RawMatch } from '../../scanner/engine/types.js';
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

const positives = plantPositives(rules, (ruleIndex, secret) =>
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
  const ownRank = pack.rules[p.ruleIndex]!.rank;
  const hit = found.some(
    (m) =>
      (m.ruleIndex === p.ruleIndex || pack.rules[m.ruleIndex]!.rank > ownRank) &&
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

const planted = positives.length;
const recall = planted ? (planted - misses.length) / planted : 1;
const precision = truePositives + falsePositives ? truePositives / (truePositives + falsePositives) : 1;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
console.log(
  `accuracy: recall ${pct(recall)} (${planted - misses.length}/${planted} planted positives, ${rules.length} rules), ` +
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

describe('accuracy of the built-in pack on a generated corpus', () => {
  it('plants every rule at least once', () => {
    const covered = new Set(positives.map((p) => p.ruleIndex));
    expect(rules.filter((_, i) => !covered.has(i)).map((r) => r.id)).toEqual([]);
  });

  it('finds every planted secret at its line, with the exact secret', () => {
    expect(misses.length, report('misses', misses)).toBe(0);
  });

  it('reports nothing on hard negatives or filler', () => {
    expect(fps.length, report('false positives', fps)).toBe(0);
  });
});
