// The example rotation receiver for the agent: keywarden's signed webhook in, a new key issued at the
// (fake) provider's admin API, the new key written where the agent reads it, the old key revoked
// after `revokeDelay`, keywarden called back. Built on `createRotationReceiver` (keywarden/runtime).
//
// Where the new key goes: a file (`keyFile`, atomic rename; the demo, or a volume shared with the
// app), or AWS Secrets Manager (`secretId`: PutSecretValue, then the External Secrets Operator and
// the kubelet carry it to the app's mounted file; deploy/kubernetes/agent/rotation-receiver.yaml).
//
//   node dist/examples/agent/receiver.js   (KEYWARDEN_WEBHOOK_SECRET, KEYWARDEN_PUBLIC_URL, PROVIDER_URL,
//     PROVIDER_ADMIN_KEY_FILE, LLM_KEY_FILE or SECRET_ID + AWS_REGION, REVOKE_DELAY, IDEMPOTENCY_FILE,
//     RECEIVER_PATH, HOST, PORT)
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import {
  type AuditSink,
  createRotationReceiver,
  type Duration,
  fileIdempotencyStore,
  fileWriter,
  memoryIdempotencyStore,
  type RotationReceiver,
  type SecretWriter,
} from '../../runtime/index.js';

export interface AgentReceiverOptions {
  webhookSecret: string;
  providerUrl: string;
  providerAdminKey: string;
  /** Where the new key is written (atomic rename). */
  write: SecretWriter;
  /** @defaultValue 60 s */
  revokeDelay?: Duration;
  /** keywarden's KEYWARDEN_PUBLIC_URL: callbacks go nowhere else. */
  callbackOrigin?: string;
  idempotencyFile?: string;
  /** @defaultValue `/` */
  path?: string;
  port?: number;
  host?: string;
  onAudit?: AuditSink;
}

export interface AgentReceiver {
  url: string;
  receiver: RotationReceiver;
  close(): Promise<void>;
}

/** The key's JSON field in Secrets Manager, as the ExternalSecret's `property` reads it. */
const AWS_FIELD = 'apiKey';

/** Writes `{"apiKey": <value>}` to a Secrets Manager secret (the SDK is loaded when first used). */
export function secretsManagerWriter(secretId: string, region: string): SecretWriter {
  const sdk = import('@aws-sdk/client-secrets-manager');
  const client = sdk.then((m) => new m.SecretsManagerClient({ region }));
  return {
    async write(value) {
      const { PutSecretValueCommand } = await sdk;
      await (await client).send(
        new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify({ [AWS_FIELD]: value }) }),
      );
    },
    async read() {
      const { GetSecretValueCommand } = await sdk;
      const out = await (await client).send(new GetSecretValueCommand({ SecretId: secretId }));
      try {
        return (JSON.parse(out.SecretString ?? '{}') as Record<string, string>)[AWS_FIELD];
      } catch {
        return undefined;
      }
    },
  };
}

export async function startAgentReceiver(opts: AgentReceiverOptions): Promise<AgentReceiver> {
  const admin = { authorization: `Bearer ${opts.providerAdminKey}`, 'content-type': 'application/json' };
  const receiver = createRotationReceiver({
    webhookSecret: opts.webhookSecret,
    // Only keys of this provider's rule are rotated here.
    accepts: (finding) => finding.ruleId === 'openai-project-key',
    async rotate() {
      const r = await fetch(`${opts.providerUrl}/admin/keys`, { method: 'POST', headers: admin });
      if (!r.ok) throw new Error(`provider answered ${r.status}`);
      const { id, key } = (await r.json()) as { id: string; key: string };
      return { value: key, id };
    },
    write: opts.write,
    async revoke({ oldValue }) {
      if (oldValue === undefined) return { revoked: false, note: 'the old key was unknown to the receiver' };
      const r = await fetch(`${opts.providerUrl}/admin/keys/revoke`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ key: oldValue }),
      });
      await r.body?.cancel();
      return r.ok;
    },
    revokeDelay: opts.revokeDelay ?? '60s',
    idempotency: opts.idempotencyFile === undefined ? memoryIdempotencyStore() : fileIdempotencyStore(opts.idempotencyFile),
    ...(opts.callbackOrigin !== undefined && { callbackOrigins: [opts.callbackOrigin] }),
    ...(opts.path !== undefined && { path: opts.path }),
    ...(opts.onAudit !== undefined && { onAudit: opts.onAudit }),
  });
  const server = createServer(receiver);
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => r()));
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}${opts.path ?? '/'}`,
    receiver,
    async close() {
      await receiver.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = process.env;
  const need = (name: string): string => {
    const v = env[name];
    if (v !== undefined) return v;
    console.error(`${name} is not set`);
    process.exit(2);
  };
  const write =
    env.SECRET_ID !== undefined ? secretsManagerWriter(env.SECRET_ID, need('AWS_REGION')) : fileWriter(need('LLM_KEY_FILE'));
  const r = await startAgentReceiver({
    webhookSecret: need('KEYWARDEN_WEBHOOK_SECRET'),
    providerUrl: need('PROVIDER_URL'),
    providerAdminKey: readFileSync(need('PROVIDER_ADMIN_KEY_FILE'), 'utf8').trim(),
    write,
    ...(env.REVOKE_DELAY !== undefined && { revokeDelay: env.REVOKE_DELAY }),
    ...(env.KEYWARDEN_PUBLIC_URL !== undefined && { callbackOrigin: env.KEYWARDEN_PUBLIC_URL }),
    ...(env.IDEMPOTENCY_FILE !== undefined && { idempotencyFile: env.IDEMPOTENCY_FILE }),
    ...(env.RECEIVER_PATH !== undefined && { path: env.RECEIVER_PATH }),
    port: Number(env.PORT ?? 8080),
    host: env.HOST ?? '127.0.0.1',
  });
  console.error(JSON.stringify({ msg: 'rotation receiver listening', url: r.url }));
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void r.close().then(() => process.exit(0)));
}
