// What a worker may read and fetch for a job (docs/security.md): dump paths only under configured
// roots, remote repositories only over https or ssh to allowed hosts, and the git credentials of the
// worker's environment only to the hosts each one belongs to, over https.
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { Duration, Flag } from '../fields.js';
import { listOf } from '../lists.js';
import { defineSection } from '../section.js';

/** @defaultValue `https://api.github.com`: GITHUB_TOKEN goes to the git host of this API (github.com). */
export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';
/** @defaultValue `https://gitlab.com/api/v4`: GITLAB_TOKEN goes to this host. */
export const DEFAULT_GITLAB_URL = 'https://gitlab.com';
/** @defaultValue 10 s */
export const DEFAULT_GIT_CONNECT_TIMEOUT_MS = 10_000;
/** @defaultValue 60 s */
export const DEFAULT_GIT_IDLE_TIMEOUT_MS = 60_000;

/** Absolute paths, `:` or `,` between them (PATH style). */
const PathList = listOf(/[:,]/).superRefine((paths, ctx) => {
  for (const p of paths)
    if (!isAbsolute(p)) ctx.addIssue({ code: 'custom', message: `must be absolute paths; got ${JSON.stringify(p)}` });
});

/**
 * A host pattern: `*` (any public host), `github.com`, `*.example.com` (the domain's subdomains), an
 * IP address or a CIDR range (`10.0.0.0/8`, `fd00::/8`), each optionally `:port` for names.
 */
const HOST_PATTERN =
  /^(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?|[0-9.]+(\/\d{1,2})?|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(\/\d{1,3})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?)$/;
const HostList = listOf().superRefine((hosts, ctx) => {
  for (const h of hosts)
    if (!HOST_PATTERN.test(h))
      ctx.addIssue({
        code: 'custom',
        message: `must be host names, *.domain, IP addresses or CIDR ranges (or * for any public host); got ${JSON.stringify(h)}`,
      });
});

/** The token variables a credential host entry may name (`host=GITLAB_TOKEN`). */
export const CREDENTIAL_VARIABLES = ['GITHUB_TOKEN', 'GITLAB_TOKEN', 'GIT_TOKEN'] as const;
const CREDENTIAL_ENTRY = new RegExp(`^[A-Za-z0-9.-]+(:\\d{1,5})?(=(${CREDENTIAL_VARIABLES.join('|')}))?$`);
const CredentialHostList = listOf().superRefine((hosts, ctx) => {
  for (const h of hosts)
    if (!CREDENTIAL_ENTRY.test(h))
      ctx.addIssue({
        code: 'custom',
        message: `must be host or host=VARIABLE (${CREDENTIAL_VARIABLES.join(', ')}) entries, no wildcards; got ${JSON.stringify(h)}`,
      });
});

export const accessSection = defineSection({
  key: 'access',
  fromFile: true,
  envOnly: ['githubToken', 'gitlabToken', 'gitToken'],
  env: {
    KEYWARDEN_DUMP_ROOTS: 'dumpRoots',
    KEYWARDEN_REPO_ROOTS: 'repoRoots',
    KEYWARDEN_GIT_HOSTS: 'gitHosts',
    KEYWARDEN_GIT_ALLOW_FILE: 'gitAllowFile',
    KEYWARDEN_GIT_CREDENTIAL_HOSTS: 'gitCredentialHosts',
    KEYWARDEN_GIT_CONNECT_TIMEOUT: 'gitConnectTimeout',
    KEYWARDEN_GIT_IDLE_TIMEOUT: 'gitIdleTimeout',
    GITHUB_API_URL: 'githubApiUrl',
    KEYWARDEN_PROVIDER_GITLAB_BASE_URL: 'gitlabUrl',
    GITHUB_TOKEN: 'githubToken',
    GITLAB_TOKEN: 'gitlabToken',
    GIT_TOKEN: 'gitToken',
    GIT_USERNAME: 'gitUsername',
  },
  schema: z
    .object({
      /**
       * `KEYWARDEN_DUMP_ROOTS`: directories `scan-dump` may read under (absolute, `:` or `,` between),
       * checked after resolving symlinks. @defaultValue none: every `scan-dump` job is refused
       */
      dumpRoots: PathList.default([]),
      /**
       * `KEYWARDEN_REPO_ROOTS`: directories local repository paths (and `file://` URLs) must be under,
       * after resolving symlinks. @defaultValue none set: any local repository the worker can read
       */
      repoRoots: PathList.optional(),
      /**
       * `KEYWARDEN_GIT_HOSTS`: hosts remote repositories may be cloned from; `*` is any host whose
       * addresses are all public. A host named here (or an address in a listed range) may be private.
       * @defaultValue `*`: any public host, never loopback, link-local or private addresses
       */
      gitHosts: HostList.default(['*']),
      /** `KEYWARDEN_GIT_ALLOW_FILE=1`: accept `file://` repository URLs. @defaultValue false */
      gitAllowFile: Flag.default(false),
      /**
       * `KEYWARDEN_GIT_CREDENTIAL_HOSTS`: more hosts a token may be sent to, as `host` (GIT_TOKEN, else
       * GITHUB_TOKEN) or `host=GITLAB_TOKEN`. @defaultValue none beyond the GitHub and GitLab hosts
       */
      gitCredentialHosts: CredentialHostList.default([]),
      /** `KEYWARDEN_GIT_CONNECT_TIMEOUT`: DNS and ssh connect timeout. @defaultValue 10 s */
      gitConnectTimeout: Duration.default(DEFAULT_GIT_CONNECT_TIMEOUT_MS),
      /**
       * `KEYWARDEN_GIT_IDLE_TIMEOUT`: a clone or fetch that sends nothing for this long is stopped (git's
       * http.lowSpeedTime, ssh keep-alives, and the git process's silence). @defaultValue 60 s
       */
      gitIdleTimeout: Duration.default(DEFAULT_GIT_IDLE_TIMEOUT_MS),
      /** `GITHUB_API_URL`: its host (api.github.com → github.com) is GITHUB_TOKEN's. @defaultValue `https://api.github.com` */
      githubApiUrl: z.string().url('must be a URL').default(DEFAULT_GITHUB_API_URL),
      /** `KEYWARDEN_PROVIDER_GITLAB_BASE_URL`: its host is GITLAB_TOKEN's. @defaultValue `https://gitlab.com` */
      gitlabUrl: z.string().url('must be a URL').default(DEFAULT_GITLAB_URL),
      /** `GITHUB_TOKEN`: sent (as `x-access-token`) only to the GitHub host. Environment only. @defaultValue none */
      githubToken: z.string().min(1).optional(),
      /** `GITLAB_TOKEN`: sent (as `oauth2`) only to the GitLab host. Environment only. @defaultValue none */
      gitlabToken: z.string().min(1).optional(),
      /** `GIT_TOKEN`: sent only to the hosts of KEYWARDEN_GIT_CREDENTIAL_HOSTS. Environment only. @defaultValue none */
      gitToken: z.string().min(1).optional(),
      /** `GIT_USERNAME`: the user name sent with GIT_TOKEN. @defaultValue `x-access-token` */
      gitUsername: z.string().min(1).optional(),
    })
    .strict(),
});
