import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  parseDuration,
  parseSecretKey,
  providerKey,
  RAW_SECRETS_OFF_MESSAGE,
  ROTATION_ENV,
  type RotationSettings,
  type RotationSettingsInput,
  rotationSettings,
  unknownRotationNames,
} from '../../config/sections/rotation.js';

// Built at test time: no key-shaped text in the repository.
const signing = `signing-${randomBytes(8).toString('hex')}`;
const hexKey = randomBytes(32).toString('hex');

function ok(input: RotationSettingsInput): RotationSettings {
  const r = rotationSettings(input);
  if (!r.ok) throw new Error(`expected valid settings, got:\n${r.problems.join('\n')}`);
  return r.settings;
}

function problems(input: RotationSettingsInput): string[] {
  const r = rotationSettings(input);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
}

describe('durations: one parser', () => {
  const cases: Record<string, number | null> = {
    '0s': 0,
    '0': 0,
    '500ms': 500,
    '30s': 30_000,
    '15m': 900_000,
    '4h': 14_400_000,
    '7d': 604_800_000,
    '1h30m': 5_400_000,
    '1.5s': 1500,
    ' 2m ': 120_000,
    '30': null,
    '': null,
    '-1s': null,
    '5 m': null,
    '1w': null,
    abc: null,
    '1h 30m': null,
  };
  for (const [text, want] of Object.entries(cases)) {
    it(`${JSON.stringify(text)} -> ${want}`, () => expect(parseDuration(text)).toBe(want));
  }
  it('formats back to the shortest exact form', () => {
    expect([0, 500, 30_000, 90_000, 86_400_000, 93_784_005].map(formatDuration)).toEqual([
      '0s',
      '500ms',
      '30s',
      '1m30s',
      '1d',
      '1d2h3m4s5ms',
    ]);
  });
});

describe('provider keys', () => {
  const cases: Record<string, string> = {
    GitHub: 'GITHUB',
    'Hugging Face': 'HUGGING_FACE',
    'Fly.io': 'FLY_IO',
    'Microsoft Azure DevOps': 'MICROSOFT_AZURE_DEVOPS',
    'crates.io': 'CRATES_IO',
    ' npm ': 'NPM',
    'hugging-face': 'HUGGING_FACE',
  };
  for (const [name, key] of Object.entries(cases)) it(`${name} -> ${key}`, () => expect(providerKey(name)).toBe(key));
});

describe('secret key formats', () => {
  const raw = randomBytes(32);
  const cases: Record<string, { text: string; ok: boolean }> = {
    '64 hex digits': { text: raw.toString('hex'), ok: true },
    '64 upper-case hex digits': { text: raw.toString('hex').toUpperCase(), ok: true },
    'base64 of 32 bytes': { text: raw.toString('base64'), ok: true },
    'base64 without padding': { text: raw.toString('base64').replace(/=$/, ''), ok: true },
    'base64url of 32 bytes': { text: raw.toString('base64url'), ok: true },
    '63 hex digits': { text: raw.toString('hex').slice(1), ok: false },
    'base64 of 16 bytes': { text: raw.subarray(0, 16).toString('base64'), ok: false },
    'base64 of 48 bytes': { text: randomBytes(48).toString('base64'), ok: false },
    'a passphrase': { text: 'correct horse battery staple, long enough', ok: false },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(`${c.ok ? 'accepts' : 'refuses'} ${name}`, () => {
      const k = parseSecretKey(c.text);
      if (c.ok) expect(k?.equals(raw)).toBe(true);
      else expect(k).toBeNull();
    });
  }
});

