// Where the worker's git credentials may go. GITHUB_TOKEN only to the GitHub host (the host of
// GITHUB_API_URL: api.github.com means github.com), GITLAB_TOKEN only to the GitLab host, GIT_TOKEN
// only to the hosts KEYWARDEN_GIT_CREDENTIAL_HOSTS names (which may also name more hosts for the
// other two); each over https only, matched on the exact host and port. Pure.
import type { CREDENTIAL_VARIABLES } from '../config/sections/access.js';
import type { AccessPolicy } from './policy.js';

export type CredentialVariable = (typeof CREDENTIAL_VARIABLES)[number];

/** A token granted for one origin. */
export interface Credential {
  /** `https://host[:port]/`: the only origin git is told to send it to. */
  origin: string;
  username: string;
  token: string;
  /** Which setting it came from (for messages; never the value). */
  variable: CredentialVariable;
}

/** The host a git server is reached at, from its API URL: `api.github.com` → `github.com`, GHES `/api/v3` → its host. */
export function gitHostOfApi(apiUrl: string): string {
  const u = new URL(apiUrl);
  const host = u.host.toLowerCase();
  return host.startsWith('api.') ? host.slice(4) : host;
}

/** `host[:port]` → the variable whose token that host may receive. */
export function credentialHosts(policy: AccessPolicy): Map<string, CredentialVariable> {
  const hosts = new Map<string, CredentialVariable>();
  hosts.set(gitHostOfApi(policy.githubApiUrl), 'GITHUB_TOKEN');
  hosts.set(new URL(policy.gitlabUrl).host.toLowerCase(), 'GITLAB_TOKEN');
  for (const entry of policy.gitCredentialHosts) {
    const [host, variable] = entry.toLowerCase().split('=') as [string, string | undefined];
    const named = variable?.toUpperCase() as CredentialVariable | undefined;
    hosts.set(host.replace(/:443$/, ''), named ?? (policy.gitToken !== undefined ? 'GIT_TOKEN' : 'GITHUB_TOKEN'));
  }
  return hosts;
}

function tokenOf(policy: AccessPolicy, v: CredentialVariable): { token: string | undefined; username: string } {
  switch (v) {
    case 'GITHUB_TOKEN':
      return { token: policy.githubToken, username: 'x-access-token' };
    case 'GITLAB_TOKEN':
      return { token: policy.gitlabToken, username: 'oauth2' };
    case 'GIT_TOKEN':
      return { token: policy.gitToken, username: policy.gitUsername ?? 'x-access-token' };
    default: {
      const never: never = v;
      return never;
    }
  }
}

/**
 * The credential git may send when fetching `url`, or null: only for `https://` URLs whose host
 * (with its port, 443 implied) is on the list, and only when that host's variable is set.
 */
export function credentialFor(url: string, policy: AccessPolicy): Credential | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'https:') return null;
  const host = u.host.toLowerCase();
  const variable = credentialHosts(policy).get(host);
  if (variable === undefined) return null;
  const { token, username } = tokenOf(policy, variable);
  if (token === undefined) return null;
  return { origin: `https://${host}/`, username, token, variable };
}
