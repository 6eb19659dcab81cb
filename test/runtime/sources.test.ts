// Vault KV v2 and AWS Secrets Manager as fake servers on 127.0.0.1 that speak the real wire formats:
// Vault's HTTP API, and AWS's JSON 1.1 protocol reached through the real SDK with an endpoint override.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeywardenError } from '../../errors/error.js';
import { awsSecretsManagerSource, createRotatableSecret, type RotatableSecret, vaultKvSource } from '../../runtime/index.js';
import { readText, sendJson, startServer, type TestServer } from './helpers.js';

const value = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;
const open: RotatableSecret[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface FakeVault {
  server: TestServer;
  data: Record<string, string>;
  mode: 'ok' | '500';
  paths: string[];
  tokens: string[];
}

async function fakeVault(token: string, data: Record<string, string>, port = 0): Promise<FakeVault> {
  const fake: FakeVault = { server: undefined as unknown as TestServer, data, mode: 'ok', paths: [], tokens: [] };
  fake.server = await startServer((req, res) => {
    fake.paths.push(req.url ?? '');
    fake.tokens.push(String(req.headers['x-vault-token']));
    if (fake.mode === '500') return sendJson(res, 500, { errors: ['internal error'] });
    if (req.headers['x-vault-token'] !== token) return sendJson(res, 403, { errors: ['permission denied'] });
    if (req.url !== '/v1/secret/data/apps/agent') return sendJson(res, 404, { errors: [] });
    sendJson(res, 200, {
      request_id: 'r1',
      lease_duration: 0,
      data: {
        data: fake.data,
        metadata: { version: 3, created_time: new Date().toISOString(), deletion_time: '', destroyed: false },
      },
    });
  }, port);
  servers.push(fake.server);
  return fake;
}

describe('vaultKvSource', () => {
  it('reads KV v2 with a token, keeps the last good value through a 500 and an outage, then follows a change', async () => {
    const token = value('vault-token');
    const first = value('v1');
    const vault = await fakeVault(token, { api_key: first, other: 'x' });
    const errors: KeywardenError[] = [];
    const secret = createRotatableSecret({
      name: 'vault',
      source: vaultKvSource({ address: vault.server.url, path: 'apps/agent', field: 'api_key', token }),
      refreshInterval: 60_000,
      onError: (e) => errors.push(e),
    });
    open.push(secret);
    expect(await secret.ready).toBe(first);
    expect(vault.paths[0]).toBe('/v1/secret/data/apps/agent');

    vault.mode = '500';
    expect(await secret.refresh()).toMatchObject({ ok: false });
    expect(secret.value).toBe(first);
    expect(errors.at(-1)!.message).toBe('vault-kv secret/apps/agent: Vault answered 500');

    const second = value('v2');
    vault.mode = 'ok';
    vault.data = { api_key: second };
    expect(await secret.refresh()).toMatchObject({ ok: true, rotated: true, version: 2 });
    expect(secret.value).toBe(second);
    expect(secret.previous).toBe(first);

    await vault.server.close(); // down: connection refused
    servers.length = 0;
    expect(await secret.refresh()).toMatchObject({ ok: false });
    expect(secret.value).toBe(second);
    expect(errors.at(-1)!.message).toMatch(
      /request to http:\/\/127\.0\.0\.1:\d+ failed \((ECONNREFUSED|UND_ERR_SOCKET|ECONNRESET)\)/,
    );
    expect(secret.status()).toMatchObject({ errors: 2, version: 2 });
    for (const e of errors) {
      expect(e.code).toBe('KW_SECRET_SOURCE');
      expect(e.message).not.toContain(token);
      expect(e.message).not.toContain(first);
    }
  });

  it('re-reads tokenFile on every fetch, and says which field is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-vault-'));
    try {
      const tokenA = value('token-a');
      const vault = await fakeVault(tokenA, { only: value('only') });
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, `${tokenA}\n`);
      const source = vaultKvSource({ address: `${vault.server.url}/`, path: '/apps/agent/', tokenFile });
      const signal = new AbortController().signal;
      expect(await source.fetch(signal)).toBe(vault.data.only);
      writeFileSync(tokenFile, 'rotated-token-b');
      await expect(source.fetch(signal)).rejects.toMatchObject({ message: 'vault-kv secret/apps/agent: Vault answered 403' });
      expect(vault.tokens).toEqual([tokenA, 'rotated-token-b']);

      const wrongField = vaultKvSource({ address: vault.server.url, path: 'apps/agent', token: tokenA, field: 'nope' });
      await expect(wrongField.fetch(signal)).rejects.toMatchObject({
        message: 'vault-kv secret/apps/agent: no field "nope" (fields: "only")',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface FakeSecretsManager {
  server: TestServer;
  secretString: string;
  mode: 'ok' | '500';
  requests: Array<{ target: string; body: unknown; auth: string }>;
}

/** GetSecretValue as Secrets Manager answers it (AWS JSON 1.1: POST /, X-Amz-Target). */
async function fakeSecretsManager(secretString: string): Promise<FakeSecretsManager> {
  const fake: FakeSecretsManager = { server: undefined as unknown as TestServer, secretString, mode: 'ok', requests: [] };
  fake.server = await startServer(async (req, res) => {
    const body = JSON.parse(await readText(req));
    fake.requests.push({ target: String(req.headers['x-amz-target']), body, auth: String(req.headers.authorization) });
    const json = { 'content-type': 'application/x-amz-json-1.1' };
    if (fake.mode === '500') return sendJson(res, 500, { __type: 'InternalServiceError', message: 'internal failure' }, json);
    if (body.SecretId !== 'prod/agent/llm') {
      return sendJson(
        res,
        400,
        { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." },
        json,
      );
    }
    sendJson(
      res,
      200,
      {
        ARN: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/agent/llm-AbCdEf',
        Name: 'prod/agent/llm',
        VersionId: randomBytes(16).toString('hex'),
        SecretString: fake.secretString,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Date.now() / 1000,
      },
      json,
    );
  });
  servers.push(fake.server);
  return fake;
}

describe('awsSecretsManagerSource', () => {
  const credentials = { accessKeyId: 'test-access-key-id', secretAccessKey: 'test-secret-access-key' };

  it('reads GetSecretValue through the SDK with an endpoint override; a 500 and an outage keep the last good value', async () => {
    const first = value('aws1');
    const aws = await fakeSecretsManager(JSON.stringify({ apiKey: first, user: 'agent' }));
    const errors: KeywardenError[] = [];
    const secret = createRotatableSecret({
      name: 'aws',
      source: awsSecretsManagerSource({
        secretId: 'prod/agent/llm',
        region: 'us-east-1',
        endpoint: aws.server.url,
        credentials,
        field: 'apiKey',
        clientConfig: { maxAttempts: 1 },
      }),
      refreshInterval: 60_000,
      onError: (e) => errors.push(e),
    });
    open.push(secret);
    expect(await secret.ready).toBe(first);
    expect(aws.requests[0]).toMatchObject({
      target: 'secretsmanager.GetSecretValue',
      body: { SecretId: 'prod/agent/llm', VersionStage: 'AWSCURRENT' },
    });
    expect(aws.requests[0]!.auth).toMatch(/^AWS4-HMAC-SHA256 Credential=test-access-key-id\//); // SigV4 by the SDK

    aws.mode = '500';
    expect(await secret.refresh()).toMatchObject({ ok: false });
    expect(secret.value).toBe(first);
    expect(errors.at(-1)!.message).toBe(
      'aws-secrets-manager prod/agent/llm: GetSecretValue failed (InternalServiceError, HTTP 500)',
    );

    const second = value('aws2');
    aws.mode = 'ok';
    aws.secretString = JSON.stringify({ apiKey: second });
    expect(await secret.refresh()).toMatchObject({ ok: true, rotated: true });
    expect(secret.value).toBe(second);

    await aws.server.close();
    servers.length = 0;
    expect(await secret.refresh()).toMatchObject({ ok: false });
    expect(secret.value).toBe(second);
    expect(errors.at(-1)!.message).toMatch(/GetSecretValue failed \((ECONNREFUSED|ECONNRESET|EPIPE|UND_ERR_SOCKET)\)$/);
    expect(errors).toHaveLength(2);
    for (const e of errors) expect(e.message).not.toContain(first);
  });

  it('names AWS errors, and a field asked of a non-JSON secret without quoting it', async () => {
    const plain = value('plain');
    const aws = await fakeSecretsManager(plain);
    const signal = new AbortController().signal;
    const base = { region: 'us-east-1', endpoint: aws.server.url, credentials, clientConfig: { maxAttempts: 1 } };
    expect(await awsSecretsManagerSource({ ...base, secretId: 'prod/agent/llm' }).fetch(signal)).toBe(plain);
    await expect(awsSecretsManagerSource({ ...base, secretId: 'missing' }).fetch(signal)).rejects.toMatchObject({
      message: 'aws-secrets-manager missing: GetSecretValue failed (ResourceNotFoundException, HTTP 400)',
    });
    const err = await awsSecretsManagerSource({ ...base, secretId: 'prod/agent/llm', field: 'apiKey' })
      .fetch(signal)
      .catch((e: Error) => e);
    expect((err as Error).message).toContain('is not a JSON object');
    expect((err as Error).message).not.toContain(plain);
  });
});
