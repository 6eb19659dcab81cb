// SARIF 2.1.0 reporter, for GitHub code scanning and other SARIF viewers. Shows the redacted preview
// only: SARIF files are uploaded and archived by design, so a secret never enters one, not even
// under `--show-secrets`.
import type { Invocation, Log, ReportingDescriptor, Result } from 'sarif';
import type { Confidence } from '../../rules/schema.js';
import type { Report, ReportEntry, ReportSource } from '../report.js';
import { reportSource } from './entries.js';

/** The published OASIS schema of the version we write (errata 01). */
export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';
/** `driver.informationUri`: where users read about the tool. */
export const KEYWARDEN_INFORMATION_URI = 'https://github.com/keywarden/keywarden';
/** The `partialFingerprints` key; bump the suffix if the fingerprint's definition ever changes. */
export const SARIF_FINGERPRINT_KEY = 'keywarden/v1';

/** What SARIF needs of a rule (a `Rule` from `rules/schema.ts` fits). */
export interface SarifRuleInfo {
  id: string;
  description: string;
  provider: string;
  references?: readonly string[];
  confidence: Confidence | 'info';
  /** `hash` and `public` rules' findings are `info`: their descriptors say so too. */
  kind?: 'credential' | 'hash' | 'public';
}

/** `info` (a password hash, a public-by-design key) is SARIF's `none`: no severity applies. */
const LEVEL: Record<ReportEntry['confidence'], Result.level> = { high: 'error', medium: 'warning', low: 'note', info: 'none' };

/**
 * `rules` become `driver.rules` in the given order (every rule that ran, as gitleaks does, so a viewer
 * can show what was checked); a finding whose rule is not among them gets a descriptor built from the
 * finding, appended, so `ruleIndex` always resolves.
 */
export function renderSarif(report: Report, rules: readonly SarifRuleInfo[]): string {
  const descriptors: ReportingDescriptor[] = [];
  const indexOf = new Map<string, number>();
  const addRule = (r: SarifRuleInfo): void => {
    if (indexOf.has(r.id)) return;
    indexOf.set(r.id, descriptors.length);
    descriptors.push(descriptor(r));
  };
  for (const r of rules) addRule(r);
  for (const f of report.findings)
    addRule({ id: f.ruleId, description: f.description, provider: 'unknown', confidence: f.confidence });

  const results = report.findings.map((f) => result(f, indexOf.get(f.ruleId) ?? 0));

  const invocation: Invocation = { executionSuccessful: true };
  const errors = report.stats.errors ?? [];
  if (errors.length > 0) {
    // Unreadable files: the scan went on, but a viewer should say that coverage was incomplete.
    invocation.toolExecutionNotifications = errors.map((e) => ({
      level: 'warning',
      message: { text: `${e.code}: ${e.message}` },
      locations: [{ physicalLocation: { artifactLocation: artifactLocation(e.path) } }],
    }));
  }

  const log: Log = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'keywarden',
            version: report.tool.version,
            semanticVersion: report.tool.version,
            informationUri: KEYWARDEN_INFORMATION_URI,
            rules: descriptors,
          },
        },
        invocations: [invocation],
        // Columns count UTF-16 code units (model/finding.ts's Span), SARIF's default; said explicitly.
        columnKind: 'utf16CodeUnits',
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

function descriptor(r: SarifRuleInfo): ReportingDescriptor {
  const d: ReportingDescriptor = {
    id: r.id,
    shortDescription: { text: r.description },
    defaultConfiguration: { level: LEVEL[r.kind !== undefined && r.kind !== 'credential' ? 'info' : r.confidence] },
  };
  const help = r.references?.[0];
  if (help) d.helpUri = help;
  // `tags` and `precision` are what GitHub code scanning reads to file and rank an alert.
  d.properties = { provider: r.provider, confidence: r.confidence, precision: r.confidence, tags: ['security', 'secret'] };
  return d;
}

function result(f: ReportEntry, ruleIndex: number): Result {
  return {
    ruleId: f.ruleId,
    ruleIndex,
    level: LEVEL[f.confidence],
    // Built from the redacted preview only: `f.secret` is deliberately never read in this module.
    message: { text: `${f.description}: ${f.redacted}` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: artifactLocation(f.path),
          region: { startLine: f.line, startColumn: f.column, endLine: f.endLine, endColumn: f.endColumn },
        },
      },
    ],
    partialFingerprints: { [SARIF_FINGERPRINT_KEY]: f.fingerprint },
    properties: {
      confidence: f.confidence,
      entropy: f.entropy,
      ...(f.context ? { context: f.context } : {}),
      ...(f.encoding ? { encoding: f.encoding } : {}),
      provenance: provenance(f.source),
    },
  };
}

/**
 * Paths are relative to the scanned root, hence `%SRCROOT%`; each segment is percent-encoded so that
 * spaces, `#`, `?` and `%` in file names still make a valid URI reference. Stdin (`-`) has no root.
 */
function artifactLocation(path: string): { uri: string; uriBaseId?: string } {
  if (path === '-') return { uri: '-' };
  return { uri: path.split('/').map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' };
}

/** Not the commit message: free text of any length, and one `git show` away; JSON carries it. */
function provenance(s: ReportSource): Record<string, unknown> {
  const ordered = reportSource(s);
  if (ordered.kind !== 'git') return ordered;
  const { message: _message, ...rest } = ordered;
  return rest;
}
