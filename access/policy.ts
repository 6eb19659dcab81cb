// The access policy's one type: the `access` section of the service configuration
// (config/sections/access.ts), as every function in access/ takes it.
import { accessSection } from '../config/sections/access.js';
import type { ServiceConfig } from '../config/service.js';

/** What a worker may read and fetch, and where its git credentials may go. */
export type AccessPolicy = ServiceConfig['access'];

/** The policy with every default: no dump roots (scan-dump refused), public https/ssh hosts only, no tokens. */
export function defaultAccessPolicy(): AccessPolicy {
  return accessSection.schema.parse({}) as AccessPolicy;
}
