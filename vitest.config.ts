// Three projects, so a focused run pays only for what it uses (`npm test` runs all three):
//   unit   in-process only: no build, no Redis            npx vitest run --project unit
//   redis  starts a real redis-server (test/helpers/redis.ts)
//   cli    runs the compiled package (bin/keywarden.js, dist/, `keywarden/...` exports): dist/ is
//          built (test/global-setup.ts) only when a file of this project runs, while `unit` runs
// A test file lands in a project by what its source uses, so a new one needs no listing here.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const TEST_DIR = 'test';
const RUNS_THE_BUILD = /bin\/keywarden\.js|\.\.\/dist\/|['"]keywarden\/[a-z]+['"]/;
const STARTS_REDIS = /helpers\/redis\.js['"]|['"]\.\/redis\.js['"]/;

const files = (readdirSync(join(ROOT, TEST_DIR), { recursive: true }) as string[])
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join(TEST_DIR, f).split('\\').join('/'))
  .sort();
const projectOf = (file: string): 'unit' | 'redis' | 'cli' => {
  const source = readFileSync(join(ROOT, file), 'utf8');
  if (RUNS_THE_BUILD.test(source)) return 'cli';
  return STARTS_REDIS.test(source) ? 'redis' : 'unit';
};
const byProject = { unit: [] as string[], redis: [] as string[], cli: [] as string[] };
for (const f of files) byProject[projectOf(f)].push(f);

export default defineConfig({
  test: {
    // Every response an in-process HTTP server sends is checked against the OpenAPI document.
    setupFiles: ['test/setup/api-responses.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Most files wait on child processes (redis-server, git, the binary) more than they compute:
    // vitest's default of one worker per core but one left a 2-core machine half idle.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // `unit` first (group 0), the others after it (group 1), so the build has that long to finish.
    projects: [
      { extends: true, test: { name: 'unit', include: byProject.unit, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'redis', include: byProject.redis, sequence: { groupOrder: 1 } } },
      {
        extends: true,
        test: {
          name: 'cli',
          include: byProject.cli,
          sequence: { groupOrder: 1 },
          globalSetup: ['test/global-setup.ts'],
          setupFiles: ['test/setup/build.ts'],
        },
      },
    ],
  },
});
