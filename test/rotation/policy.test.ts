import { describe, expect, it } from 'vitest';
import type { RotationFindingView } from '../../rotation/finding-view.js';
import { decideRotation, globMatch, selects, selfRevokeFor, targetsFor } from '../../rotation/policy.js';
import { finding, settings, signingSecret } from './fixtures.js';

const secret = signingSecret();
const env = {
  KEYWARDEN_WEBHOOK_SECRET: secret,
  KEYWARDEN_ROTATION_WEBHOOK_URL: 'https://default.example.com/h',
};
const file = {
  targets: [
    { name: 'aws-team', url: 'https://aws.example.com/h', providers: ['AWS'] },
    { name: 'platform', url: 'https://platform.example.com/h', repositories: ['github.com/acme/**'], rules: ['github-*'] },
    { name: 'chat', type: 'notify', url: 'http://127.0.0.1:9/chat' },
    { name: 'chat-aws', type: 'notify', url: 'http://127.0.0.1:9/aws', providers: ['AWS'] },
  ],
  policy: [
    { sources: ['log'], action: 'notify' },
    { providers: ['Hugging Face'], action: 'none' },
    { repositories: ['github.com/acme/sandbox'], rules: ['github-*'], action: 'notify' },
  ],
  selfRevoke: { providers: { GitHub: 'on-sla' }, rules: { 'github-oauth-token': 'immediately' } },
};
const full = settings({ env, file });

const aws = (over: Partial<RotationFindingView> = {}) =>
  finding({
    ruleId: 'aws-access-key-id',
    provider: 'AWS',
    locations: [{ kind: 'file', repo: '/srv/ops', path: '.env', line: 3 }],
    ...over,
  });

describe('rotation policy', () => {
  type Case = {
    finding: RotationFindingView;
    liveness?: boolean;
    s?: typeof full;
    want: { action: string; rotation: string[]; notify: string[]; selfRevoke?: string; reason?: string };
  };
  const cases: Record<string, Case> = {
    'a GitHub token in acme/app: rotate at the platform team (a specific target beats the default), notify chat': {
      finding: finding(),
      want: {
        action: 'rotate',
        rotation: ['platform'],
        notify: ['chat'],
        selfRevoke: 'on-sla',
        reason: 'default: rule github-pat has a liveness check: rotate',
      },
    },
    'an AWS key: its team, and both chat targets': {
      finding: aws(),
      want: { action: 'rotate', rotation: ['aws-team'], notify: ['chat', 'chat-aws'], selfRevoke: 'never' },
    },
    'a GitHub token outside acme: the default target': {
      finding: finding({ locations: [{ kind: 'git', repo: 'github.com/other/x', path: 'a', line: 1 }] }),
      want: { action: 'rotate', rotation: ['default'], notify: ['chat'] },
    },
    'a key in a log stream: notify only (policy[0])': {
      finding: finding({ locations: [{ kind: 'log', stream: 'web/nginx', line: 9 }] }),
      want: { action: 'notify', rotation: [], notify: ['chat'], reason: 'rotation.policy[0] (sources: log): notify' },
    },
    'a Hugging Face token: recorded only (policy[1], provider compared as its env key)': {
      finding: finding({ ruleId: 'huggingface-token', provider: 'Hugging Face' }),
      want: { action: 'none', rotation: [], notify: [], reason: 'rotation.policy[1] (providers: HUGGING_FACE): none' },
    },
    'every listed field must match: sandbox + a GitHub rule -> notify': {
      finding: finding({ locations: [{ kind: 'git', repo: 'github.com/acme/sandbox', path: 'a', line: 1 }] }),
      want: { action: 'notify', rotation: [], notify: ['chat'] },
    },
    'sandbox but not a GitHub rule: policy[2] does not match -> rotate by default': {
      finding: aws({ locations: [{ kind: 'git', repo: 'github.com/acme/sandbox', path: 'a', line: 1 }] }),
      want: { action: 'rotate', rotation: ['aws-team'], notify: ['chat', 'chat-aws'] },
    },
    'one matching location of several is enough': {
      finding: finding({
        locations: [
          { kind: 'file', repo: '/tmp/x', path: 'a', line: 1 },
          { kind: 'log', stream: 's', line: 1 },
        ],
      }),
      want: { action: 'notify', rotation: [], notify: ['chat'] },
    },
    'a rule without a liveness check: notify by default': {
      finding: finding({
        ruleId: 'generic-password',
        provider: 'Generic',
        locations: [{ kind: 'file', repo: '/srv/app', path: 'x', line: 1 }],
      }),
      liveness: false,
      want: {
        action: 'notify',
        rotation: [],
        notify: ['chat'],
        reason: "default: rule generic-password has no liveness check: notify (closing needs a human's confirm_revoked)",
      },
    },
    'a rule entry beats its provider entry for self-revocation': {
      finding: finding({ ruleId: 'github-oauth-token' }),
      want: { action: 'rotate', rotation: ['platform'], notify: ['chat'], selfRevoke: 'immediately' },
    },
    'no targets at all: rotate becomes none, and says why': {
      finding: finding(),
      s: settings(),
      want: {
        action: 'none',
        rotation: [],
        notify: [],
        reason:
          'default: rule github-pat has a liveness check: rotate; no rotation target matches (set KEYWARDEN_ROTATION_WEBHOOK_URL or rotation.targets): notify; no notification target matches: none',
      },
    },
    'only a notification target: rotate becomes notify': {
      finding: finding(),
      s: settings({
        env: { KEYWARDEN_WEBHOOK_SECRET: secret },
        file: { targets: [{ name: 'chat', type: 'notify', url: 'http://127.0.0.1:9/c' }] },
      }),
      want: { action: 'notify', rotation: [], notify: ['chat'] },
    },
    'only the default target: it takes everything': {
      finding: aws(),
      s: settings({ env }),
      want: { action: 'rotate', rotation: ['default'], notify: [] },
    },
    'defaultAction notify: even a checkable key only notifies': {
      finding: finding(),
      s: settings({
        env,
        file: { defaultAction: 'notify', targets: [{ name: 'chat', type: 'notify', url: 'http://127.0.0.1:9/c' }] },
      }),
      want: { action: 'notify', rotation: [], notify: ['chat'], reason: 'rotation.defaultAction: notify' },
    },
    'defaultAction rotate: even an uncheckable key gets a request': {
      finding: finding({ ruleId: 'generic-password', provider: 'Generic' }),
      liveness: false,
      s: settings({ env, file: { defaultAction: 'rotate' } }),
      want: { action: 'rotate', rotation: ['default'], notify: [], reason: 'rotation.defaultAction: rotate' },
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const d = decideRotation(c.finding, { hasLivenessCheck: c.liveness ?? true }, c.s ?? full);
      expect(d.action).toBe(c.want.action);
      expect(d.rotationTargets.map((t) => t.name)).toEqual(c.want.rotation);
      expect(d.notifyTargets.map((t) => t.name)).toEqual(c.want.notify);
      if (c.want.selfRevoke) expect(d.selfRevoke).toBe(c.want.selfRevoke);
      if (c.want.reason) expect(d.reason).toBe(c.want.reason);
    });
  }

  it('targetsFor ignores the policy (the emergency `keywarden rotate` path)', () => {
    const t = targetsFor(finding({ ruleId: 'huggingface-token', provider: 'Hugging Face' }), full);
    expect([t.rotation.map((x) => x.name), t.notify.map((x) => x.name)]).toEqual([['default'], ['chat']]);
  });

  it('self-revocation defaults to never', () => {
    expect(selfRevokeFor(finding(), settings())).toBe('never');
    expect(selfRevokeFor(finding(), settings({ file: { selfRevoke: { default: 'on-sla' } } }))).toBe('on-sla');
  });
});

