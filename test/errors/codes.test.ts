import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CODES, type CodeSpec, ERROR_CODES, type ErrorCode } from '../../errors/codes.js';
import { codeOf, isKeywardenError, KeywardenError, specOf } from '../../errors/error.js';
import { classify } from '../../http/errors.js';
import { GitCommandError } from '../../scanner/sources/git/exec.js';

describe('the error table', () => {
  it('gives every code an HTTP error status, the CLI error exit code and a summary', () => {
    for (const code of ERROR_CODES) {
      const spec: CodeSpec = CODES[code];
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
      expect(spec.exit, code).toBe(2);
      expect(spec.summary.length, code).toBeGreaterThan(0);
    }
  });

  it('does not compile without a row for every code', () => {
    // @ts-expect-error KW_INTERNAL and the rest have no row: the table must be complete.
    const partial = { KW_USAGE: CODES.KW_USAGE } satisfies Record<ErrorCode, CodeSpec>;
    expect(Object.keys(partial)).toHaveLength(1);
  });

  it('is the table docs/api.md lists, status for status', () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    for (const code of ERROR_CODES) {
      const row = new RegExp(`^\\| \`${code}\`\\s*\\| ${CODES[code].status}\\s*\\|`, 'm');
      expect(doc, code).toMatch(row);
    }
  });
});

describe('KeywardenError', () => {
  it('is what a failing git command throws, with a code workers do not retry', () => {
    const err = new GitCommandError('log', 128, 'fatal: bad object deadbeef\n');
    expect(isKeywardenError(err, 'KW_GIT_COMMAND')).toBe(true);
    expect(err.message).toBe('git log failed (exit 128): bad object deadbeef');
    expect(specOf(err).retryable).toBe(false);
  });

  it('classifies anything else as KW_INTERNAL, whose body says nothing of the cause', () => {
    const foreign = new Error('ECONNRESET at 10.0.0.7 with token abc');
    expect(codeOf(foreign)).toBe('KW_INTERNAL');
    const c = classify(foreign);
    expect(c).toMatchObject({ status: 500, internal: true });
    expect(JSON.stringify(c.body)).not.toContain('10.0.0.7');
  });

  it('answers each code with its status, and request problems with their fields', () => {
    const err = new KeywardenError('KW_REQUEST_INVALID', 'invalid request', ['body.kind: bad'], {
      fields: [{ path: 'body.kind', message: 'bad' }],
    });
    expect(classify(err)).toEqual({
      status: 400,
      internal: false,
      body: {
        error: { code: 'KW_REQUEST_INVALID', message: 'invalid request', details: [{ path: 'body.kind', message: 'bad' }] },
      },
    });
    expect(classify(new KeywardenError('KW_FORBIDDEN', 'read scope needed')).status).toBe(403);
    expect(
      classify(new KeywardenError('KW_CONFIG_INVALID', 'x', ['REDIS_URL: must start with redis://'])).body.error.details,
    ).toEqual(['REDIS_URL: must start with redis://']);
  });
});
