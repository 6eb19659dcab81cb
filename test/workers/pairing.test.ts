import { describe, expect, it } from 'vitest';
import type { Finding } from '../../model/finding.js';
import type { Rule } from '../../rules/schema.js';
import { pairParts } from '../../workers/pairing.js';

// Values built here, never realistic keys: the shapes matter, not the bytes.
const ID = `AKIA${'Q'.repeat(16)}`;
const SECRET = 'x'.repeat(40);
const OTHER = 'y'.repeat(40);

function finding(fp: string, ruleId: string, secret: string, line: number, parts?: Record<string, string>): Finding {
  return {
    fingerprint: `kw1:${fp.repeat(32)}`,
    ruleId,
    description: ruleId,
    confidence: 'high',
    redacted: 'x',
    entropy: 1,
    secret,
    ...(parts ? { parts } : {}),
    state: 'detected',
    occurrences: [{ provenance: { kind: 'file', path: 'a' }, span: { line, column: 1, endLine: line, endColumn: 2 } }],
  };
}

const checks: Record<string, Pick<Rule, 'liveness'>> = {
  pair: { liveness: [{ parts: { accessKeyId: { pattern: 'AKIA[A-Z2-7]{16}' } } }] as never },
  id: { liveness: [{ parts: { secret: { pattern: '[A-Za-z0-9/+]{40}' } } }] as never },
};

describe('pairParts', () => {
  it('keeps the halves the engine found together and looks up only the parts a finding lacks', () => {
    const pair = finding('a', 'pair', SECRET, 2, { accessKeyId: ID, secretAccessKey: SECRET });
    const out = pairParts([pair, finding('b', 'other', OTHER, 2)], (id) => checks[id]);
    expect(out.get(pair.fingerprint)).toEqual({ accessKeyId: ID, secretAccessKey: SECRET });
  });

  it('takes a declared part from the nearest other finding in the same file', () => {
    const id = finding('c', 'id', ID, 1);
    const out = pairParts([id, finding('d', 'other', OTHER, 30), finding('e', 'other', SECRET, 3)], (r) => checks[r]);
    expect(out.get(id.fingerprint)).toEqual({ secret: SECRET });
  });
});
