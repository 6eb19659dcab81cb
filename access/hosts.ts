// Where a repository may be fetched from: the URL's scheme (https and ssh; file:// only when
// enabled; never plain http, git://, ext:: or another remote helper) and its host, judged on every
// address it resolves to (KEYWARDEN_GIT_HOSTS; by default any public host, never loopback,
// link-local or private ranges). Pure but for `resolveAddresses`, the DNS lookup it is given.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { KeywardenError } from '../errors/error.js';
import type { AccessPolicy } from './policy.js';
import { redactUrl } from './redact-url.js';

/** A repository reference, as a worker would open it. */
export type RepoRef =
  | { kind: 'local'; path: string }
  | { kind: 'file'; path: string; url: string }
  | {
      kind: 'remote';
      scheme: 'https' | 'ssh';
      /** Lowercased, IPv6 without brackets. */
      host: string;
      /** Empty for the scheme's default. */
      port: string;
      url: string;
    }
  /** A transport keywarden never uses: plain http, git://, ext::, other remote helpers. */
  | { kind: 'refused'; scheme: string; url: string };

const SCP_LIKE = /^(?:[^@/:\s]+@)([^:/\s]+|\[[^\]]+\]):(?!\/\/)/;
const HELPER = /^([A-Za-z0-9][A-Za-z0-9+.-]*)::/;
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** What a `repo` string is: a local path, a file:// URL, a remote over https or ssh, or refused. */
export function parseRepoRef(ref: string): RepoRef {
  const helper = HELPER.exec(ref);
  if (helper) return { kind: 'refused', scheme: `${helper[1]!}::`, url: ref };
  const scheme = SCHEME.exec(ref)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    const scp = SCP_LIKE.exec(ref);
    if (scp) return { kind: 'remote', scheme: 'ssh', host: unbracket(scp[1]!.toLowerCase()), port: '', url: ref };
    return { kind: 'local', path: ref };
  }
  if (scheme === 'file') {
    let path: string;
    try {
      path = decodeURIComponent(new URL(ref).pathname);
    } catch {
      return { kind: 'refused', scheme, url: ref };
    }
    return { kind: 'file', path, url: ref };
  }
  const transport = scheme === 'https' ? 'https' : ['ssh', 'git+ssh', 'ssh+git'].includes(scheme) ? 'ssh' : null;
  if (transport === null) return { kind: 'refused', scheme, url: ref };
  let u: URL;
  try {
    u = new URL(ref);
  } catch {
    return { kind: 'refused', scheme, url: ref };
  }
  if (u.hostname === '') return { kind: 'refused', scheme, url: ref };
  return { kind: 'remote', scheme: transport, host: unbracket(u.hostname.toLowerCase()), port: u.port, url: ref };
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Loopback, link-local, private, shared (CGNAT), unspecified, multicast and reserved ranges. */
const NON_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NON_PUBLIC.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['64:ff9b::', 96], // NAT64: reaches whatever IPv4 address it embeds
  ['2002::', 16], // 6to4: likewise
] as const)
  NON_PUBLIC.addSubnet(net, bits, 'ipv6');

/** The address as its own family: `::ffff:127.0.0.1` is 127.0.0.1. */
function normalized(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** True for an address anyone on the internet could reach: not loopback, link-local, private or reserved. */
export function isPublicAddress(address: string): boolean {
  const a = normalized(address);
  if (isIP(a.address) === 0) return false;
  if (a.family === 'ipv6' && /^::ffff:/i.test(a.address)) return false; // mapped in another spelling
  return !NON_PUBLIC.check(a.address, a.family);
}

interface HostPatterns {
  any: boolean;
  names: Array<{ name: string; port: string; subdomains: boolean }>;
  ranges: BlockList;
  hasRanges: boolean;
}

function compilePatterns(patterns: readonly string[]): HostPatterns {
  const out: HostPatterns = { any: false, names: [], ranges: new BlockList(), hasRanges: false };
  for (const raw of patterns) {
    const p = raw.toLowerCase();
    if (p === '*') {
      out.any = true;
      continue;
    }
    const spec = /^\[([^\]]+)\](?::\d+)?$/.exec(p)?.[1] ?? p;
    const [addr, bits] = spec.split('/') as [string, string | undefined];
    const ip = normalized(addr);
    if (isIP(ip.address) !== 0) {
      const max = ip.family === 'ipv4' ? 32 : 128;
      out.ranges.addSubnet(ip.address, bits === undefined ? max : Number(bits), ip.family);
      out.hasRanges = true;
      continue;
    }
    const m = /^(\*\.)?([^:]+)(?::(\d+))?$/.exec(p);
    if (m) out.names.push({ name: m[2]!, port: m[3] ?? '', subdomains: m[1] !== undefined });
  }
  return out;
}

