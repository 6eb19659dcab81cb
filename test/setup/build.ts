// Each `cli` test file starts once dist/ is built (test/global-setup.ts builds it in the background),
// and fails with the compiler's output if the build did.
import { existsSync, readFileSync } from 'node:fs';
import { inject } from 'vitest';
import type { BuildResult } from '../global-setup.js';

const resultFile = inject('buildResult');
const deadline = Date.now() + 10 * 60_000;
while (!existsSync(resultFile)) {
  if (Date.now() > deadline) throw new Error('dist/ was not built within 10 minutes');
  await new Promise((r) => setTimeout(r, 100));
}
const result = JSON.parse(readFileSync(resultFile, 'utf8')) as BuildResult;
if (!result.ok) throw new Error(`the build failed, so the compiled binary cannot be tested:\n${result.output}`);
