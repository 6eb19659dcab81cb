// The other half of a paired credential (docs/providers.md, "Parts and pairs"): an AWS key id's secret
// access key, a Twilio token's account SID, a Datadog application key's API key. One mechanism in two
// steps: a rule with a `pair` (rules/schema.ts) has the engine find both halves together, and the
// finding carries them (`Finding.parts`); any part a rule's liveness check declares with a pattern and
// the finding does not carry is taken from another finding of the same scan, in the same file (and
// commit), whose secret matches that pattern, nearest by line. In memory only: the parts go into the
// vault sealed with the secret, never anywhere else.

import type { Finding, Occurrence } from '../model/finding.js';
import { occurrenceTarget, pathOf } from '../model/occurrence.js';
import type { Rule } from '../rules/schema.js';

/** How far apart (in lines) two halves of a pair may be: a config block, not the whole file. */
export const MAX_PAIR_DISTANCE = 20;

/** Where an occurrence is, for pairing: same target, same path, same commit. */
function placeOf(o: Occurrence): string {
  const p = o.provenance;
  return `${occurrenceTarget(o)}\0${pathOf(p)}\0${p.kind === 'git' ? p.commit : ''}`;
}

/**
 * Parts for each finding: those the engine found with it (a `pair` rule's halves), then those its
 * rule's check declares and it lacks, found among `findings` (which carry their secrets in memory).
 * Only declared parts with a pattern can be recognised; the others stay for the caller.
 */
export function pairParts(
  findings: readonly Finding[],
  ruleById: (id: string) => Pick<Rule, 'liveness'> | undefined,
): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  const withSecret = findings.filter((f) => f.secret !== undefined);
  for (const f of withSecret) {
    const parts: Record<string, string> = { ...f.parts };
    const declared = new Map<string, RegExp>();
    for (const check of ruleById(f.ruleId)?.liveness ?? []) {
      for (const [name, spec] of Object.entries(check.parts ?? {})) {
        if (spec.pattern === undefined || declared.has(name) || Object.hasOwn(parts, name)) continue;
        try {
          declared.set(name, new RegExp(`^(?:${spec.pattern})$`));
        } catch {
          // A pattern the runner would refuse too: the check will say the part is missing.
        }
      }
    }
    for (const [name, re] of declared) {
      let best: { value: string; distance: number } | null = null;
      for (const g of withSecret) {
        if (g === f || g.secret === f.secret || !re.test(g.secret as string)) continue;
        for (const a of f.occurrences)
          for (const b of g.occurrences) {
            if (placeOf(a) !== placeOf(b)) continue;
            const distance = Math.abs(a.span.line - b.span.line);
            if (distance <= MAX_PAIR_DISTANCE && (best === null || distance < best.distance))
              best = { value: g.secret as string, distance };
          }
      }
      if (best) parts[name] = best.value;
    }
    if (Object.keys(parts).length > 0) out.set(f.fingerprint, parts);
  }
  return out;
}
