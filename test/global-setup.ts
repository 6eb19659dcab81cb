// Builds dist/ once per test run so CLI tests exercise `bin/keywarden.js` exactly as installed.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, ['dist/rules/build-cache.js'], { cwd: root, stdio: 'inherit' });
}
