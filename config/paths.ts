// Where keywarden keeps per-user files, after the XDG base directory spec: the fingerprint key under
// the config directory, repository clones under the cache directory, incremental git state and the
// intake spool under the state directory. The one place these are derived from the environment. No
// schema library here: `keywarden scan` imports this at start-up.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Environment } from './section.js';

export interface KeywardenPaths {
  /** `$XDG_CONFIG_HOME/keywarden` @defaultValue `~/.config/keywarden` */
  readonly configDir: string;
  /** `$XDG_CACHE_HOME/keywarden` @defaultValue `~/.cache/keywarden` */
  readonly cacheDir: string;
  /** `$XDG_STATE_HOME/keywarden` @defaultValue `~/.local/state/keywarden` */
  readonly stateDir: string;
}

/** The XDG base directories as the environment gives them (unset: the spec's defaults under home). */
export interface BaseDirs {
  configHome?: string | undefined;
  cacheHome?: string | undefined;
  stateHome?: string | undefined;
  home?: string | undefined;
}

export function pathsOf(b: BaseDirs): KeywardenPaths {
  const home = b.home || homedir();
  const dir = (base: string | undefined, fallback: string) => join(base || join(home, fallback), 'keywarden');
  return {
    configDir: dir(b.configHome, '.config'),
    cacheDir: dir(b.cacheHome, '.cache'),
    stateDir: dir(b.stateHome, join('.local', 'state')),
  };
}

/** keywarden's directories for this environment (used by commands that need no other setting). */
export function keywardenPaths(env: Environment): KeywardenPaths {
  return pathsOf({
    configHome: env.XDG_CONFIG_HOME,
    cacheHome: env.XDG_CACHE_HOME,
    stateHome: env.XDG_STATE_HOME,
    home: env.HOME,
  });
}
