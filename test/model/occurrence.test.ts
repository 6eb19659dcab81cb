import { describe, expect, it } from 'vitest';
import { Occurrence } from '../../model/finding.js';
import { occurrenceKey, occurrenceTarget, pathOf } from '../../model/occurrence.js';

const span = { line: 7, column: 3, endLine: 7, endColumn: 43 };
const commit = 'a'.repeat(40);
const git = { author: 'Ada', email: 'ada@example.com', date: '2024-01-01T00:00:00Z', message: 'm' };

/** Per kind: the occurrence, then its key, its store target and the path a report shows. */
const CASES: Record<string, [Occurrence, string, string, string]> = {
  'a tree file': [
    { provenance: { kind: 'file', path: 'src/app.env' }, span },
    'file|src/app.env|7|3',
    'src/app.env',
    'src/app.env',
  ],
  stdin: [{ provenance: { kind: 'stdin' }, span }, 'stdin|7|3', '-', '-'],
  'a blob in a named repository': [
    { provenance: { kind: 'git', repo: 'https://github.com/acme/api', commit, path: 'a.env', ...git }, span },
    `git|https://github.com/acme/api|${commit}|a.env|7|3`,
    'https://github.com/acme/api',
    'a.env',
  ],
  'a blob of the repository at hand (CLI)': [
    { provenance: { kind: 'git', commit, path: 'a.env', ...git }, span },
    `git||${commit}|a.env|7|3`,
    '-',
    'a.env',
  ],
  'a dump': [
    { provenance: { kind: 'dump', path: '/var/crash/core.1', offset: 5001 }, span },
    'dump|/var/crash/core.1|5001',
    '/var/crash/core.1',
    '/var/crash/core.1',
  ],
  'a dump without a name': [{ provenance: { kind: 'dump', offset: 9 }, span }, 'dump||9', '-', '-'],
  'a log line at a known stream position': [
    { provenance: { kind: 'log', stream: 'api', time: '2024-01-01T00:00:00Z' }, span },
    'log|api|@|7|3',
    'api',
    'api',
  ],
  'a log line in one run of redact --record': [
    { provenance: { kind: 'log', stream: 'api', run: 'r1' }, span },
    'log|api|@r1|7|3',
    'api',
    'api',
  ],
  'a log line of a batch placed by its digest': [
    { provenance: { kind: 'log', stream: 'web/nginx', batch: 'f'.repeat(24) }, span },
    `log|web/nginx|#${'f'.repeat(24)}|7|3`,
    'web/nginx',
    'web/nginx',
  ],
  'free text holding the separator': [
    { provenance: { kind: 'file', path: 'a|b%c' }, span },
    'file|a%7Cb%25c|7|3',
    'a|b%c',
    'a|b%c',
  ],
};

describe('occurrence keys, targets and paths', () => {
  for (const [name, [occ, key, target, path]] of Object.entries(CASES)) {
    it(`keys, indexes and shows ${name}`, () => {
      expect(Occurrence.parse(occ)).toEqual(occ);
      expect(occurrenceKey(occ)).toBe(key);
      expect(occurrenceTarget(occ)).toBe(target);
      expect(pathOf(occ.provenance)).toBe(path);
    });
  }

  it('gives two places two keys and one place one key, whatever else the provenance says', () => {
    const keys = Object.values(CASES).map(([o]) => occurrenceKey(o));
    expect(new Set(keys).size).toBe(keys.length);
    const [o] = CASES['a log line at a known stream position']!;
    const later = { ...o, provenance: { ...o.provenance, time: '2025-01-01T00:00:00Z' } };
    expect(occurrenceKey(later)).toBe(occurrenceKey(o));
  });
});
