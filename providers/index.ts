// providers/: declarative liveness checks and self-revocation plans (rules carry them, schema in
// rules/schema.ts), the base-URL table and resolver, the pure plan()/judge() core and the one HTTP
// runner. Imported by workers/ and the CLI (`keywarden verify`); never by scanner/ or runtime/.
export {
  baseUrlProblems,
  DEFAULT_BASE_URLS,
  type ProviderBaseUrls,
  type ProviderEndpoint,
  type ResolvedBaseUrl,
  resolveProviderBaseUrls,
} from './base-urls.js';
export {
  DEFAULT_RETRY_AFTER_MS,
  type Judgement,
  judge,
  judgeRevocation,
  type ProviderResponse,
  parseRetryAfter,
  type RevocationJudgement,
  type RevocationOutcome,
  type Verdict,
} from './judge.js';
export { baseUrlEnvVar, providerEnvName, providerFromEnvVar } from './names.js';
export {
  appliesTo,
  checkParts,
  describeCall,
  isUnderBase,
  type Parts,
  type PlannedRequest,
  plan,
  type SigV4Signing,
  selectCheck,
} from './plan.js';
export {
  type CheckRequest,
  type CheckResult,
  createLivenessRunner,
  LivenessRunner,
  type LivenessRunnerOptions,
  type RevokeRequest,
  type RevokeResult,
} from './runner.js';
export { signRequest } from './sign.js';
