// `keywarden/runtime` must pull in none of the service. Read from the compiled JavaScript (dist/, built
// by the global setup), where type-only imports are gone: what is left is what Node loads.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(root, 'dist');

interface Graph {
  files: Set<string>;
  packages: Set<string>;
}

/** Every module reachable from `entry`: static imports only, or static and dynamic ones. */
function reach(entry: string, withDynamic: boolean): Graph {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const src = readFileSync(file, 'utf8');
    const specs = [
      ...src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm),
      ...src.matchAll(/^\s*import\s+'([^']+)'/gm),
    ].map((m) => m[1]!);
    if (withDynamic) specs.push(...[...src.matchAll(/\bimport\('([^']+)'\)/g)].map((m) => m[1]!));
    for (const spec of specs) {
      if (spec.startsWith('.')) visit(join(dirname(file), spec));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

const entry = join(dist, 'runtime/index.js');
const rel = (g: Graph) => [...g.files].map((f) => relative(dist, f)).sort();

describe('keywarden/runtime imports', () => {
  it('loads only runtime/, the signature scheme and the error class, and Node built-ins, at import time', () => {
    const g = reach(entry, false);
    for (const f of rel(g)) expect(f).toMatch(/^(runtime\/|rotation\/signature\.js$|errors\/(error|codes)\.js$)/);
    for (const p of g.packages) expect(p).toMatch(/^node:/);
  });

  it('reaches the engine, redaction and rules lazily, and never the service (workers, api, cli, bullmq, ioredis, fastify, pino, express)', () => {
    const g = reach(entry, true);
    const files = rel(g);
    expect(files).toContain('scanner/redact-spans.js');
    expect(files).toContain('scanner/redact-lines.js');
    expect(files).toContain('scanner/engine/engine.js');
    expect(files).toContain('rules/builtin.js');
    for (const f of files) expect(f).toMatch(/^(runtime|rotation|scanner|rules|model|errors)\/|^config\/fingerprint\.js$/);
    for (const f of files) expect(f).not.toMatch(/^(workers|api|cli|intake|logging|pino)\//);
    for (const p of g.packages) expect(p).not.toMatch(/^(bullmq|ioredis|fastify|pino|express|@fastify\/)/);
    // The AWS SDK only on demand (an optional peer dependency).
    expect(reach(entry, false).packages.has('@aws-sdk/client-secrets-manager')).toBe(false);
    expect(g.packages.has('@aws-sdk/client-secrets-manager')).toBe(true);
  });

  it('resolves as the package export with its type declarations', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.exports['./runtime']).toEqual({ types: './dist/runtime/index.d.ts', import: './dist/runtime/index.js' });
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('keywarden/runtime'); console.log(Object.keys(m).sort().join(' '))"],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    for (const name of [
      'createRotatableSecret',
      'fileSource',
      'envSource',
      'vaultKvSource',
      'awsSecretsManagerSource',
      'createTokenManager',
      'emergencyRotationHandler',
      'guardText',
      'createOutputGuard',
      'createRotationReceiver',
    ]) {
      expect(out.split(/\s+/)).toContain(name);
    }
  });
});

describe('keywarden/runtime type declarations', () => {
  it('tsconfig.runtime.json emits .d.ts files a strict consumer compiles against (skipLibCheck off)', () => {
    const out = join(dist, '.runtime-types-check');
    rmSync(out, { recursive: true, force: true });
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.runtime.json'), '--outDir', out], {
      cwd: root,
      stdio: 'pipe',
    });
    expect(existsSync(join(out, 'runtime/index.d.ts'))).toBe(true);
    writeFileSync(
      join(out, 'consumer.ts'),
      [
        "import { createRotatableSecret, fileSource, createOutputGuard, createTokenManager, type RotatableSecret } from './runtime/index.js';",
        "const s: RotatableSecret = createRotatableSecret({ name: 'k', source: fileSource('/tmp/k'), refreshInterval: '30s' });",
        'const v: string = s.value;',
        "const g = createOutputGuard({ mode: 'block' });",
        "const t = createTokenManager({ tokenUrl: 'http://127.0.0.1/t', clientId: 'a', clientSecret: s });",
        'export { v, g, t };',
      ].join('\n'),
    );
    writeFileSync(
      join(out, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          types: ['node'],
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['consumer.ts'],
      }),
    );
    try {
      execFileSync(process.execPath, [tsc, '-p', join(out, 'tsconfig.json')], { cwd: out, stdio: 'pipe', encoding: 'utf8' });
    } catch (err) {
      throw new Error(`consumer does not compile: ${(err as { stdout?: string }).stdout}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
