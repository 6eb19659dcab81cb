import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetOf } from '../../scanner/target.js';

/** Every spelling of one repository names it once; each case: input → name. */
const URLS: Record<string, [string, string]> = {
  'scp-style with a user': ['git@github.com:acme/api.git', 'https://github.com/acme/api'],
  'scp-style without .git': ['git@github.com:acme/api', 'https://github.com/acme/api'],
  'scp-style with an absolute path': ['git@git.example.com:/srv/repos/api.git', 'https://git.example.com/srv/repos/api'],
  'ssh:// with a user': ['ssh://git@github.com/acme/api.git', 'https://github.com/acme/api'],
  'ssh:// with its port (the transport, not the server)': [
    'ssh://git@gitlab.example.com:2222/g/api.git',
    'https://gitlab.example.com/g/api',
  ],
  'git+ssh://': ['git+ssh://git@github.com/acme/api.git', 'https://github.com/acme/api'],
  'git://': ['git://github.com/acme/api.git', 'https://github.com/acme/api'],
  https: ['https://github.com/acme/api', 'https://github.com/acme/api'],
  'https with a trailing .git': ['https://github.com/acme/api.git', 'https://github.com/acme/api'],
  'https with a trailing slash': ['https://github.com/acme/api/', 'https://github.com/acme/api'],
  'https with .git and a trailing slash': ['https://github.com/acme/api.git/', 'https://github.com/acme/api'],
  'https with a token as the user': ['https://ghp_x@github.com/acme/api.git', 'https://github.com/acme/api'],
  'https with user and password': ['https://x-access-token:s3cret@github.com/acme/api', 'https://github.com/acme/api'],
  'https with the host in capitals': ['https://GitHub.com/acme/api', 'https://github.com/acme/api'],
  'ssh with the host in capitals': ['ssh://git@GITHUB.COM/acme/api.git', 'https://github.com/acme/api'],
  'the path keeps its case': ['https://github.com/Acme/API', 'https://github.com/Acme/API'],
  'https with the default port': ['https://github.com:443/acme/api', 'https://github.com/acme/api'],
  'http with the default port': ['http://git.example.com:80/acme/api', 'https://git.example.com/acme/api'],
  'https with another port (another server)': [
    'https://git.example.com:8443/acme/api.git',
    'https://git.example.com:8443/acme/api',
  ],
  'http with another port': ['http://localhost:3000/acme/api', 'https://localhost:3000/acme/api'],
  'repeated slashes': ['https://github.com//acme///api.git', 'https://github.com/acme/api'],
  'a query and a fragment': ['https://github.com/acme/api.git?ref=main#readme', 'https://github.com/acme/api'],
  'percent-encoded path': ['https://git.example.com/acme/my%20api.git', 'https://git.example.com/acme/my api'],
  'the name itself': ['https://github.com/acme/api', 'https://github.com/acme/api'],
};

describe('targetOf for URLs', () => {
  for (const [name, [input, want]] of Object.entries(URLS)) {
    it(`names ${name}: ${input}`, () => {
      expect(targetOf(input)).toBe(want);
      // A name given back (copied from `findings list`) names the same repository.
      expect(targetOf(want)).toBe(want);
    });
  }

  it('never keeps credentials', () => {
    for (const [input] of Object.values(URLS)) expect(targetOf(input)).not.toMatch(/s3cret|ghp_x|x-access-token|@/);
  });
});

describe('targetOf for local paths', () => {
  let root: string;
  let work: string;
  let bare: string;
  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'kw-target-')));
    work = join(root, 'work');
    bare = join(root, 'bare.git');
    mkdirSync(join(work, 'src', 'deep'), { recursive: true });
    execFileSync('git', ['init', '-q', work]);
    execFileSync('git', ['init', '-q', '--bare', bare]);
    writeFileSync(join(root, 'core.dump'), 'x');
    symlinkSync(work, join(root, 'link'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const cases = (): Record<string, [string, string]> => ({
    'a work tree': [work, work],
    'a work tree with a trailing slash': [`${work}/`, work],
    'a subdirectory of a work tree': [join(work, 'src', 'deep'), work],
    "a work tree's .git directory": [join(work, '.git'), work],
    'a symlink to a work tree': [join(root, 'link'), work],
    'a file:// URL': [`file://${work}`, work],
    'a bare repository': [bare, bare],
    'a file (a dump)': [join(root, 'core.dump'), join(root, 'core.dump')],
    'a path that does not exist': [join(root, 'gone', '..', 'missing'), join(root, 'missing')],
  });
  it('names each spelling by the repository (or file) it reaches', () => {
    for (const [name, [input, want]] of Object.entries(cases())) expect(targetOf(input), name).toBe(want);
  });

  it('resolves a relative path against the working directory', () => {
    const cwd = process.cwd();
    try {
      process.chdir(join(work, 'src'));
      expect(targetOf('deep')).toBe(work);
      expect(targetOf('.')).toBe(work);
    } finally {
      process.chdir(cwd);
    }
  });
});
