// What the commands build at start-up from the environment main.ts read once: the fingerprint key
// for the scan commands, the whole service configuration (config/service.ts) for the service ones.
// The service configuration's schemas are loaded only by the commands that build it: a scan starts
// without the schema library (docs/benchmarks.md: zod and yaml cost it ~250 ms of start-up).
import { type ConfigDocument, loadConfigDocument } from '../config/file.js';
import { FINGERPRINT_KEY_ENV } from '../config/fingerprint.js';
import { keywardenPaths } from '../config/paths.js';
import type { Environment } from '../config/section.js';
import type { LoadServiceConfigOptions, ServiceConfig } from '../config/service.js';
import { type FingerprintKey, resolveFingerprintKey } from '../scanner/fingerprint.js';

/** The fingerprint key of a scan command: `KEYWARDEN_FINGERPRINT_KEY`, else this machine's key file (created once). */
export function fingerprintKeyFor(env: Environment): Buffer {
  return resolveFingerprintKey(env, { configDir: keywardenPaths(env).configDir }).key;
}

/** The fingerprint key a service process computes every fingerprint with, and where it came from. */
export function serviceFingerprintKey(cfg: ServiceConfig): FingerprintKey {
  return resolveFingerprintKey({ [FINGERPRINT_KEY_ENV]: cfg.fingerprint.key }, { configDir: cfg.paths.configDir });
}

export interface ServiceStartup {
  config: ServiceConfig;
  /** The config file, parsed once: its scan settings and `schedule:` are read from this too. */
  document: ConfigDocument | null;
}

/**
 * The service configuration of a command run in `root` (default: the working directory): its
 * `.keywarden.yaml` (or `configPath`) parsed once, the environment, the command's flags.
 */
export async function serviceStartup(
  env: Environment,
  opts: Omit<LoadServiceConfigOptions, 'env' | 'document'> & { root?: string; configPath?: string } = {},
): Promise<ServiceStartup> {
  const { root, configPath, ...rest } = opts;
  const document = await loadConfigDocument(root ?? process.cwd(), configPath);
  const { loadServiceConfig } = await import('../config/service.js');
  return { config: loadServiceConfig({ env, document, ...rest }), document };
}