describe('rotation settings: defaults', () => {
  it('with nothing set: no targets, the documented defaults, raw secrets off with the message', () => {
    const r = rotationSettings({ env: {} });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const s = r.settings;
    expect(s.publicUrl).toBe('http://127.0.0.1:8787');
    expect(s.targets).toEqual([]);
    expect(s.defaultTarget).toBeNull();
    expect(s.webhookSecret).toBeNull();
    expect(s.revocation).toEqual({
      firstPollMs: 30_000,
      pollIntervalMs: 60_000,
      maxPollIntervalMs: 3_600_000,
      backoffFactor: 2,
      slaMs: 86_400_000,
    });
    expect(s.delivery).toEqual({
      attempts: 10,
      timeoutMs: 10_000,
      backoffMs: 2000,
      maxBackoffMs: 600_000,
      maxRetryAfterMs: 3_600_000,
    });
    expect(s.callbackTokenTtlMs).toBe(7 * 86_400_000);
    expect(s.defaultAction).toBe('auto');
    expect(s.selfRevoke).toEqual({ default: 'never', providers: {}, rules: {} });
    expect(s.rawSecrets).toEqual({ kept: false, message: RAW_SECRETS_OFF_MESSAGE });
    expect(RAW_SECRETS_OFF_MESSAGE).toContain('KEYWARDEN_SECRET_KEY is not set');
    expect(RAW_SECRETS_OFF_MESSAGE).toContain('liveness checks');
    expect(r.warnings).toEqual([RAW_SECRETS_OFF_MESSAGE]);
  });

  it('the default public URL follows the API port', () => {
    expect(ok({ env: {}, apiPort: 9123 }).publicUrl).toBe('http://127.0.0.1:9123');
  });

  it('is frozen, and secrets print as [redacted] however they are printed', () => {
    const s = ok({
      env: {
        [ROTATION_ENV.webhookUrl]: 'http://127.0.0.1:1/h',
        [ROTATION_ENV.webhookSecret]: signing,
        [ROTATION_ENV.secretKey]: hexKey,
      },
    });
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.targets[0])).toBe(true);
    expect(Object.isFrozen(s.revocation)).toBe(true);
    for (const text of [
      JSON.stringify(s),
      inspect(s, { depth: 10 }),
      String(s.webhookSecret),
      `${s.targets[0]?.signingSecret}`,
    ]) {
      expect(text).not.toContain(signing);
      expect(text).not.toContain(hexKey);
    }
    expect(JSON.stringify(s)).toContain('[redacted]');
    expect(s.webhookSecret?.reveal()).toBe(signing);
    expect(s.rawSecrets.kept && s.rawSecrets.key.reveal().toString('hex')).toBe(hexKey);
  });
});