/** Why a host was refused, or null when it is allowed. Pure: the addresses are given. */
export function hostRefusal(
  host: string,
  port: string,
  /** null: DNS could not say now (the API's early check); judged by the names alone, the worker judges the rest. */
  addresses: readonly string[] | null,
  patterns: readonly string[],
): string | null {
  const p = compilePatterns(patterns);
  const h = host.toLowerCase();
  // A host the operator named may be anywhere, private included: they chose it.
  for (const n of p.names) {
    const nameOk = n.subdomains ? h.endsWith(`.${n.name}`) : h === n.name;
    if (nameOk && (n.port === '' || n.port === port)) return null;
  }
  if (addresses === null) return p.any || p.hasRanges ? null : 'is not in KEYWARDEN_GIT_HOSTS';
  if (addresses.length === 0) return 'resolves to no address';
  for (const address of addresses) {
    const a = normalized(address);
    if (p.hasRanges && p.ranges.check(a.address, a.family)) continue;
    if (p.any && isPublicAddress(address)) continue;
    return p.any ? `resolves to ${address}, which is not a public address` : 'is not in KEYWARDEN_GIT_HOSTS';
  }
  return null;
}

/** Every address a host name resolves to (an IP literal is its own); DNS failures are KW_SOURCE_READ. */
export async function resolveAddresses(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  try {
    return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeywardenError('KW_SOURCE_READ', `cannot resolve repository host ${host}${code ? ` (${code})` : ''}`);
  }
}

/** A remote the policy allows, with the addresses it was judged on. */
export interface AllowedRemote {
  ref: Extract<RepoRef, { kind: 'remote' }>;
  addresses: string[];
}

/**
 * Throws KW_HOST_NOT_ALLOWED unless `ref` may be fetched under `policy`: the scheme first (no DNS
 * for a refused one), then every address of its host. Workers call this right before they fetch
 * (DNS may have changed since the API checked).
 */
export async function checkRemote(
  ref: Extract<RepoRef, { kind: 'remote' | 'refused' }>,
  policy: Pick<AccessPolicy, 'gitHosts'>,
  resolve: (host: string) => Promise<string[]> = resolveAddresses,
  /** A DNS failure is not an answer (the API: the worker resolves again and retries); else it throws. */
  dnsMayFail = false,
): Promise<AllowedRemote> {
  if (ref.kind === 'refused') throw schemeRefused(ref);
  let addresses: string[] | null;
  try {
    addresses = await resolve(ref.host);
  } catch (err) {
    if (!dnsMayFail) throw err;
    addresses = null;
  }
  const why = hostRefusal(ref.host, ref.port, addresses, policy.gitHosts);
  if (why !== null)
    throw new KeywardenError('KW_HOST_NOT_ALLOWED', `repository host ${ref.host} is not allowed: it ${why}`, [
      'KEYWARDEN_GIT_HOSTS lists the hosts, *.domains and address ranges repositories may come from (default *: public addresses only)',
    ]);
  return { ref, addresses: addresses ?? [] };
}

export function schemeRefused(ref: { scheme: string; url: string }): KeywardenError {
  return new KeywardenError(
    'KW_HOST_NOT_ALLOWED',
    `repository URL scheme ${ref.scheme.endsWith('::') ? ref.scheme : `${ref.scheme}://`} is not allowed: ${redactUrl(ref.url)}`,
    [
      'remote repositories are fetched over https:// or ssh:// only (plain http and git:// send everything in clear; remote helpers run commands)',
      ...(ref.scheme === 'file' ? ['file:// URLs need KEYWARDEN_GIT_ALLOW_FILE=1'] : []),
    ],
  );
}
