// GitHub secret scanning alerts (`POST /v1/github/webhook` in, resolutions out) through @octokit/rest
// (`GITHUB_API_URL` for GitHub Enterprise Server): an alert's secret and locations read once, turned into
// one finding with the rule keywarden's own pack recognises in the secret (so the fingerprint is the one
// a scan of the same key makes), and the alert resolved as `revoked` once the key is confirmed dead.
// The secret lives in memory only; the finding it becomes is recorded like any scan's.
import { Octokit } from '@octokit/rest';
import { KeywardenError } from '../errors/error.js';
import type { Finding, Occurrence } from '../model/finding.js';
import type { GitHubAlertProvenance } from '../model/provenance.js';
import type { CompiledPack } from '../scanner/engine/compile.js';
import { fingerprint } from '../scanner/fingerprint.js';
import { findingsIn, matchChunk } from '../scanner/pipeline.js';
import { redactPreview } from '../scanner/redact.js';
import { targetOf } from '../scanner/target.js';
import type { AlertLink } from './rotation-store.js';

/** What keywarden reads of one alert. */
export interface AlertDetails {
  /** `owner/repo`. */
  repository: string;
  number: number;
  url: string;
  state: string;
  secretType: string;
  secretTypeDisplayName: string;
  /** The leaked value: in memory only. */
  secret: string;
  locations: AlertLocation[];
}

export interface AlertLocation {
  type: string;
  commit?: string;
  path?: string;
  startLine?: number;
  endLine?: number;
  startColumn?: number;
  endColumn?: number;
  /** The location's own page (a blob, an issue, a comment). */
  url?: string;
}

export interface GitHubAlerts {
  fetch(repository: string, number: number): Promise<AlertDetails>;
  /** Resolves the alert as `revoked` with `comment`. */
  resolve(link: AlertLink, comment: string): Promise<void>;
}

/** Pages of locations read at most: an alert pasted into 10,000 issues still ends. */
const MAX_LOCATION_PAGES = 10;

function split(repository: string): { owner: string; repo: string } {
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(repository);
  if (!m) throw new KeywardenError('KW_REQUEST_INVALID', `not a repository name: ${JSON.stringify(repository.slice(0, 100))}`);
  return { owner: m[1]!, repo: m[2]! };
}

/** Why a GitHub call failed, by status only (a message may quote the request). */
function apiError(what: string, err: unknown): KeywardenError {
  const status = (err as { status?: unknown }).status;
  return new KeywardenError(
    'KW_PROVIDER_UNAVAILABLE',
    `GitHub ${what} failed${typeof status === 'number' ? ` (HTTP ${status})` : ''}`,
    [],
    { cause: err },
  );
}

