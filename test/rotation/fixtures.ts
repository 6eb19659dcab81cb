// Findings and settings for rotation tests, built at test time (random fingerprints and secrets).
import { randomBytes } from 'node:crypto';
import { type RotationSettings, type RotationSettingsInput, rotationSettings } from '../../config/sections/rotation.js';
import type { RotationFindingView } from '../../rotation/finding-view.js';

export function randomFingerprint(): string {
  return `kw1:${randomBytes(16).toString('hex')}`;
}

/** A signing secret of the required length, new each run. */
export function signingSecret(): string {
  return `test-signing-${randomBytes(12).toString('hex')}`;
}

export function finding(over: Partial<RotationFindingView> = {}): RotationFindingView {
  return {
    fingerprint: randomFingerprint(),
    ruleId: 'github-pat',
    provider: 'GitHub',
    redacted: 'ghp_…a1b2',
    firstSeen: '2026-01-02T03:04:05.000Z',
    locations: [
      {
        kind: 'git',
        repo: 'github.com/acme/app',
        commit: 'c0ffee0123456789c0ffee0123456789c0ffee01',
        path: 'src/config.ts',
        line: 12,
      },
    ],
    ...over,
  };
}

export function settings(input: Partial<RotationSettingsInput> = {}): RotationSettings {
  const r = rotationSettings({ env: {}, ...input });
  if (!r.ok) throw new Error(`test settings invalid:\n${r.problems.join('\n')}`);
  return r.settings;
}
