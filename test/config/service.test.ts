import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigDocument } from '../../config/file.js';
import { keywardenPaths } from '../../config/paths.js';
import { type LoadServiceConfigOptions, loadServiceConfig, SECTIONS, SERVICE_FILE_KEYS } from '../../config/service.js';
import { parseYaml } from '../../config/yaml.js';
import type { KeywardenError } from '../../errors/error.js';
import { parseConfig } from '../../scanner/config-file.js';

const TOKEN = 'service-config-test-token-0123456789';
const OTHER = 'another-service-config-token-0123456789';

/** The config file as start-up parses it. */
function doc(yaml: string): ConfigDocument {
  return { path: '/srv/kw/.keywarden.yaml', file: '.keywarden.yaml', text: yaml, data: parseYaml(yaml, '.keywarden.yaml') };
}

function failure(opts: LoadServiceConfigOptions): KeywardenError {
  try {
    loadServiceConfig(opts);
  } catch (err) {
    return err as KeywardenError;
  }
  throw new Error('expected KW_CONFIG_INVALID');
}

describe('loadServiceConfig', () => {
  it('documents defaults that hold with an empty environment and no file', () => {
    const c = loadServiceConfig({ env: { HOME: '/home/kw' } });
    expect(c.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'keywarden' });
    expect(c.api).toEqual({ host: '127.0.0.1', port: 8787 });
    expect(c.intake).toEqual({
      enabled: false,
      bodyLimit: 10 * 1024 * 1024,
      spoolDir: '/home/kw/.local/state/keywarden/intake-spool',
    });
    expect(c.log).toEqual({ level: 'info' });
    expect(c.fingerprint).toEqual({});
    expect(c.paths).toEqual({
      configDir: '/home/kw/.config/keywarden',
      cacheDir: '/home/kw/.cache/keywarden',
      stateDir: '/home/kw/.local/state/keywarden',
    });
    expect(c.file).toBeNull();
  });

  it('is frozen all the way down', () => {
    const c = loadServiceConfig({ env: { KEYWARDEN_API_TOKEN: TOKEN } });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.api)).toBe(true);
    expect(Object.isFrozen(c.childEnv)).toBe(true);
    expect(() => {
      (c.api as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('takes the file, then the environment over it, then flags over both', () => {
    const document = doc('api: {host: 0.0.0.0, port: 9000}\nredis: {prefix: from-file}\nlog: {level: warn}\n');
    const fromFile = loadServiceConfig({ env: {}, document });
    expect(fromFile.api).toMatchObject({ host: '0.0.0.0', port: 9000 });
    expect(fromFile.redis.prefix).toBe('from-file');
    expect(fromFile.log.level).toBe('warn');
    expect(fromFile.file).toBe('.keywarden.yaml');

    const env = { KEYWARDEN_API_PORT: '9100', KEYWARDEN_PREFIX: 'from-env' };
    const fromEnv = loadServiceConfig({ env, document });
    expect(fromEnv.api).toMatchObject({ host: '0.0.0.0', port: 9100 });
    expect(fromEnv.redis.prefix).toBe('from-env');

    const fromFlags = loadServiceConfig({ env, document, flags: { 'api.port': { value: '0', name: '--port' } } });
    expect(fromFlags.api.port).toBe(0);
  });

  it('treats an empty variable as unset, except the fingerprint key (a CI secret that failed to expand)', () => {
    expect(loadServiceConfig({ env: { REDIS_URL: '', KEYWARDEN_API_HOST: '' } }).redis.url).toBe('redis://127.0.0.1:6379');
    const err = failure({ env: { KEYWARDEN_FINGERPRINT_KEY: '' } });
    expect(err.message).toBe('KEYWARDEN_FINGERPRINT_KEY must be at least 16 characters');
  });

  it('reports every problem at once, each naming its variable, never its value', () => {
    const err = failure({
      env: {
        REDIS_URL: 'http://redis:6379',
        KEYWARDEN_API_TOKEN: 'short secret',
        KEYWARDEN_API_PORT: '99999',
        KEYWARDEN_INTAKE: 'maybe',
        KEYWARDEN_LOG_LEVEL: 'loud',
        KEYWARDEN_PREFIX: 'a:b',
      },
    });
    expect(err.code).toBe('KW_CONFIG_INVALID');
    expect(err.message).toBe('invalid service configuration (6 problems)');
    expect([...err.details].sort()).toEqual(
      [
        'REDIS_URL: must start with redis:// or rediss://',
        'KEYWARDEN_PREFIX: may hold letters, digits, _ . - only',
        'KEYWARDEN_API_PORT: must be a port number 0..65535; got "99999"',
        'KEYWARDEN_API_TOKEN: must be at least 16 characters with no whitespace',
        'KEYWARDEN_INTAKE: must be 1, true, yes, on or 0, false, no, off; got "maybe"',
        'KEYWARDEN_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
      ].sort(),
    );
    expect(JSON.stringify(err)).not.toContain('short secret');
  });

  it('says a required setting is not set, in one line with a hint', () => {
    const err = failure({
      env: {},
      require: { 'api.token': { why: 'the server refuses to start without a token', hint: 'make one' } },
    });
    expect(err.message).toBe('KEYWARDEN_API_TOKEN is not set; the server refuses to start without a token');
    expect(err.details).toEqual(['make one']);
  });

  it('names the file and field for a problem in the file, and the flag for a problem in a flag', () => {
    const err = failure({
      env: {},
      document: doc('api: {port: high, hots: x}\n'),
      flags: { 'intake.downstreamUrl': { value: 'ftp://logs', name: '--intake-downstream' } },
    });
    expect([...err.details].sort()).toEqual(
      [
        '.keywarden.yaml > api: unknown field "hots"',
        '.keywarden.yaml > api.port: must be a port number 0..65535; got "high"',
        '--intake-downstream: must be an http:// or https:// URL',
      ].sort(),
    );
  });

  it('refuses a token in the config file: the file is usually committed', () => {
    const err = failure({ env: {}, document: doc(`api:\n  token: ${TOKEN}\n`) });
    expect(err.message).toMatch(/^\.keywarden\.yaml > api\.token is read from the environment only \(KEYWARDEN_API_TOKEN\)/);
    expect(err.message).not.toContain(TOKEN);
  });

  it('needs a token of its own for the intake when it is on', () => {
    expect(failure({ env: { KEYWARDEN_INTAKE: '1' } }).message).toMatch(/^KEYWARDEN_INTAKE_TOKEN is not set; /);
    const same = failure({ env: { KEYWARDEN_INTAKE: 'on', KEYWARDEN_INTAKE_TOKEN: TOKEN, KEYWARDEN_API_TOKEN: TOKEN } });
    expect(same.message).toMatch(/^KEYWARDEN_INTAKE_TOKEN must differ from KEYWARDEN_API_TOKEN/);
    const ok = loadServiceConfig({
      env: { KEYWARDEN_INTAKE: 'on', KEYWARDEN_INTAKE_TOKEN: TOKEN, KEYWARDEN_API_TOKEN: OTHER, KEYWARDEN_INTAKE_SPOOL: 'spool' },
    });
    expect(ok.intake).toMatchObject({ enabled: true, token: TOKEN, spoolDir: resolve('spool') });
  });

  it('keeps the start-up environment only for child processes', () => {
    const c = loadServiceConfig({ env: { GIT_SSH_COMMAND: 'ssh -i key', HOME: '/h' } });
    expect(c.childEnv).toEqual({ GIT_SSH_COMMAND: 'ssh -i key', HOME: '/h' });
  });
});

describe('the rotation and github sections', () => {
  const SIGNING = 'service-config-signing-secret-0123';
  const KEY = '0123456789abcdef'.repeat(4);

  it('settle from the environment over the file, with the API port in the default public URL', () => {
    const c = loadServiceConfig({
      env: { KEYWARDEN_ROTATION_SLA: '2h', KEYWARDEN_SECRET_KEY: KEY, KEYWARDEN_API_PORT: '9100' },
      document: doc('rotation: {sla: 4h, revocation: {firstPoll: 5s}}\n'),
    });
    expect(c.rotation.revocation).toMatchObject({ slaMs: 7_200_000, firstPollMs: 5000 });
    expect(c.rotation.publicUrl).toBe('http://127.0.0.1:9100');
    expect(c.rotation.rawSecrets.kept).toBe(true);
    expect(c.rotation.warnings).toEqual([]);
    expect(Object.isFrozen(c.rotation)).toBe(true);
    // Not in the settings' printable form, and not handed to git either.
    expect(JSON.stringify(c)).not.toContain(KEY);
    expect(c.childEnv.KEYWARDEN_SECRET_KEY).toBeUndefined();
  });

  it('without a secret key: settled, with the start-up warning', () => {
    const c = loadServiceConfig({ env: {} });
    expect(c.rotation.rawSecrets.kept).toBe(false);
    expect(c.rotation.warnings).toEqual([expect.stringContaining('KEYWARDEN_SECRET_KEY is not set')]);
    expect(c.github).toEqual({ apiUrl: 'https://api.github.com' });
  });

  it('a rotation target without KEYWARDEN_WEBHOOK_SECRET is a problem named by its variable (serve and worker exit 2)', () => {
    const err = failure({ env: { KEYWARDEN_ROTATION_WEBHOOK_URL: 'http://127.0.0.1:9/hook' } });
    expect(err.code).toBe('KW_CONFIG_INVALID');
    expect(err.message).toMatch(/^KEYWARDEN_WEBHOOK_SECRET required when a rotation or notification target is set/);
  });

  it("names the variable of a bad duration and the file field of a bad key, with the other sections' problems", () => {
    const err = failure({
      env: { KEYWARDEN_REVOCATION_FIRST_POLL: '30', KEYWARDEN_WEBHOOK_SECRET: '', REDIS_URL: 'x' },
      document: doc('rotation: {delivery: {attempts: 0}, colour: red}\n'),
    });
    expect([...err.details].sort()).toEqual(
      [
        'REDIS_URL: must start with redis:// or rediss://',
        'KEYWARDEN_REVOCATION_FIRST_POLL: expected a duration such as 0s, 500ms, 15m or 4h',
        '.keywarden.yaml > rotation: unknown field "colour"',
        '.keywarden.yaml > rotation.delivery.attempts: Too small: expected number to be >=1',
      ].sort(),
    );
    const settled = failure({ env: { KEYWARDEN_WEBHOOK_SECRET: '', KEYWARDEN_SECRET_KEY: 'nope' } });
    expect([...settled.details].sort()).toEqual([
      'KEYWARDEN_SECRET_KEY: must be 64 hex digits or the base64 of 32 bytes (openssl rand -hex 32); got 4 characters',
      'KEYWARDEN_WEBHOOK_SECRET: must be at least 16 characters; got 0',
    ]);
    expect(loadServiceConfig({ env: { KEYWARDEN_WEBHOOK_SECRET: SIGNING } }).rotation.webhookSecret?.reveal()).toBe(SIGNING);
  });

  it('the GitHub webhook secret needs a token, and neither may be in the file', () => {
    expect(failure({ env: { KEYWARDEN_GITHUB_WEBHOOK_SECRET: SIGNING } }).message).toMatch(
      /^KEYWARDEN_GITHUB_TOKEN is not set; POST \/v1\/github\/webhook needs it/,
    );
    const c = loadServiceConfig({
      env: {
        KEYWARDEN_GITHUB_WEBHOOK_SECRET: SIGNING,
        KEYWARDEN_GITHUB_TOKEN: 'ghs_x',
        GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
      },
    });
    expect(c.github).toEqual({ webhookSecret: SIGNING, token: 'ghs_x', apiUrl: 'https://ghe.example.com/api/v3' });
    expect(failure({ env: {}, document: doc('github: {token: abc}\n') }).message).toMatch(/read from the environment only/);
  });
});

describe('sections', () => {
  it('are listed under their own key', () => {
    for (const [key, section] of Object.entries(SECTIONS)) expect(section.key).toBe(key);
  });

  it("own config file keys the scanner's schema leaves to them", () => {
    expect(SERVICE_FILE_KEYS).toEqual(expect.arrayContaining(['api', 'redis', 'intake', 'log', 'schedule']));
    const scan = parseConfig(
      'api: {port: 9000}\nintake: {enabled: true}\nschedule: {every: 1000, repos: [a]}\nexcludes: [x]\n',
      'k.yaml',
    );
    expect(scan.excludes).toEqual(['x']);
  });
});

describe('keywardenPaths', () => {
  it('follows XDG base directories, each with keywarden/ appended', () => {
    expect(keywardenPaths({ XDG_CONFIG_HOME: '/c', XDG_CACHE_HOME: '/k', XDG_STATE_HOME: '/s', HOME: '/h' })).toEqual({
      configDir: '/c/keywarden',
      cacheDir: '/k/keywarden',
      stateDir: '/s/keywarden',
    });
    expect(keywardenPaths({ HOME: '/h' }).cacheDir).toBe(join('/h', '.cache', 'keywarden'));
  });
});
