import { describe, expect, it } from 'vitest';
import { redactUrl, urlHasCredentials, withoutUserinfo } from '../../access/redact-url.js';
import { credentialsInUrlProblem } from '../../access/repo.js';

describe('redactUrl', () => {
  const cases: Record<string, [string, string]> = {
    'user and password': ['https://ci:s3cr3t@github.com/o/r.git', 'https://***@github.com/o/r.git'],
    'a token as the user': ['https://s3cr3t@gitlab.com/g/r.git', 'https://***@gitlab.com/g/r.git'],
    'a token parameter': [
      'https://h.example/r.git?private_token=s3cr3t&ref=main',
      'https://h.example/r.git?private_token=***&ref=main',
    ],
    'a URL inside a message': [
      "fatal: unable to access 'https://x-access-token:s3cr3t@github.com/o/r.git/': 401",
      "fatal: unable to access 'https://***@github.com/o/r.git/': 401",
    ],
    'a URL without credentials': ['https://github.com/o/r.git', 'https://github.com/o/r.git'],
    'an scp-like ssh URL (a user name, not a secret)': ['git@github.com:o/r.git', 'git@github.com:o/r.git'],
  };
  for (const [name, [input, want]] of Object.entries(cases)) it(`redacts ${name}`, () => expect(redactUrl(input)).toBe(want));

  it('tells whether a URL carries credentials', () => {
    expect(urlHasCredentials('https://a:b@h/r')).toBe(true);
    expect(urlHasCredentials('https://h/r?access_token=x')).toBe(true);
    expect(urlHasCredentials('https://h/r?ref=main')).toBe(false);
  });

  it('drops userinfo', () => expect(withoutUserinfo('https://a:b@h.example:8443/r')).toBe('https://h.example:8443/r'));
});

describe('credentialsInUrlProblem', () => {
  const cases: Record<string, [string, boolean]> = {
    'https with user:token': ['https://ci:tok@github.com/o/r.git', true],
    'https with a token as user': ['https://tok@github.com/o/r.git', true],
    'a token query parameter': ['https://gitlab.com/g/r.git?private_token=tok', true],
    'ssh with a user name': ['ssh://git@github.com/o/r.git', false],
    'ssh with user:password': ['ssh://git:pw@github.com/o/r.git', true],
    'scp-like': ['git@github.com:o/r.git', false],
    'a plain https URL': ['https://github.com/o/r.git', false],
    'a local path': ['/srv/app', false],
  };
  for (const [name, [url, refused]] of Object.entries(cases)) {
    it(`${refused ? 'refuses' : 'accepts'} ${name}`, () => expect(credentialsInUrlProblem(url) !== null).toBe(refused));
  }
});