describe('glob matching of repositories and rule ids', () => {
  const cases: Array<[string, string, boolean]> = [
    ['github.com/acme/*', 'github.com/acme/app', true],
    ['github.com/acme/*', 'github.com/acme/app/sub', false],
    ['github.com/acme/**', 'github.com/acme/app/sub', true],
    ['github.com/**/app', 'github.com/acme/app', true],
    ['github.com/**/app', 'github.com/app', true],
    ['**/app', 'app', true],
    ['**/app', 'xapp', false],
    ['**/app', 'github.com/x/app', true],
    ['GitHub.com/Acme/*', 'github.com/acme/App', true],
    ['github-*', 'github-pat', true],
    ['github-*', 'gitlab-pat', false],
    ['/srv/*/repo', '/srv/a/repo', true],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['*', '', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
  ];
  for (const [pattern, text, want] of cases) {
    it(`${pattern} ${want ? 'matches' : 'does not match'} ${JSON.stringify(text)}`, () =>
      expect(globMatch(pattern, text)).toBe(want));
  }

  it('stays linear on a hostile path', () => {
    // A backtracking matcher takes exponential time here; the state walk takes a few milliseconds.
    expect(globMatch('**a**a**a**a**a**a**b', 'a'.repeat(5000))).toBe(false);
  });
});

describe('repositories as the store names them', () => {
  it('a selector without the scheme matches the https:// name the store records for a remote', () => {
    const f = finding({ locations: [{ kind: 'git', repo: 'https://github.com/acme/app', path: 'a', line: 1 }] });
    expect(selects({ repositories: ['github.com/acme/**'] }, f)).toBe(true);
    expect(selects({ repositories: ['https://github.com/acme/*'] }, f)).toBe(true);
    expect(selects({ repositories: ['github.com/other/**'] }, f)).toBe(false);
  });
});
