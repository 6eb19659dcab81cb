// The git settings a remote operation runs with (scanner/sources/git/remote.ts): what keeps git to
// access/'s policy once the policy has said yes.
import { describe, expect, it } from 'vitest';
import { defaultAccessPolicy } from '../../../access/policy.js';
import { configEnv, splitCredentials, sshCommand, transportEntries } from '../../../scanner/sources/git/remote.js';

const access = { ...defaultAccessPolicy(), githubToken: 'gh-test-value', gitIdleTimeout: 30_000, gitConnectTimeout: 5000 };

describe('transportEntries', () => {
  it('in the service: https and ssh only, no redirects, low-speed abort, the host pinned to the checked addresses', () => {
    const entries = transportEntries(
      'https://github.com/o/r.git',
      { env: {}, cacheDir: '/c', access, service: { addresses: ['140.82.112.3', '2606:50c0::1'] } },
      null,
    );
    expect(Object.fromEntries(entries)).toEqual({
      'http.lowSpeedLimit': '1',
      'http.lowSpeedTime': '30',
      'http.followRedirects': 'false',
      'protocol.allow': 'never',
      'protocol.https.allow': 'always',
      'protocol.ssh.allow': 'always',
      'http.curloptResolve': 'github.com:443:140.82.112.3,[2606:50c0::1]',
    });
  });

  it('allows file:// only when KEYWARDEN_GIT_ALLOW_FILE is on', () => {
    const entries = transportEntries(
      'file:///srv/r.git',
      { env: {}, cacheDir: '/c', access: { ...access, gitAllowFile: true }, service: { addresses: [] } },
      null,
    );
    expect(entries).toContainEqual(['protocol.file.allow', 'always']);
  });

  it("on the CLI: redirects stay git's default unless a token rides along", () => {
    const opts = { env: {}, cacheDir: '/c', access };
    expect(Object.fromEntries(transportEntries('https://h.example/r', opts, null))['http.followRedirects']).toBeUndefined();
    const creds = { origin: 'https://h.example/', username: 'u', token: 't' };
    expect(Object.fromEntries(transportEntries('https://h.example/r', opts, creds))['http.followRedirects']).toBe('false');
  });
});

describe('splitCredentials', () => {
  it('grants GITHUB_TOKEN to github.com only, over https', () => {
    expect(splitCredentials('https://github.com/o/r.git', access).creds).toMatchObject({
      origin: 'https://github.com/',
      username: 'x-access-token',
    });
    expect(splitCredentials('https://127.0.0.1:9/o/r.git', access).creds).toBeNull();
    expect(splitCredentials('http://github.com/o/r.git', access).creds).toBeNull();
  });
  it("keeps a URL's own credentials for its https origin, and refuses them over plain http", () => {
    expect(splitCredentials('https://me:pw@git.example/r', access)).toEqual({
      url: 'https://git.example/r',
      creds: { origin: 'https://git.example/', username: 'me', token: 'pw' },
    });
    expect(() => splitCredentials('http://me:pw@git.example/r', access)).toThrow(/plain http/);
  });
});

describe('configEnv and sshCommand', () => {
  it('appends after the GIT_CONFIG_* entries the caller set', () => {
    expect(configEnv({ GIT_CONFIG_COUNT: '2' }, [['a.b', 'c']])).toEqual({
      GIT_CONFIG_COUNT: '3',
      GIT_CONFIG_KEY_2: 'a.b',
      GIT_CONFIG_VALUE_2: 'c',
    });
  });
  it('gives ssh the connect timeout and keep-alives from the idle timeout', () => {
    expect(sshCommand(access)).toBe(
      'ssh -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=10 -o ServerAliveCountMax=3',
    );
  });
});
