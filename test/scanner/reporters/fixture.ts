// A hand-built Report for the reporter tests and golden files. Secrets are generated from a seeded
// generator at test time (never committed); fingerprints use a fixed test key.

import { seededRng } from '../../../rules/examples.js';
import { fingerprint } from '../../../scanner/fingerprint.js';
import { redactPreview } from '../../../scanner/redact.js';
import type { Report, ReportEntry } from '../../../scanner/report.js';
import type { SarifRuleInfo } from '../../../scanner/reporters/index.js';

/** The goldens' seeded PRNG: previews and fingerprints never change. */
export const seeded = seededRng;

export const TEST_KEY = Buffer.from('reporter-golden-test-key-0123456789', 'utf8');

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomString(rng: () => number, n: number, alphabet = BASE62): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rng() * alphabet.length)];
  return s;
}

export const RULES: SarifRuleInfo[] = [
  {
    id: 'github-pat',
    description: 'GitHub classic personal access token',
    provider: 'GitHub',
    references: ['https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/'],
    confidence: 'high',
  },
  { id: 'generic-api-key', description: 'Generic API key assignment', provider: 'generic', references: [], confidence: 'medium' },
];

function finding(
  ruleId: string,
  secret: string,
  rest: Omit<ReportEntry, 'ruleId' | 'description' | 'fingerprint' | 'redacted' | 'confidence'>,
): ReportEntry {
  const rule = RULES.find((r) => r.id === ruleId)!;
  return {
    ruleId,
    description: rule.description,
    ...rest,
    fingerprint: fingerprint(TEST_KEY, ruleId, secret),
    redacted: redactPreview(secret),
    confidence: rule.confidence,
  };
}

export interface Fixture {
  report: Report;
  /** The generated secrets, for asserting that none leaks. */
  secrets: string[];
}

/** Two findings: a GitHub token in a working-tree file, a generic key found in git history. */
export function buildFixture(opts: { showSecrets?: boolean } = {}): Fixture {
  const rng = seeded(20240601);
  const ghp = `ghp_${randomString(rng, 36)}`;
  const generic = randomString(rng, 32, '0123456789abcdef');
  const findings: ReportEntry[] = [
    finding('github-pat', ghp, {
      path: 'src/app.js',
      line: 2,
      column: 16,
      endLine: 2,
      endColumn: 16 + ghp.length,
      entropy: 5.018,
      context: 'code',
      source: { kind: 'file' },
    }),
    finding('generic-api-key', generic, {
      path: 'config/my settings#1.yaml',
      line: 7,
      column: 10,
      endLine: 7,
      endColumn: 10 + generic.length,
      entropy: 3.875,
      context: 'code',
      encoding: 'base64',
      source: {
        kind: 'git',
        commit: '0123456789abcdef0123456789abcdef01234567',
        author: 'Ada Example',
        email: 'ada@example.com',
        date: '2024-06-01T12:00:00Z',
        message: 'add settings',
      },
    }),
  ];
  if (opts.showSecrets) {
    findings[0]!.secret = ghp;
    findings[1]!.secret = generic;
  }
  const report: Report = {
    version: 1,
    tool: { name: 'keywarden', version: '0.1.0' },
    findings,
    stats: {
      files: 42,
      bytes: 1_234_567,
      skipped: { binary: 3, tooLarge: 1, unreadable: 1, excluded: 0, symlink: 2 },
      durationMs: 321.5,
      errors: [{ path: 'locked/file.txt', code: 'EACCES', message: 'permission denied' }],
    },
  };
  return { report, secrets: [ghp, generic] };
}
