// Incremental state for the CLI: per repository and ref scope, the ref tips the last scan covered, so
// the next run walks only commits not reachable from them. (The queue issue moves this into Redis.)
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { KeywardenError } from '../../../errors/error.js';

const ScopeState = z.object({ tips: z.record(z.string(), z.string()), scannedAt: z.string() }).strict();
export const GitState = z
  .object({
    version: z.literal(1),
    /** repo key (URL without credentials, or absolute git dir) → scope (`--all` or a branch) → state */
    repos: z.record(z.string(), z.record(z.string(), ScopeState)),
  })
  .strict();
export type GitState = z.infer<typeof GitState>;

export function loadState(file: string): GitState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { version: 1, repos: {} };
  }
  const parsed = GitState.safeParse(safeJson(text));
  if (!parsed.success)
    throw new KeywardenError('KW_CONFIG_INVALID', `${file}: not a keywarden git state file (delete it to start over)`);
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function previousTips(state: GitState, repoKey: string, scope: string): string[] {
  return Object.values(state.repos[repoKey]?.[scope]?.tips ?? {});
}

/** Records `tips` for (repo, scope) and writes the file atomically (temp file, then rename). */
export function saveState(
  file: string,
  state: GitState,
  repoKey: string,
  scope: string,
  tips: Map<string, string>,
  now: string,
): void {
  const repos = {
    ...state.repos,
    [repoKey]: { ...(state.repos[repoKey] ?? {}), [scope]: { tips: Object.fromEntries(tips), scannedAt: now } },
  };
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ version: 1, repos }, null, 2)}\n`);
  renameSync(tmp, file);
}