export function createGitHubAlerts(opts: { apiUrl: string; token: string; fetch?: typeof fetch }): GitHubAlerts {
  const octokit = new Octokit({
    auth: opts.token,
    baseUrl: opts.apiUrl.replace(/\/+$/, ''),
    userAgent: 'keywarden',
    request: { ...(opts.fetch ? { fetch: opts.fetch } : {}), retries: 0 },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  return {
    async fetch(repository, number) {
      const { owner, repo } = split(repository);
      let alert: Record<string, unknown>;
      try {
        alert = (await octokit.rest.secretScanning.getAlert({ owner, repo, alert_number: number })).data as Record<
          string,
          unknown
        >;
      } catch (err) {
        throw apiError(`alert ${repository}#${number}`, err);
      }
      const locations: AlertLocation[] = [];
      try {
        for (let page = 1; page <= MAX_LOCATION_PAGES; page++) {
          const r = await octokit.rest.secretScanning.listLocationsForAlert({
            owner,
            repo,
            alert_number: number,
            per_page: 100,
            page,
          });
          for (const l of r.data) locations.push(locationOf(l as { type?: string; details?: Record<string, unknown> }));
          if (r.data.length < 100) break;
        }
      } catch (err) {
        throw apiError(`locations of alert ${repository}#${number}`, err);
      }
      if (typeof alert.secret !== 'string' || alert.secret === '')
        throw new KeywardenError(
          'KW_PROVIDER_UNAVAILABLE',
          `GitHub alert ${repository}#${number} came without its secret (the token needs "Secret scanning alerts: read")`,
        );
      return {
        repository,
        number,
        url: typeof alert.html_url === 'string' ? alert.html_url : '',
        state: typeof alert.state === 'string' ? alert.state : 'open',
        secretType: typeof alert.secret_type === 'string' ? alert.secret_type : 'unknown',
        secretTypeDisplayName: typeof alert.secret_type_display_name === 'string' ? alert.secret_type_display_name : '',
        secret: alert.secret,
        locations,
      };
    },
    async resolve(link, comment) {
      const { owner, repo } = split(link.repository);
      try {
        await octokit.rest.secretScanning.updateAlert({
          owner,
          repo,
          alert_number: link.number,
          state: 'resolved',
          resolution: 'revoked',
          resolution_comment: comment.slice(0, 270),
        });
      } catch (err) {
        throw apiError(`resolving alert ${link.repository}#${link.number}`, err);
      }
    },
  };
}

function locationOf(l: { type?: string; details?: Record<string, unknown> }): AlertLocation {
  const d = l.details ?? {};
  const str = (k: string) => (typeof d[k] === 'string' ? (d[k] as string) : undefined);
  const int = (k: string) => (typeof d[k] === 'number' && Number.isInteger(d[k]) ? (d[k] as number) : undefined);
  // Whatever kind of place it is (a blob, an issue, a comment, a discussion), its page is a *_url field.
  const url = str('blob_url') ?? Object.entries(d).find(([k, v]) => k.endsWith('_url') && typeof v === 'string')?.[1];
  const out: AlertLocation = { type: l.type ?? 'unknown' };
  const commit = str('commit_sha');
  const path = str('path');
  if (commit) out.commit = commit;
  if (path) out.path = path;
  for (const [k, f] of [
    ['start_line', 'startLine'],
    ['end_line', 'endLine'],
    ['start_column', 'startColumn'],
    ['end_column', 'endColumn'],
  ] as const) {
    const v = int(k);
    if (v !== undefined) out[f] = v;
  }
  if (typeof url === 'string') out.url = url;
  return out;
}

/**
 * The alert as one finding: the rule keywarden's pack recognises in the secret (its fingerprint is the
 * one any scan of the key makes); a secret no rule matches becomes `github-secret-scanning/<type>`
 * (recorded and notified, but with no liveness check). One occurrence per location, in the repository
 * as the store names it (`https://github.com/owner/repo`, or the Enterprise host). Carries the secret in memory.
 */
export function alertFinding(alert: AlertDetails, opts: { pack: CompiledPack; fingerprintKey: Buffer; host: string }): Finding {
  const repo = targetOf(`https://${opts.host}/${alert.repository}`);
  const base: GitHubAlertProvenance = { kind: 'github-alert', repo, alert: alert.number, url: alert.url, location: 'alert' };
  // The secret alone, scanned as a chunk: the rule whose pattern takes all of it names the finding.
  const chunk = { bytes: Buffer.from(alert.secret, 'utf8'), provenance: base, offset: 0, startLine: 1 };
  const matched = findingsIn(opts.pack, chunk, matchChunk(opts.pack, chunk), {
    fingerprintKey: opts.fingerprintKey,
    showSecrets: true,
  }).find((f) => f.secret === alert.secret);
  const ruleId = matched?.ruleId ?? `github-secret-scanning/${alert.secretType}`;
  const occurrences: Occurrence[] = (alert.locations.length > 0 ? alert.locations : [{ type: 'alert' }]).map((l) => {
    const provenance: GitHubAlertProvenance = {
      ...base,
      location: l.type,
      ...(l.commit ? { commit: l.commit } : {}),
      ...(l.path ? { path: l.path } : {}),
      ...(l.url ? { locationUrl: l.url } : {}),
    };
    const line = Math.max(1, l.startLine ?? 1);
    return {
      provenance,
      span: {
        line,
        column: Math.max(1, l.startColumn ?? 1),
        endLine: Math.max(line, l.endLine ?? line),
        endColumn: Math.max(1, l.endColumn ?? (l.startColumn ?? 1) + 1),
      },
    };
  });
  return {
    fingerprint: matched?.fingerprint ?? fingerprint(opts.fingerprintKey, ruleId, alert.secret),
    ruleId,
    description: matched?.description ?? `GitHub secret scanning: ${alert.secretTypeDisplayName || alert.secretType}`,
    confidence: matched?.confidence ?? 'high',
    redacted: matched?.redacted ?? redactPreview(alert.secret),
    entropy: matched?.entropy ?? 0,
    secret: alert.secret,
    state: 'detected',
    occurrences,
  };
}