describe('rotation settings: every environment variable', () => {
  type Case = { env: Record<string, string>; check: (s: RotationSettings) => void };
  const base = { [ROTATION_ENV.webhookSecret]: signing };
  const cases: Record<string, Case> = {
    'KEYWARDEN_ROTATION_WEBHOOK_URL is the default target': {
      env: { ...base, KEYWARDEN_ROTATION_WEBHOOK_URL: 'https://rotate.example.com/keywarden' },
      check: (s) => {
        expect(s.defaultTarget).toMatchObject({
          name: 'default',
          type: 'rotation',
          url: 'https://rotate.example.com/keywarden',
          origin: 'KEYWARDEN_ROTATION_WEBHOOK_URL',
        });
        expect(s.targets).toEqual([s.defaultTarget]);
        expect(s.defaultTarget?.signingSecret.reveal()).toBe(signing);
      },
    },
    'KEYWARDEN_WEBHOOK_SECRET is the signing secret': {
      env: { KEYWARDEN_WEBHOOK_SECRET: signing },
      check: (s) => expect(s.webhookSecret?.reveal()).toBe(signing),
    },
    'KEYWARDEN_PUBLIC_URL is the callback base, without a trailing slash': {
      env: { KEYWARDEN_PUBLIC_URL: 'https://keywarden.example.com/base/' },
      check: (s) => expect(s.publicUrl).toBe('https://keywarden.example.com/base'),
    },
    'KEYWARDEN_SECRET_KEY as hex keeps raw secrets': {
      env: { KEYWARDEN_SECRET_KEY: hexKey },
      check: (s) => expect(s.rawSecrets.kept && s.rawSecrets.key.reveal().toString('hex')).toBe(hexKey),
    },
    'KEYWARDEN_SECRET_KEY as base64': {
      env: { KEYWARDEN_SECRET_KEY: Buffer.from(hexKey, 'hex').toString('base64') },
      check: (s) => expect(s.rawSecrets.kept && s.rawSecrets.key.reveal().toString('hex')).toBe(hexKey),
    },
    KEYWARDEN_REVOCATION_FIRST_POLL: {
      env: { KEYWARDEN_REVOCATION_FIRST_POLL: '0s' },
      check: (s) => expect(s.revocation.firstPollMs).toBe(0),
    },
    KEYWARDEN_REVOCATION_POLL_INTERVAL: {
      env: { KEYWARDEN_REVOCATION_POLL_INTERVAL: '500ms' },
      check: (s) => expect(s.revocation.pollIntervalMs).toBe(500),
    },
    'KEYWARDEN_REVOCATION_POLL_INTERVAL above the default cap raises the cap': {
      env: { KEYWARDEN_REVOCATION_POLL_INTERVAL: '4h' },
      check: (s) => expect([s.revocation.pollIntervalMs, s.revocation.maxPollIntervalMs]).toEqual([14_400_000, 14_400_000]),
    },
    KEYWARDEN_ROTATION_SLA: {
      env: { KEYWARDEN_ROTATION_SLA: '15m', KEYWARDEN_ROTATION_SLA_UNUSED: 'x' },
      check: (s) => expect(s.revocation.slaMs).toBe(900_000),
    },
    'an empty plain variable counts as unset (compose ${VAR:-})': {
      env: { KEYWARDEN_ROTATION_WEBHOOK_URL: '', KEYWARDEN_PUBLIC_URL: ' ', KEYWARDEN_ROTATION_SLA: '' },
      check: (s) => {
        expect(s.targets).toEqual([]);
        expect(s.publicUrl).toBe('http://127.0.0.1:8787');
        expect(s.revocation.slaMs).toBe(86_400_000);
      },
    },
  };
  for (const [name, c] of Object.entries(cases)) it(name, () => c.check(ok({ env: c.env })));

  it('the environment overrides the config file, setting by setting', () => {
    const file = {
      webhookUrl: 'https://file.example.com/hook',
      webhookSecret: `file-${signing}`,
      publicUrl: 'https://file.example.com',
      secretKey: randomBytes(32).toString('hex'),
      sla: '48h',
      revocation: { firstPoll: '1m', pollInterval: '2m' },
    };
    const fromFile = ok({ file, env: {} });
    expect(fromFile.defaultTarget?.url).toBe('https://file.example.com/hook');
    expect(fromFile.defaultTarget?.origin).toBe('rotation.webhookUrl');
    expect(fromFile.webhookSecret?.reveal()).toBe(`file-${signing}`);
    expect(fromFile.publicUrl).toBe('https://file.example.com');
    expect(fromFile.revocation).toMatchObject({ firstPollMs: 60_000, pollIntervalMs: 120_000, slaMs: 172_800_000 });

    const s = ok({
      file,
      env: {
        KEYWARDEN_ROTATION_WEBHOOK_URL: 'https://env.example.com/hook',
        KEYWARDEN_WEBHOOK_SECRET: signing,
        KEYWARDEN_PUBLIC_URL: 'https://env.example.com',
        KEYWARDEN_SECRET_KEY: hexKey,
        KEYWARDEN_REVOCATION_FIRST_POLL: '5s',
        KEYWARDEN_REVOCATION_POLL_INTERVAL: '10s',
        KEYWARDEN_ROTATION_SLA: '1h',
      },
    });
    expect(s.defaultTarget?.url).toBe('https://env.example.com/hook');
    expect(s.webhookSecret?.reveal()).toBe(signing);
    expect(s.publicUrl).toBe('https://env.example.com');
    expect(s.rawSecrets.kept && s.rawSecrets.key.reveal().toString('hex')).toBe(hexKey);
    expect(s.revocation).toMatchObject({ firstPollMs: 5000, pollIntervalMs: 10_000, slaMs: 3_600_000 });
  });

  it('warns when targets are set but the public URL is the loopback default', () => {
    const r = rotationSettings({
      env: {
        KEYWARDEN_ROTATION_WEBHOOK_URL: 'https://r.example.com/h',
        KEYWARDEN_WEBHOOK_SECRET: signing,
        KEYWARDEN_SECRET_KEY: hexKey,
      },
    });
    expect(r.ok && r.warnings).toEqual([
      'KEYWARDEN_PUBLIC_URL is not set: receivers are told to call back http://127.0.0.1:8787, which works only on this machine',
    ]);
  });
});

