// Loads the whole built-in pack and checks every rule: it compiles under RE2, each example yields
// exactly its «marked» secret at the marked place, and no negative yields a finding of that rule.
// Positives are generated at test time from templates, so this repository holds no realistic key.
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../rules/builtin.js';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { compilePack } from '../../scanner/engine/compile.js';
import { scanBuffer } from '../../scanner/engine/engine.js';

const rules = await builtinRules();
const pack = compilePack(rules);

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
    it('finds every example at its marked secret', () => {
      rule.examples.forEach((template, n) => {
        // Several seeds: a rule must hold for any generated secret, not one lucky draw.
        for (const seed of [1, 2, 3]) {
          const ex = expandTemplate(template, { checksum: rule.checksum, rng: seededRng(seed * 1000 + n) });
          expect(ex.secret, `example ${n} marks no secret`).toBeDefined();
          const buf = Buffer.from(ex.text);
          const start = Buffer.byteLength(ex.text.slice(0, ex.secretStart));
          const got = scanBuffer(pack, buf).filter((m) => m.ruleIndex === index);
          const hit = got.find((m) => m.start === start && m.secret === ex.secret);
          expect(
            hit,
            `example ${n} (seed ${seed}): ${JSON.stringify(template)}; got ${got.length} matches of this rule`,
          ).toBeDefined();
        }
      });
    });
    it('reports nothing for its negatives', () => {
      rule.negatives.forEach((template, n) => {
        const ex = expandTemplate(template, { checksum: rule.checksum, rng: seededRng(7 + n) });
        const got = scanBuffer(pack, Buffer.from(ex.text)).filter((m) => m.ruleIndex === index);
        expect(got.length, `negative ${n}: ${JSON.stringify(template)}`).toBe(0);
      });
    });
  });
});
