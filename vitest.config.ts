import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // CLI tests run the compiled binary as a user would; build it once per run.
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup/api-responses.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
