// Loads the whole built-in pack and checks every rule: it compiles under RE2, each example yields
// exactly its «marked» secret at the marked place, and no negative yields a finding of that rule.
// Positives are generated at test time from templates, so this repository holds no realistic key.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../rules/builtin.js';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { compilePack } from '../../scanner/engine/compile.js';
import { scanBuffer, scanPathRules } from '../../scanner/engine/engine.js';
import type { RawMatch } from '../../scanner/engine/types.js';

const rules = await builtinRules();
const pack = compilePack(rules);

/** What a scan of one file finds: the engine's matches plus the rules that judge a file by its path. */
function scanAt(buf: Buffer, path: string | undefined): RawMatch[] {
  return path === undefined ? scanBuffer(pack, buf) : [...scanPathRules(pack, buf, { path }), ...scanBuffer(pack, buf, { path })];
}

/** True when rule `a`'s match on some text drops rule `b`'s match on overlapping text. */
function replaces(a: number, b: number): boolean {
  const ra = pack.rules[a]!;
  return ra.rank > pack.rules[b]!.rank || ra.supersedes.includes(b);
}

/** A path no rule's `paths` selects: a gated rule must find nothing there. */
const UNGATED_PATH = 'src/notes/unrelated.txt';

describe('built-in rule pack', () => {
  it('holds at least 150 rules with unique ids', () => {
    expect(rules.length).toBeGreaterThanOrEqual(150);
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
  });

  it('gives every rule a reference to the provider documentation or a format spec', () => {
    const missing = rules.filter((r) => r.category !== 'generic' && r.references.length === 0).map((r) => r.id);
    expect(missing).toEqual([]);
  });

  describe.each(rules.map((r, i) => [r.id, i] as const))('%s', (_id, index) => {
    const rule = rules[index]!;
    // A path-gated rule's examples are files at its example paths; other rules' are text anywhere.
    const paths: Array<string | undefined> = rule.examplePaths ?? [undefined];
    const byPath = rule.format?.parser === 'path';
    it('finds every example at its marked secret', () => {
      rule.examples.forEach((template, n) => {
        // Several seeds: a rule must hold for any generated secret, not one lucky draw.
        for (const seed of [1, 2, 3]) {
          const ex = expandTemplate(template, { checksum: rule.checksum, rng: seededRng(seed * 1000 + n) });
          const buf = Buffer.from(ex.text);
          // A file that is a credential by its path is reported without content: offset 0, a digest.
          const secret = byPath ? `sha256:${createHash('sha256').update(buf).digest('hex')}` : ex.secret;
          if (!byPath) expect(ex.secret, `example ${n} marks no secret`).toBeDefined();
          const start = byPath ? 0 : Buffer.byteLength(ex.text.slice(0, ex.secretStart));
          for (const path of paths) {
            const all = scanAt(buf, path);
            const got = all.filter((m) => m.ruleIndex === index);
            // Its own match, or the one report of a rule that replaces it on this text (a provider rule
            // outranks a generic one, a rule may supersede another): one secret, one report.
            const hit = all.find(
              (m) => m.start === start && m.secret === secret && (m.ruleIndex === index || replaces(m.ruleIndex, index)),
            );
            expect(
              hit,
              `example ${n} (seed ${seed}) at ${path ?? '(no path)'}: ${JSON.stringify(template)}; got ${got.length} matches of this rule`,
            ).toBeDefined();
          }
          if (rule.paths) {
            const elsewhere = scanAt(buf, UNGATED_PATH).filter((m) => m.ruleIndex === index);
            expect(elsewhere.length, `example ${n} matched at ${UNGATED_PATH}, outside the rule's paths`).toBe(0);
          }
        }
      });
    });
    it('reports nothing for its negatives', () => {
      rule.negatives.forEach((template, n) => {
        const ex = expandTemplate(template, { checksum: rule.checksum, rng: seededRng(7 + n) });
        for (const path of paths) {
          const got = scanAt(Buffer.from(ex.text), path).filter((m) => m.ruleIndex === index);
          expect(got.length, `negative ${n} at ${path ?? '(no path)'}: ${JSON.stringify(template)}`).toBe(0);
        }
      });
    });
    if (rule.pair) {
      it('carries both halves of the pair on its match', () => {
        const ex = expandTemplate(rule.examples[0]!, { checksum: rule.checksum, rng: seededRng(42) });
        const [m] = scanAt(Buffer.from(ex.text), paths[0]).filter((x) => x.ruleIndex === index);
        const [anchorName, secretName] = rule.pair!.parts;
        expect(m?.parts?.[secretName]).toBe(ex.secret);
        expect(m?.parts?.[anchorName]).toMatch(new RegExp(rule.pattern.replace(/^\(\?i\)/, ''), 'i'));
      });
    }
  });
});
