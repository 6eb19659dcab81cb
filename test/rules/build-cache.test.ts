// The build step's rule cache (rules/build-cache.ts): the compiled loader in dist/ serves the built-in
// pack from the JSON that `npm run build` writes, and it must be exactly what the YAML says. Runs in
// the `cli` project, after the build (test/global-setup.ts).
import { describe, expect, it } from 'vitest';
import { builtinRuleFiles } from '../../rules/builtin.js';
import { loadRulePack } from '../../rules/load.js';

describe('built-in pack cache', () => {
  it('serves from the compiled cache exactly the rules the YAML holds', async () => {
    const compiled = (await import(
      new URL('../../dist/rules/builtin.js', import.meta.url).href
    )) as typeof import('../../rules/builtin.js');
    expect(compiled.readBuiltinCache()).not.toBeNull();
    expect(await compiled.builtinRules()).toEqual(loadRulePack(builtinRuleFiles()));
  });
});
