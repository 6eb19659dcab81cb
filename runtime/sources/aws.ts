// A secret in AWS Secrets Manager, read with the AWS SDK's Secrets Manager client (GetSecretValue).
// The SDK is loaded on the first fetch (a dynamic import), so `keywarden/runtime` costs nothing for
// apps that never use this source; it is an optional peer dependency.

import { networkReason } from '../http.js';
import { jsonField, type SecretSourceObject, sourceError } from './types.js';

/** The part of the SDK client this source calls; pass your own client to share its configuration. */
export interface SecretsManagerClientLike {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's command and output types stay the SDK's
  send(command: any, options?: { abortSignal?: AbortSignal }): Promise<any>;
}

export interface AwsSecretsManagerSourceOptions {
  /** The secret's name or ARN. */
  secretId: string;
  region?: string;
  /** Endpoint override: a VPC endpoint, LocalStack, a test server. */
  endpoint?: string;
  /** Static credentials; by default the SDK's provider chain (env, profile, IRSA, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The secret string holds a JSON object (the console's key/value secrets); take this field. */
  field?: string;
  /** @defaultValue `AWSCURRENT` */
  versionStage?: string;
  /** Extra client settings (`maxAttempts`, `requestHandler`, ...), passed to the SDK client as they are. */
  clientConfig?: Record<string, unknown>;
  /** A client to use instead of creating one. */
  client?: SecretsManagerClientLike;
}

export function awsSecretsManagerSource(opts: AwsSecretsManagerSourceOptions): SecretSourceObject {
  const self = { kind: 'aws-secrets-manager', location: opts.secretId };
  let client: SecretsManagerClientLike | undefined = opts.client;
  // biome-ignore lint/suspicious/noExplicitAny: the command class comes from the lazily loaded SDK
  let Command: (new (input: any) => unknown) | undefined;

  async function load(): Promise<void> {
    if (Command !== undefined) return;
    let sdk: typeof import('@aws-sdk/client-secrets-manager');
    try {
      sdk = await import('@aws-sdk/client-secrets-manager');
    } catch {
      throw sourceError(self, 'the AWS SDK is not installed: npm install @aws-sdk/client-secrets-manager');
    }
    client ??= new sdk.SecretsManagerClient({
      ...(opts.region !== undefined && { region: opts.region }),
      ...(opts.endpoint !== undefined && { endpoint: opts.endpoint }),
      ...(opts.credentials !== undefined && { credentials: opts.credentials }),
      ...opts.clientConfig,
    });
    Command = sdk.GetSecretValueCommand;
  }

  return {
    ...self,
    async fetch(signal) {
      await load();
      let out: { SecretString?: string; SecretBinary?: Uint8Array };
      try {
        out = await client!.send(new Command!({ SecretId: opts.secretId, VersionStage: opts.versionStage ?? 'AWSCURRENT' }), {
          abortSignal: signal,
        });
      } catch (err) {
        // The SDK's error names are AWS's (ResourceNotFoundException, AccessDeniedException, ...).
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        const name = err instanceof Error ? err.name : 'error';
        // Without an HTTP answer: the socket's code (the SDK renames ECONNRESET and EPIPE to TimeoutError).
        const reason = status !== undefined ? `${name}, HTTP ${status}` : networkReason(err);
        throw sourceError(self, `GetSecretValue failed (${reason})`);
      }
      const text =
        out.SecretString ?? (out.SecretBinary !== undefined ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
      if (text === undefined) throw sourceError(self, 'GetSecretValue returned neither SecretString nor SecretBinary');
      return opts.field !== undefined ? jsonField(self, text, opts.field) : text;
    },
  };
}
