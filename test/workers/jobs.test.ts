import { describe, expect, it } from 'vitest';
import { isKeywardenError } from '../../errors/error.js';
import { canonicalJson, JOB_KINDS, jobIdFor, parseJob } from '../../workers/jobs.js';

describe('job schemas', () => {
  const valid: Record<string, [string, unknown]> = {
    'a full history scan': ['scan-history', { repo: '/srv/repo' }],
    'an incremental scan of one branch': [
      'scan-history',
      { repo: 'https://example.com/r.git', branch: 'main', incremental: true },
    ],
    'a PR range': ['scan-diff', { repo: '.', base: 'origin/main', head: 'HEAD' }],
    'a dump': ['scan-dump', { path: '/var/crash/core.1' }],
    'a log batch': ['scan-log-batch', { stream: 'api', lines: ['a', 'b'], time: '2026-01-01T00:00:00Z', firstLine: 10 }],
    'a rotation': ['rotate', { fingerprint: `kw1:${'a'.repeat(32)}` }],
    'a revocation check': ['confirm-revocation', { fingerprint: `kw1:${'0'.repeat(32)}` }],
  };
  for (const [name, [kind, data]] of Object.entries(valid)) {
    it(`accepts ${name}`, () => expect(parseJob(kind, data).kind).toBe(kind));
  }

  const invalid: Record<string, [string, unknown, RegExp]> = {
    'a history scan without a repo': ['scan-history', {}, /scan-history > repo/],
    'an unknown field': ['scan-dump', { path: '/x', extra: 1 }, /extra|Unrecognized/i],
    'an empty log batch': ['scan-log-batch', { stream: 's', lines: [] }, /lines/],
    'a malformed fingerprint': ['rotate', { fingerprint: 'nope' }, /fingerprint/],
    'an unknown kind': ['scan-everything', {}, /unknown job kind/],
    'data that is not an object': ['scan-diff', 'x', /scan-diff/],
  };
  for (const [name, [kind, data, re]] of Object.entries(invalid)) {
    it(`rejects ${name} with KW_JOB_INVALID naming the field`, () => {
      let caught: unknown;
      try {
        parseJob(kind, data);
      } catch (err) {
        caught = err;
      }
      expect(isKeywardenError(caught, 'KW_JOB_INVALID')).toBe(true);
      expect((caught as Error).message).toMatch(re);
    });
  }

  it('defines every kind the issue names', () => {
    expect(JOB_KINDS.sort()).toEqual([
      'confirm-revocation',
      'rotate',
      'scan-diff',
      'scan-dump',
      'scan-history',
      'scan-log-batch',
    ]);
  });
});

describe('jobIdFor', () => {
  it('is the same for the same data whatever the key order, and has no colon', () => {
    const a = jobIdFor('scan-history', { repo: 'r', branch: 'main' });
    expect(jobIdFor('scan-history', { branch: 'main', repo: 'r' })).toBe(a);
    expect(a).not.toContain(':');
    expect(a).toMatch(/^scan-history-[0-9a-f]{32}$/);
  });
  it('differs for different data or kinds', () => {
    expect(jobIdFor('scan-history', { repo: 'r' })).not.toBe(jobIdFor('scan-history', { repo: 's' }));
    expect(jobIdFor('rotate', { fingerprint: 'x' })).not.toBe(jobIdFor('confirm-revocation', { fingerprint: 'x' }));
  });
  it('canonicalJson ignores undefined fields', () => {
    expect(canonicalJson({ b: 1, a: undefined, c: [{ y: 1, x: 2 }] })).toBe('{"b":1,"c":[{"x":2,"y":1}]}');
  });
});
