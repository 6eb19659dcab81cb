// The access policy of a CLI command that runs without the service (`keywarden scan-git URL`): the
// access section alone, from the environment, so a bad setting of another section cannot stop it.

import { bindingOf, type Environment } from '../config/section.js';
import { accessSection } from '../config/sections/access.js';
import { KeywardenError } from '../errors/error.js';
import type { AccessPolicy } from './policy.js';

export function accessPolicyFromEnv(env: Environment): AccessPolicy {
  const input: Record<string, unknown> = {};
  for (const [name, b] of Object.entries(accessSection.env)) {
    const value = env[name];
    if (value !== undefined && value !== '') input[bindingOf(b).field] = value;
  }
  const r = accessSection.schema.safeParse(input);
  if (!r.success) {
    const details = r.error.issues.map((i) => `${String(i.path[0] ?? 'access')}: ${i.message}`);
    throw new KeywardenError('KW_CONFIG_INVALID', `invalid access settings: ${details.join('; ')}`, details);
  }
  return r.data as AccessPolicy;
}
