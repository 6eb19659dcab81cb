// The import directions of docs/architecture.md, enforced: dependency-cruiser with the rules in
// .dependency-cruiser.cjs over the whole product, and over a fixture tree that breaks them, to prove
// the rules bite. Outside vitest: `npx depcruise --config .dependency-cruiser.cjs <folders>`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = join(ROOT, 'test', 'fixtures', 'architecture');
const PARTS = [
  'errors',
  'config',
  'rules',
  'model',
  'scanner',
  'workers',
  'http',
  'intake',
  'api',
  'cli',
  'logging',
  'pino',
  'bench',
  'providers',
  'rotation',
  'action',
  'runtime',
  'dashboard',
  'examples',
];

async function violations(baseDir: string): Promise<IViolation[]> {
  const options = await extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.cjs'));
  const present = PARTS.filter((p) => existsSync(join(baseDir, p)));
  const result = await cruise(
    present,
    { ...options, baseDir, outputType: 'json' },
    {},
    { tsConfig: extractTSConfig(join(ROOT, 'tsconfig.json')) },
  );
  const output = result.output as ICruiseResult | string;
  const parsed: ICruiseResult = typeof output === 'string' ? JSON.parse(output) : output;
  return parsed.summary.violations;
}

function describeViolation(v: IViolation): string {
  return `${v.rule.name}: ${v.from} -> ${v.to}${v.cycle ? ` (cycle ${v.cycle.map((c) => c.name).join(' -> ')})` : ''}`;
}

describe('architecture', () => {
  it('has no import against the documented directions, and no cycle', async () => {
    expect((await violations(ROOT)).map(describeViolation)).toEqual([]);
  });

  it('catches a forbidden import, a cycle and a service dependency reached through redaction', async () => {
    const found = (await violations(FIXTURE)).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'scanner-is-below-the-service: scanner/leak.mjs -> workers/queue.mjs',
        'model-is-a-leaf: model/finding.mjs -> rules/a.mjs',
        'api-never-imports-the-cli: api/openapi.mjs -> cli/version.mjs',
        'nothing-imports-the-cli: api/openapi.mjs -> cli/version.mjs',
        expect.stringMatching(/^no-circular: rules\/[ab]\.mjs -> rules\/[ab]\.mjs$/),
        expect.stringMatching(/^runtime-pulls-in-none-of-the-service: runtime\/app\.mjs -> .*node_modules\/fastify\//),
      ]),
    );
  });

  it('lets only entry points read process.env (everything else gets settings from config/)', () => {
    // runtime/sources/env.ts is envSource: reading the app's environment is its job. examples/ are apps.
    const ENTRY_POINTS = /^(cli\/main\.ts|pino\/transport\.ts|bench\/.*|examples\/.*|runtime\/sources\/env\.ts)$/;
    const readers: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name !== '.corpus' && e.name !== 'node_modules') walk(p);
        } else if (e.name.endsWith('.ts')) {
          const rel = relative(ROOT, p).split('\\').join('/');
          const code = readFileSync(p, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '');
          if (/process\.env\b/.test(code) && !ENTRY_POINTS.test(rel)) readers.push(rel);
        }
      }
    };
    for (const part of PARTS) if (existsSync(join(ROOT, part))) walk(join(ROOT, part));
    expect(readers).toEqual([]);
  });
});
