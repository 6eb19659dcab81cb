import { describe, expect, it } from 'vitest';
import { credentialFor, credentialHosts, gitHostOfApi } from '../../access/credentials.js';
import { type AccessPolicy, defaultAccessPolicy } from '../../access/policy.js';

// Not a real token format: these guard nothing.
const GH = 'gh-test-value';
const GL = 'gl-test-value';
const GT = 'git-test-value';

function policy(p: Partial<AccessPolicy> = {}): AccessPolicy {
  return { ...defaultAccessPolicy(), githubToken: GH, gitlabToken: GL, ...p };
}

describe('gitHostOfApi', () => {
  it('maps api.github.com to github.com and a GHES API to its host', () => {
    expect(gitHostOfApi('https://api.github.com')).toBe('github.com');
    expect(gitHostOfApi('https://ghe.corp.example/api/v3')).toBe('ghe.corp.example');
  });
});

describe('credentialFor', () => {
  const cases: Record<string, [url: string, p: Partial<AccessPolicy>, want: { variable: string; username: string } | null]> = {
    'GITHUB_TOKEN to github.com over https': [
      'https://github.com/o/r.git',
      {},
      { variable: 'GITHUB_TOKEN', username: 'x-access-token' },
    ],
    'nothing to github.com over plain http': ['http://github.com/o/r.git', {}, null],
    'nothing to a subdomain of github.com': ['https://evil.github.com/o/r.git', {}, null],
    'nothing to a look-alike host': ['https://github.com.evil.example/o/r.git', {}, null],
    'nothing to github.com on another port': ['https://github.com:8443/o/r.git', {}, null],
    'nothing to the API host itself': ['https://api.github.com/o/r.git', {}, null],
    'nothing to 127.0.0.1': ['https://127.0.0.1/o/r.git', {}, null],
    'GITLAB_TOKEN to gitlab.com as oauth2': ['https://gitlab.com/g/r.git', {}, { variable: 'GITLAB_TOKEN', username: 'oauth2' }],
    'GITHUB_TOKEN to a GHES host from GITHUB_API_URL': [
      'https://ghe.corp.example/o/r.git',
      { githubApiUrl: 'https://ghe.corp.example/api/v3' },
      { variable: 'GITHUB_TOKEN', username: 'x-access-token' },
    ],
    'and then no longer to github.com': ['https://github.com/o/r.git', { githubApiUrl: 'https://ghe.corp.example/api/v3' }, null],
    'GIT_TOKEN to a listed host, with GIT_USERNAME': [
      'https://git.corp.example/r.git',
      { gitToken: GT, gitUsername: 'bot', gitCredentialHosts: ['git.corp.example'] },
      { variable: 'GIT_TOKEN', username: 'bot' },
    ],
    'a listed host=GITLAB_TOKEN': [
      'https://gitlab.corp.example/r.git',
      { gitCredentialHosts: ['gitlab.corp.example=GITLAB_TOKEN'] },
      { variable: 'GITLAB_TOKEN', username: 'oauth2' },
    ],
    'a listed host:port only on that port': [
      'https://git.corp.example:8443/r.git',
      { gitToken: GT, gitCredentialHosts: ['git.corp.example:8443'] },
      { variable: 'GIT_TOKEN', username: 'x-access-token' },
    ],
    'nothing when the variable is unset': ['https://gitlab.com/g/r.git', { gitlabToken: undefined }, null],
  };
  for (const [name, [url, p, want]] of Object.entries(cases)) {
    it(`gives ${name}`, () => {
      const c = credentialFor(url, policy(p));
      if (want === null) expect(c).toBeNull();
      else expect(c).toMatchObject({ ...want, origin: `${new URL(url).origin}/` });
    });
  }

  it('lists the default hosts', () => {
    expect([...credentialHosts(defaultAccessPolicy())]).toEqual([
      ['github.com', 'GITHUB_TOKEN'],
      ['gitlab.com', 'GITLAB_TOKEN'],
    ]);
  });
});
