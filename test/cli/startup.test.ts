// What `keywarden scan` loads before its first file: without a config file, neither the schema library
// nor the YAML parser (docs/benchmarks.md: they cost a small scan ~250 ms of start-up). Guards the
// import graph: a settings module that pulls zod into the scan path fails here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
// A module resolve hook, in every thread, that names each heavy package as it is first resolved.
const HOOK = `export async function resolve(s, c, n) { if (/^(zod|yaml|bullmq|ioredis|fastify)$/.test(s)) process.stderr.write('LOADED ' + s + '\\n'); return n(s, c); }`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)});`;

function loaded(args: string[], cwd: string): string[] {
  const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: cwd, KEYWARDEN_FINGERPRINT_KEY: 'test-fingerprint-key-0123456789' },
  });
  expect(r.status, r.stderr).toBe(0);
  return [
    ...new Set(
      r.stderr
        .split('\n')
        .filter((l) => l.startsWith('LOADED '))
        .map((l) => l.slice(7)),
    ),
  ].sort();
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kw-startup-'));
  writeFileSync(join(dir, 'a.txt'), 'nothing to see\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keywarden scan start-up', () => {
  it('loads no schema library, YAML parser or service package without a config file', () => {
    expect(loaded(['scan', '.', '-f', 'json', '-o', join(dir, 'r.json')], dir)).toEqual([]);
  });

  it('loads the schema library and the YAML parser only when a config file is there', () => {
    writeFileSync(join(dir, '.keywarden.yaml'), 'excludes: [x]\n');
    try {
      expect(loaded(['scan', '.', '-f', 'json', '-o', join(dir, 'r.json')], dir)).toEqual(['yaml', 'zod']);
    } finally {
      rmSync(join(dir, '.keywarden.yaml'));
    }
  });

  it('boots scan worker threads without the walker or the dump reader (each worker pays its imports)', () => {
    // What scanner/threads/worker.ts imports, in a fresh process: the modules a worker thread boots with.
    // (Importing `node:fs` as ESM loads its internal promises and streams anyway; the public
    // `fs/promises`, `zlib` and the CJS lexer come only with the walker and the dump reader.)
    const dist = (m: string) => JSON.stringify(fileURLToPath(new URL(`../../dist/scanner/${m}`, import.meta.url)));
    const script = [
      `await import(${dist('threads/read-and-scan.js')});`,
      `await import(${dist('engine/compile.js')});`,
      `process.stdout.write(JSON.stringify(process.moduleLoadList));`,
    ].join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const modules = JSON.parse(r.stdout) as string[];
    expect(modules.filter((m) => /^NativeModule (zlib|fs\/promises)$/.test(m))).toEqual([]);
    // `ignore` is the walker's gitignore matcher, a CommonJS package: its loading shows in the list.
    expect(modules.some((m) => m.includes('cjs-module-lexer'))).toBe(false);
  });
});
