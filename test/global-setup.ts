// Builds dist/ for the `cli` project (vitest.config.ts), so its tests exercise `bin/keywarden.js`
// exactly as installed. In the background: the `unit` project runs first and needs no build, and
// each `cli` file waits for this one's result (test/setup/build.ts). Incremental: the build info
// lives in dist/, so deleting dist/ rebuilds everything and a re-run compiles only what changed.
import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  interface ProvidedContext {
    /** Where the build writes `{ ok, output }` once it is over. */
    buildResult: string;
  }
}

/** What the build outputs, for the error when it fails. */
export interface BuildResult {
  ok: boolean;
  output: string;
}

function run(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.once('error', (err) => resolve({ code: null, output: `${output}${err.message}\n` }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

export default function setup(project: TestProject): () => Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'kw-build-'));
  const resultFile = join(dir, 'result.json');
  const building = (async () => {
    const tsc = await run(
      [
        `${root}node_modules/typescript/bin/tsc`,
        '-p',
        'tsconfig.build.json',
        '--incremental',
        '--tsBuildInfoFile',
        'dist/.tsbuildinfo',
      ],
      root,
    );
    const cache = tsc.code === 0 ? await run(['dist/rules/build-cache.js'], root) : { code: null, output: '' };
    const result: BuildResult = { ok: tsc.code === 0 && cache.code === 0, output: tsc.output + cache.output };
    // Written whole, then renamed: a reader never sees half a file.
    writeFileSync(`${resultFile}.tmp`, JSON.stringify(result));
    renameSync(`${resultFile}.tmp`, resultFile);
  })();
  project.provide('buildResult', resultFile);
  return async () => {
    await building;
    rmSync(dir, { recursive: true, force: true });
  };
}
