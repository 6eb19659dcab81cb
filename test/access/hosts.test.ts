import { describe, expect, it } from 'vitest';
import { checkRemote, hostRefusal, isPublicAddress, parseRepoRef, type RepoRef } from '../../access/hosts.js';
import { isKeywardenError } from '../../errors/error.js';

describe('parseRepoRef', () => {
  const cases: Record<string, [string, Partial<RepoRef>]> = {
    https: ['https://GitHub.com/o/r.git', { kind: 'remote', scheme: 'https', host: 'github.com', port: '' }],
    'https with a port': ['https://git.example.com:8443/o/r', { kind: 'remote', scheme: 'https', port: '8443' }],
    ssh: ['ssh://git@github.com/o/r.git', { kind: 'remote', scheme: 'ssh', host: 'github.com' }],
    'git+ssh': ['git+ssh://git@host.example/o/r', { kind: 'remote', scheme: 'ssh', host: 'host.example' }],
    'scp-like': ['git@github.com:o/r.git', { kind: 'remote', scheme: 'ssh', host: 'github.com' }],
    'IPv6 literal': ['https://[::1]:8443/r', { kind: 'remote', host: '::1', port: '8443' }],
    'plain http': ['http://github.com/o/r', { kind: 'refused', scheme: 'http' }],
    'git://': ['git://github.com/o/r', { kind: 'refused', scheme: 'git' }],
    'ext::': ['ext::sh -c id', { kind: 'refused', scheme: 'ext::' }],
    'another remote helper': ['fd::3', { kind: 'refused', scheme: 'fd::' }],
    'an unknown scheme': ['gopher://h/r', { kind: 'refused', scheme: 'gopher' }],
    'file://': ['file:///srv/repos/a.git', { kind: 'file', path: '/srv/repos/a.git' }],
    'an absolute path': ['/srv/app', { kind: 'local', path: '/srv/app' }],
    'a relative path': ['repos/app', { kind: 'local', path: 'repos/app' }],
    'a path with a colon but no user': ['127.0.0.1:x', { kind: 'local' }],
  };
  for (const [name, [ref, want]] of Object.entries(cases)) {
    it(`reads ${name}`, () => expect(parseRepoRef(ref)).toMatchObject(want));
  }
});

describe('isPublicAddress', () => {
  const cases: Record<string, [string, boolean]> = {
    'a public IPv4 address': ['140.82.112.3', true],
    'a public IPv6 address': ['2606:4700::1111', true],
    loopback: ['127.0.0.1', false],
    'loopback elsewhere in 127/8': ['127.5.6.7', false],
    'IPv6 loopback': ['::1', false],
    unspecified: ['0.0.0.0', false],
    '10/8': ['10.20.30.40', false],
    '172.16/12': ['172.31.255.1', false],
    'just outside 172.16/12': ['172.32.0.1', true],
    '192.168/16': ['192.168.1.1', false],
    'link-local (cloud metadata)': ['169.254.169.254', false],
    'shared address space (CGNAT)': ['100.64.0.1', false],
    'IPv6 unique local': ['fd00::1', false],
    'IPv6 link-local': ['fe80::1', false],
    'IPv4-mapped loopback': ['::ffff:127.0.0.1', false],
    'IPv4-mapped public': ['::ffff:140.82.112.3', true],
    'NAT64 (embeds any IPv4)': ['64:ff9b::7f00:1', false],
    multicast: ['224.0.0.1', false],
    'not an address': ['github.com', false],
  };
  for (const [name, [address, want]] of Object.entries(cases)) {
    it(`says ${want} for ${name}`, () => expect(isPublicAddress(address)).toBe(want));
  }
});

describe('hostRefusal', () => {
  const cases: Record<string, [host: string, port: string, addresses: string[] | null, patterns: string[], allowed: boolean]> = {
    'a public host under *': ['github.com', '', ['140.82.112.3'], ['*'], true],
    'a host with one private address among public ones': ['rebind.example', '', ['140.82.112.3', '10.0.0.5'], ['*'], false],
    'loopback under *': ['localhost', '', ['127.0.0.1'], ['*'], false],
    'a host that resolves to nothing': ['x.example', '', [], ['*'], false],
    'a named private host': ['git.corp', '', ['10.0.0.5'], ['git.corp'], true],
    'a named host on its port': ['git.corp', '8443', ['10.0.0.5'], ['git.corp:8443'], true],
    'a named host on another port': ['git.corp', '22', ['10.0.0.5'], ['git.corp:8443'], false],
    'a subdomain of *.domain': ['a.b.corp', '', ['10.0.0.5'], ['*.corp'], true],
    'the apex of *.domain': ['corp', '', ['10.0.0.5'], ['*.corp'], false],
    'an address in a listed range': ['build', '', ['10.1.2.3'], ['10.0.0.0/8'], true],
    'an address outside the listed range': ['build', '', ['192.168.1.1'], ['10.0.0.0/8'], false],
    'a listed address literal': ['127.0.0.1', '', ['127.0.0.1'], ['127.0.0.1'], true],
    'a public host when only names are listed': ['github.com', '', ['140.82.112.3'], ['gitlab.com'], false],
    'unknown DNS with * (the worker decides)': ['github.com', '', null, ['*'], true],
    'unknown DNS, names only, not named': ['evil.example', '', null, ['github.com'], false],
    'a listed IPv6 range': ['v6', '', ['fd00::5'], ['fd00::/8'], true],
  };
  for (const [name, [host, port, addresses, patterns, allowed]] of Object.entries(cases)) {
    it(`${allowed ? 'allows' : 'refuses'} ${name}`, () => {
      expect(hostRefusal(host, port, addresses, patterns) === null).toBe(allowed);
    });
  }
});

describe('checkRemote', () => {
  it('judges every address the resolver gives, and refuses a refused scheme without asking DNS', async () => {
    let asked = 0;
    const resolve = async () => {
      asked++;
      return ['140.82.112.3', '127.0.0.1'];
    };
    const err = await checkRemote(parseRepoRef('https://two-faced.example/r') as never, { gitHosts: ['*'] }, resolve).catch(
      (e) => e,
    );
    expect(isKeywardenError(err, 'KW_HOST_NOT_ALLOWED')).toBe(true);
    expect((err as Error).message).toBe(
      'repository host two-faced.example is not allowed: it resolves to 127.0.0.1, which is not a public address',
    );
    const scheme = await checkRemote(parseRepoRef('git://h/r') as never, { gitHosts: ['*'] }, resolve).catch((e) => e);
    expect(isKeywardenError(scheme, 'KW_HOST_NOT_ALLOWED')).toBe(true);
    expect(asked).toBe(1);
  });
});
