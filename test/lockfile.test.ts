// `npm ci` on a fresh clone must accept the committed lockfile. npm rejects a lockfile that names an
// optional dependency (a platform binary such as @biomejs/cli-darwin-arm64) without its own entry,
// which is what a lockfile written on one platform by some npm versions looks like.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
};
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Record<
  string,
  Record<string, string> | undefined
>;

/** Node's lookup from a package's folder upwards: `node_modules/a/node_modules/b`, then `node_modules/b`. */
function resolves(from: string, name: string): boolean {
  let dir = from;
  for (;;) {
    if (lock.packages[`${dir === '' ? '' : `${dir}/`}node_modules/${name}`]) return true;
    if (dir === '') return false;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

describe('package-lock.json', () => {
  it('is a v3 lockfile', () => expect(lock.lockfileVersion).toBe(3));

  it("lists every package's optional dependencies (every platform's binaries), so npm ci accepts it anywhere", () => {
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages))
      for (const name of Object.keys(entry.optionalDependencies ?? {}))
        if (!resolves(path, name)) missing.push(`${path || '(root)'} -> ${name}`);
    expect(missing).toEqual([]);
  });

  it('records every dependency package.json declares', () => {
    const root = lock.packages[''] ?? {};
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies'] as const) {
      expect((root as Record<string, unknown>)[field] ?? {}).toEqual(pkg[field] ?? {});
      for (const name of Object.keys(pkg[field] ?? {})) expect(lock.packages[`node_modules/${name}`], name).toBeDefined();
    }
  });
});
