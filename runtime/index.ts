// `keywarden/runtime`: the library for the apps whose keys keywarden rotates. Rotatable secrets,
// OAuth client-credentials tokens, the emergency rotation endpoint, the output guard and the rotation
// webhook receiver. Imports nothing of the service (no Redis, BullMQ or fastify); the rule pack and
// engine load on the output guard's first use. Documented in docs/runtime.md.

export { isKeywardenError, KeywardenError } from '../errors/error.js';
export { SIGNATURE_HEADER, signatureHeader, verifySignature } from '../rotation/signature.js';
export { type AuditEvent, type AuditSink, stderrAudit } from './audit.js';
export type { Duration } from './duration.js';
export {
  type EmergencyRotationOptions,
  type EmergencyServerOptions,
  emergencyRotationHandler,
  ROTATE_PATH,
  type RunningServer,
  type SecretStatusResponse,
  STATUS_PATH,
  startEmergencyServer,
} from './emergency.js';
export {
  createOutputGuard,
  type GuardFinding,
  type GuardResult,
  guardText,
  type OutputGuard,
  type OutputGuardOptions,
} from './guard.js';
export type { AdaptedEndpoint, FastifyLikePlugin, NodeHandler } from './http.js';
export {
  type CallbackBody,
  createRotationReceiver,
  fileIdempotencyStore,
  fileWriter,
  type IdempotencyRecord,
  type IdempotencyStore,
  memoryIdempotencyStore,
  type NewKey,
  type RevokeContext,
  type RotateContext,
  type RotationFinding,
  type RotationReceiver,
  type RotationReceiverOptions,
  type RotationRequest,
  type SecretWriter,
} from './receiver.js';
export {
  createRotatableSecret,
  type RefreshOutcome,
  type RotatableSecret,
  type RotatableSecretOptions,
  type RotationEvent,
  type SecretStatus,
} from './secret.js';
export { shortHash } from './short-hash.js';
export { type AwsSecretsManagerSourceOptions, awsSecretsManagerSource, type SecretsManagerClientLike } from './sources/aws.js';
export { envSource } from './sources/env.js';
export { type FileSourceOptions, fileSource } from './sources/file.js';
export type { SecretSource, SecretSourceObject } from './sources/types.js';
export { type VaultKvSourceOptions, vaultKvSource } from './sources/vault.js';
export { createTokenManager, type TokenManager, type TokenManagerOptions, type TokenManagerStatus } from './token-manager.js';