describe('rotation settings: bad values, each message naming its variable', () => {
  const cases: Record<string, { env?: Record<string, string>; file?: unknown; want: string[] }> = {
    'a target without a signing secret': {
      env: { KEYWARDEN_ROTATION_WEBHOOK_URL: 'https://r.example.com/h' },
      want: [
        'KEYWARDEN_WEBHOOK_SECRET: required when a rotation or notification target is set (KEYWARDEN_ROTATION_WEBHOOK_URL or rotation.targets); at least 16 characters',
      ],
    },
    'a file target without a signing secret': {
      file: { targets: [{ name: 'chat', type: 'notify', url: 'http://127.0.0.1:9/chat' }] },
      want: [
        'KEYWARDEN_WEBHOOK_SECRET: required when a rotation or notification target is set (KEYWARDEN_ROTATION_WEBHOOK_URL or rotation.targets); at least 16 characters',
      ],
    },
    'a short signing secret': {
      env: { KEYWARDEN_WEBHOOK_SECRET: 'short-secret' },
      want: ['KEYWARDEN_WEBHOOK_SECRET: must be at least 16 characters; got 12'],
    },
    'an empty signing secret (a CI secret that did not expand)': {
      env: { KEYWARDEN_WEBHOOK_SECRET: '' },
      want: ['KEYWARDEN_WEBHOOK_SECRET: must be at least 16 characters; got 0'],
    },
    'a webhook URL that is not http(s)': {
      env: { KEYWARDEN_ROTATION_WEBHOOK_URL: 'ftp://r.example.com/h', KEYWARDEN_WEBHOOK_SECRET: signing },
      want: ['KEYWARDEN_ROTATION_WEBHOOK_URL: must be http:// or https://, not ftp://'],
    },
    'a webhook URL that is not a URL': {
      env: { KEYWARDEN_ROTATION_WEBHOOK_URL: 'rotate.example.com/h', KEYWARDEN_WEBHOOK_SECRET: signing },
      want: ['KEYWARDEN_ROTATION_WEBHOOK_URL: must be an absolute http:// or https:// URL'],
    },
    'a webhook URL with credentials': {
      env: { KEYWARDEN_ROTATION_WEBHOOK_URL: 'https://user:pw@r.example.com/h', KEYWARDEN_WEBHOOK_SECRET: signing },
      want: [
        'KEYWARDEN_ROTATION_WEBHOOK_URL: must not carry a user name or password (put a token in the path or use the signature)',
      ],
    },
    'a public URL with a query': {
      env: { KEYWARDEN_PUBLIC_URL: 'https://k.example.com/?x=1' },
      want: ['KEYWARDEN_PUBLIC_URL: must not have a ?query'],
    },
    'a secret key of the wrong length': {
      env: { KEYWARDEN_SECRET_KEY: hexKey.slice(2) },
      want: ['KEYWARDEN_SECRET_KEY: must be 64 hex digits or the base64 of 32 bytes (openssl rand -hex 32); got 62 characters'],
    },
    'an empty secret key': {
      env: { KEYWARDEN_SECRET_KEY: '' },
      want: ['KEYWARDEN_SECRET_KEY: must be 64 hex digits or the base64 of 32 bytes (openssl rand -hex 32); got 0 characters'],
    },
    'a first poll without a unit': {
      env: { KEYWARDEN_REVOCATION_FIRST_POLL: '30' },
      want: ['KEYWARDEN_REVOCATION_FIRST_POLL: expected a duration such as 0s, 500ms, 15m or 4h; got "30"'],
    },
    'a poll interval of zero': {
      env: { KEYWARDEN_REVOCATION_POLL_INTERVAL: '0s' },
      want: ['KEYWARDEN_REVOCATION_POLL_INTERVAL: must be at least 1ms; got "0s"'],
    },
    'an SLA in words': {
      env: { KEYWARDEN_ROTATION_SLA: 'one day' },
      want: ['KEYWARDEN_ROTATION_SLA: expected a duration such as 0s, 500ms, 15m or 4h; got "one day"'],
    },
    'every problem at once': {
      env: {
        KEYWARDEN_REVOCATION_FIRST_POLL: 'soon',
        KEYWARDEN_ROTATION_SLA: '2',
        KEYWARDEN_SECRET_KEY: 'x',
        KEYWARDEN_ROTATION_WEBHOOK_URL: 'https://r.example.com/h',
      },
      file: { sla: '1d', nonsense: true },
      want: [
        '.keywarden.yaml > rotation: unknown field "nonsense"',
        'KEYWARDEN_REVOCATION_FIRST_POLL: expected a duration such as 0s, 500ms, 15m or 4h; got "soon"',
        'KEYWARDEN_ROTATION_SLA: expected a duration such as 0s, 500ms, 15m or 4h; got "2"',
        'KEYWARDEN_SECRET_KEY: must be 64 hex digits or the base64 of 32 bytes (openssl rand -hex 32); got 1 characters',
        'KEYWARDEN_WEBHOOK_SECRET: required when a rotation or notification target is set (KEYWARDEN_ROTATION_WEBHOOK_URL or rotation.targets); at least 16 characters',
      ],
    },
    'file fields with their place': {
      file: {
        sla: '24',
        revocation: { firstPoll: 'later', backoffFactor: 0.5 },
        targets: [
          { name: 'a', url: 'https://a.example.com/h', urlEnv: 'A_URL' },
          { name: 'a', url: 'mailto:x@example.com' },
          { name: 'default', url: 'https://d.example.com' },
        ],
        policy: [{ providers: ['GitHub'], action: 'explode' }],
        selfRevoke: { providers: { GitHub: 'sometimes' } },
      },
      want: [
        '.keywarden.yaml > rotation.sla: expected a duration such as 0s, 500ms, 15m or 4h',
        '.keywarden.yaml > rotation.revocation.firstPoll: expected a duration such as 0s, 500ms, 15m or 4h',
        '.keywarden.yaml > rotation.revocation.backoffFactor: Too small: expected number to be >=1',
        '.keywarden.yaml > rotation.targets[0].url: give exactly one of url or urlEnv',
        '.keywarden.yaml > rotation.targets[1].url: must be http:// or https://, not mailto://',
        '.keywarden.yaml > rotation.targets[2].name: "default" is the KEYWARDEN_ROTATION_WEBHOOK_URL target\'s name',
        '.keywarden.yaml > rotation.targets[1].name: a is listed twice',
        '.keywarden.yaml > rotation.policy[0].action: Invalid option: expected one of "rotate"|"notify"|"none"',
        '.keywarden.yaml > rotation.selfRevoke.providers.GitHub: Invalid option: expected one of "never"|"on-sla"|"immediately"',
      ],
    },
    'a target URL from an unset variable, and a short per-target secret': {
      env: { KEYWARDEN_WEBHOOK_SECRET: signing, AWS_TEAM_SECRET: 'short' },
      file: {
        targets: [
          { name: 'chat', type: 'notify', urlEnv: 'CHAT_WEBHOOK_URL' },
          { name: 'aws', url: 'https://aws.example.com/h', secretEnv: 'AWS_TEAM_SECRET' },
        ],
      },
      want: [
        'CHAT_WEBHOOK_URL: not set (the URL of rotation.targets[0], chat)',
        'AWS_TEAM_SECRET: must be at least 16 characters; got 5 (the signing secret of rotation.targets[1], aws)',
      ],
    },
    'a token lifetime shorter than the SLA': {
      env: { KEYWARDEN_ROTATION_SLA: '48h' },
      file: { callbackTokenTtl: '1d' },
      want: [
        '.keywarden.yaml > rotation.callbackTokenTtl: must be at least the SLA (2d), or a receiver acting in time is refused',
      ],
    },
    'a configured cap below the interval': {
      file: { revocation: { pollInterval: '10m', maxPollInterval: '5m' } },
      want: ['.keywarden.yaml > rotation.revocation.maxPollInterval: must be at least the poll interval (10m)'],
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => expect(problems({ env: c.env ?? {}, file: c.file })).toEqual(c.want));
  }

  it('never quotes a secret or a URL in a message', () => {
    const urlToken = randomBytes(12).toString('hex');
    const p = problems({
      env: {
        KEYWARDEN_SECRET_KEY: `${hexKey}00`,
        KEYWARDEN_WEBHOOK_SECRET: signing.slice(0, 10),
        KEYWARDEN_ROTATION_WEBHOOK_URL: `ftp://h.example.com/${urlToken}`,
      },
    }).join('\n');
    expect(p).not.toContain(hexKey);
    expect(p).not.toContain(signing.slice(0, 10));
    expect(p).not.toContain(urlToken);
  });

  it('names the file it was given', () => {
    expect(problems({ env: {}, file: { sla: 'x' }, fileName: 'deploy/keywarden.yaml' })).toEqual([
      'deploy/keywarden.yaml > rotation.sla: expected a duration such as 0s, 500ms, 15m or 4h',
    ]);
  });

  it('parsing an already parsed section changes nothing', () => {
    const file = { sla: '2h', revocation: { firstPoll: '1s' }, targets: [{ name: 'x', url: 'https://x.example.com/h' }] };
    const once = ok({ file, env: { KEYWARDEN_WEBHOOK_SECRET: signing } });
    expect(once.revocation.slaMs).toBe(7_200_000);
    expect(once.targets.map((t) => [t.name, t.type, t.url])).toEqual([['x', 'rotation', 'https://x.example.com/h']]);
  });
});

