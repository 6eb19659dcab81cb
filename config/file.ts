// The config file (`.keywarden.yaml` at a root, or a path given with `--config`): found, read and
// parsed once, then handed to whoever owns a part of it. Its scan settings are validated by
// scanner/config-file.ts, its `schedule:` by workers/scheduler.ts, its service sections by
// config/service.ts. The YAML parser (yaml.ts) is loaded only when a file exists: it costs
// `keywarden scan` start-up time before the first file is read.
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { KeywardenError } from '../errors/error.js';

/** File names looked for at a root, first found wins. */
export const CONFIG_FILE_NAMES = ['.keywarden.yaml', '.keywarden.yml'] as const;

/** The config file's text, before parsing. */
export interface ConfigText {
  /** Where it was read from. */
  readonly path: string;
  /** `path` as shown in messages: relative to the working directory when inside it. */
  readonly file: string;
  readonly text: string;
}

/** The config file, parsed once: each owner validates its own keys of `data`. */
export interface ConfigDocument extends ConfigText {
  /** The YAML document as plain data (`{}` for an empty file). */
  readonly data: unknown;
}

/**
 * The config file's text: `explicitPath` (must exist) or the first of CONFIG_FILE_NAMES at `root`;
 * null when there is none. Throws KW_CONFIG_INVALID when a file is there but cannot be read.
 */
export async function readConfigFile(root: string, explicitPath?: string): Promise<ConfigText | null> {
  const candidates = explicitPath !== undefined ? [explicitPath] : CONFIG_FILE_NAMES.map((n) => join(root, n));
  for (const path of candidates) {
    try {
      return { path, file: displayPath(path), text: await readFile(path, 'utf8') };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (explicitPath === undefined && code === 'ENOENT') continue;
      const shown = displayPath(path);
      throw new KeywardenError(
        'KW_CONFIG_INVALID',
        `cannot read config ${shown}: ${code ?? String(err)}`,
        [`${shown}: ${code ?? String(err)}`],
        { cause: err },
      );
    }
  }
  return null;
}

/** Reads and parses the config file (see readConfigFile); null when there is none. */
export async function loadConfigDocument(root: string, explicitPath?: string): Promise<ConfigDocument | null> {
  const found = await readConfigFile(root, explicitPath);
  if (found === null) return null;
  const { parseYaml } = await import('./yaml.js');
  return { ...found, data: parseYaml(found.text, found.file) };
}

/** Relative to the working directory when inside it (shorter messages), else absolute. */
export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}
