import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allowedRealPath, isUnder, lexicallyUnder } from '../../access/paths.js';

describe('isUnder', () => {
  const cases: Record<string, [string, string, boolean]> = {
    'the root itself': ['/var/crash', '/var/crash', true],
    'a file in it': ['/var/crash/core.1', '/var/crash', true],
    'a root given with a slash': ['/var/crash/core.1', '/var/crash/', true],
    'a sibling with the same prefix': ['/var/crash-other/core.1', '/var/crash', false],
    'a .. walk out': ['/var/crash/../../etc/shadow', '/var/crash', false],
    'everything under /': ['/etc/shadow', '/', true],
  };
  for (const [name, [path, root, want]] of Object.entries(cases))
    it(`says ${want} for ${name}`, () => expect(isUnder(path, root)).toBe(want));

  it('refuses relative paths lexically', () => expect(lexicallyUnder('var/crash/x', ['/var/crash'])).toBe(false));
});

describe('allowedRealPath', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'kw-paths-')));
  const out = realpathSync(mkdtempSync(join(tmpdir(), 'kw-paths-out-')));
  mkdirSync(join(root, 'in'));
  writeFileSync(join(root, 'in', 'a.bin'), 'a');
  writeFileSync(join(out, 'b.bin'), 'b');
  symlinkSync(join(out, 'b.bin'), join(root, 'in', 'escape.bin'));
  symlinkSync(join(root, 'in', 'a.bin'), join(out, 'into-root.bin'));
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('returns the real path of a file under a root', async () => {
    expect(await allowedRealPath('dump', join(root, 'in', 'a.bin'), [root])).toBe(join(root, 'in', 'a.bin'));
  });
  it('follows a link from outside into the root (the target is what is read)', async () => {
    expect(await allowedRealPath('dump', join(out, 'into-root.bin'), [root])).toBe(join(root, 'in', 'a.bin'));
  });
  it('gives one message for outside, absent, escaping and non-file paths', async () => {
    const messages = await Promise.all(
      [join(root, 'in', 'escape.bin'), join(root, 'in', 'nope.bin'), '/etc/passwd', join(root, 'in')].map((p) =>
        allowedRealPath('dump', p, [root], { regularFile: true }).then(
          () => 'allowed',
          (e: Error & { code: string }) => `${e.code}: ${e.message.replace(JSON.stringify(p), 'PATH')}`,
        ),
      ),
    );
    expect(new Set(messages)).toEqual(new Set(['KW_PATH_NOT_ALLOWED: dump path PATH is not allowed or not there']));
  });
  it('refuses everything when no root is set', async () => {
    await expect(allowedRealPath('dump', join(root, 'in', 'a.bin'), [])).rejects.toMatchObject({ code: 'KW_PATH_NOT_ALLOWED' });
  });
});