describe('rotation settings: targets, policy and self-revocation from the file', () => {
  const env = {
    KEYWARDEN_WEBHOOK_SECRET: signing,
    KEYWARDEN_ROTATION_WEBHOOK_URL: 'https://default.example.com/h',
    CHAT_URL: 'http://127.0.0.1:9/chat',
    AWS_SECRET: `aws-${signing}`,
  };
  const file = {
    targets: [
      { name: 'aws-team', url: 'https://aws.example.com/h', providers: ['AWS'], secretEnv: 'AWS_SECRET' },
      { name: 'platform', url: 'https://platform.example.com/h', repositories: ['github.com/acme/**'], rules: ['github-*'] },
      { name: 'chat', type: 'notify', urlEnv: 'CHAT_URL', sources: ['git', 'github-alert'] },
    ],
    policy: [
      { sources: ['log'], action: 'notify' },
      { providers: ['Hugging Face'], action: 'none' },
    ],
    defaultAction: 'auto',
    selfRevoke: {
      default: 'never',
      providers: { GitHub: 'on-sla', 'hugging face': 'immediately' },
      rules: { 'slack-bot-token': 'immediately' },
    },
  };

  it('keeps the default target first, then the file order, each with its secret and selector', () => {
    const s = ok({ env, file });
    expect(s.targets.map((t) => [t.name, t.type, t.url, t.origin])).toEqual([
      ['default', 'rotation', 'https://default.example.com/h', 'KEYWARDEN_ROTATION_WEBHOOK_URL'],
      ['aws-team', 'rotation', 'https://aws.example.com/h', 'rotation.targets[0]'],
      ['platform', 'rotation', 'https://platform.example.com/h', 'rotation.targets[1]'],
      ['chat', 'notify', 'http://127.0.0.1:9/chat', 'rotation.targets[2]'],
    ]);
    expect(s.targets[1]?.signingSecret.reveal()).toBe(`aws-${signing}`);
    expect(s.targets[2]?.signingSecret.reveal()).toBe(signing);
    expect(s.targets[1]?.match).toEqual({ providers: ['AWS'] });
    expect(s.targets[3]?.match).toEqual({ sources: ['git', 'github-alert'] });
    expect(s.policy).toEqual([
      { sources: ['log'], action: 'notify' },
      { providers: ['HUGGING_FACE'], action: 'none' },
    ]);
    expect(s.selfRevoke).toEqual({
      default: 'never',
      providers: { GITHUB: 'on-sla', HUGGING_FACE: 'immediately' },
      rules: { 'slack-bot-token': 'immediately' },
    });
  });

  it('lists names that match no loaded rule or provider (a typo would silently do nothing)', () => {
    const s = ok({ env, file });
    expect(unknownRotationNames(s, { ruleIds: ['github-pat', 'aws-access-key-id'], providers: ['GitHub', 'AWS'] })).toEqual([
      'rotation.policy[1].providers: no rule has provider HUGGING_FACE',
      'rotation.selfRevoke.providers: no rule has provider HUGGING_FACE',
      'rotation.selfRevoke.rules: no rule has id slack-bot-token',
    ]);
    expect(unknownRotationNames(s, { ruleIds: ['aws-access-key-id'], providers: ['GitHub', 'AWS', 'Hugging Face'] })).toEqual([
      'rotation.targets[1].rules: no rule matches github-*',
      'rotation.selfRevoke.rules: no rule has id slack-bot-token',
    ]);
  });
});
