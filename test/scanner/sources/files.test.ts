import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isKeywardenError } from '../../../errors/error.js';
import { looksBinary } from '../../../scanner/binary.js';
import { treeChunks, type WalkEvent, walkTree } from '../../../scanner/sources/files.js';

// Root can read a chmod-000 directory, so the always-run "unreadable directory" case makes readdir
// fail through a mock instead; the real chmod case runs only when the tests are not root.
const failing = vi.hoisted(() => new Map<string, string>());
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const readdirSync = ((path: string, opts?: unknown) => {
    const code = failing.get(String(path));
    if (code) throw Object.assign(new Error(`${code}: permission denied, scandir '${String(path)}'`), { code });
    return (real.readdirSync as (p: string, o?: unknown) => unknown)(path, opts);
  }) as typeof real.readdirSync;
  return { ...real, default: { ...real, readdirSync }, readdirSync };
});

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kw-walk-'));
});
afterEach(() => {
  failing.clear();
  rmSync(root, { recursive: true, force: true });
});

function tree(base: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(base, rel)), { recursive: true });
    writeFileSync(join(base, rel), content);
  }
}

async function walk(dir: string, opts: { excludes?: string[]; maxFileSize?: number } = {}): Promise<WalkEvent[]> {
  const out: WalkEvent[] = [];
  for await (const ev of walkTree(dir, { excludes: opts.excludes ?? [], maxFileSize: opts.maxFileSize ?? 1e6 })) out.push(ev);
  return out;
}

const files = (evs: WalkEvent[]) => evs.flatMap((e) => (e.kind === 'file' ? [e.entry.path] : []));
const skips = (evs: WalkEvent[]) =>
  evs.flatMap((e) => (e.kind === 'skip' ? [`${e.reason} ${e.path}${e.code ? ` ${e.code}` : ''}`] : []));

describe('treeChunks', () => {
  it('yields each file as a chunk from its start, with file provenance, and skips as counted values', async () => {
    tree(root, { 'a.txt': 'one\ntwo\n', 'big.bin': 'x'.repeat(50) });
    const out: unknown[] = [];
    for await (const ev of treeChunks(root, { excludes: [], maxFileSize: 20 })) {
      out.push(ev.kind === 'chunk' ? { ...ev.chunk, bytes: ev.chunk.bytes.toString('utf8') } : ev);
    }
    expect(out).toEqual([
      { bytes: 'one\ntwo\n', provenance: { kind: 'file', path: 'a.txt' }, offset: 0, startLine: 1 },
      { kind: 'skip', path: 'big.bin', reason: 'tooLarge' },
    ]);
  });
});

describe('walkTree', () => {
  it('yields every file with a relative /-separated path, absolute path and size, in name order', async () => {
    tree(root, { 'b.txt': 'bb', 'a/z.txt': 'z', 'a/y/x.txt': 'xxx', '.env': 'E=1' });
    const evs = await walk(root);
    expect(files(evs)).toEqual(['.env', 'b.txt', 'a/z.txt', 'a/y/x.txt']);
    const x = evs.find((e) => e.kind === 'file' && e.entry.path === 'a/y/x.txt');
    expect(x).toEqual({ kind: 'file', entry: { path: 'a/y/x.txt', absPath: join(root, 'a', 'y', 'x.txt'), size: 3 } });
    expect(skips(evs)).toEqual([]);
  });

  it('never enters .git and does not count it as skipped', async () => {
    tree(root, { '.git/config': '[core]', '.git/objects/ab/cd': 'x', 'sub/.git': 'gitdir: ../.git/modules/sub', 'sub/f': 'f' });
    const evs = await walk(root);
    expect(files(evs)).toEqual(['sub/f']);
    expect(skips(evs)).toEqual([]);
  });

  it('honours nested .gitignore files in their own subtree only, deeper files overriding shallower ones', async () => {
    tree(root, {
      '.gitignore': '*.log\nbuild/\n',
      'a.log': '',
      'build/out.js': '',
      'src/build.js': '', // `build/` matches directories only
      'sub/.gitignore': '!keep.log\nlocal.txt\n/only-here.txt\n',
      'sub/keep.log': '',
      'sub/drop.txt.log': '',
      'sub/local.txt': '',
      'sub/only-here.txt': '',
      'sub/deeper/only-here.txt': '', // anchored pattern: only sub/only-here.txt
      'sub/deeper/local.txt': '',
      'other/local.txt': '', // sub/.gitignore does not reach here
    });
    const evs = await walk(root);
    expect(files(evs).sort()).toEqual(
      ['.gitignore', 'other/local.txt', 'src/build.js', 'sub/.gitignore', 'sub/deeper/only-here.txt', 'sub/keep.log'].sort(),
    );
    // Gitignored files are not part of the project: not skipped, not counted (as gitleaks).
    expect(skips(evs)).toEqual([]);
  });

  it('applies .gitignore files above the root up to the repository top, and .git/info/exclude', async () => {
    tree(root, {
      '.git/info/exclude': 'pkg/excluded-by-info.txt\n',
      '.gitignore': '*.tmp\n',
      'pkg/a.tmp': '',
      'pkg/b.txt': '',
      'pkg/excluded-by-info.txt': '',
    });
    const evs = await walk(join(root, 'pkg'));
    expect(files(evs)).toEqual(['b.txt']);
  });

  it('skips config excludes as `excluded`, counting an excluded directory once without walking it', async () => {
    tree(root, { 'vendor/a.js': '', 'vendor/deep/b.js': '', 'app.min.js': '', 'app.js': '', 'lib/x.min.js': '' });
    const evs = await walk(root, { excludes: ['vendor/', '*.min.js'] });
    expect(files(evs)).toEqual(['app.js']);
    expect(skips(evs)).toEqual(['excluded app.min.js', 'excluded vendor/', 'excluded lib/x.min.js']);
  });

  it('reports symlinks to files and directories as `symlink` and never follows them (no loop)', async () => {
    tree(root, { 'real/f.txt': 'f' });
    symlinkSync(join(root, 'real', 'f.txt'), join(root, 'link.txt'));
    symlinkSync(join(root, 'real'), join(root, 'linkdir'));
    symlinkSync(root, join(root, 'real', 'loop'));
    symlinkSync(join(root, 'nowhere'), join(root, 'dangling'));
    const evs = await walk(root);
    expect(files(evs)).toEqual(['real/f.txt']);
    expect(skips(evs)).toEqual(['symlink dangling', 'symlink link.txt', 'symlink linkdir', 'symlink real/loop']);
  });

  it('skips files over maxFileSize as `tooLarge` and keeps a file of exactly maxFileSize', async () => {
    tree(root, { 'big.bin': 'x'.repeat(101), 'edge.txt': 'x'.repeat(100) });
    const evs = await walk(root, { maxFileSize: 100 });
    expect(files(evs)).toEqual(['edge.txt']);
    expect(skips(evs)).toEqual(['tooLarge big.bin']);
  });

  it('reports an unreadable directory as one `unreadable` skip with its errno code and walks on (mocked readdir)', async () => {
    tree(root, { 'locked/secret.txt': '', 'open/ok.txt': '' });
    failing.set(join(root, 'locked'), 'EACCES');
    const evs = await walk(root);
    expect(files(evs)).toEqual(['open/ok.txt']);
    expect(skips(evs)).toEqual(['unreadable locked/ EACCES']);
  });

  it.skipIf(process.getuid?.() === 0)(
    'reports a chmod-000 directory as `unreadable` (real permissions; skipped as root)',
    async () => {
      tree(root, { 'locked/secret.txt': '', 'open/ok.txt': '' });
      chmodSync(join(root, 'locked'), 0o000);
      try {
        const evs = await walk(root);
        expect(files(evs)).toEqual(['open/ok.txt']);
        expect(skips(evs)).toEqual(['unreadable locked/ EACCES']);
      } finally {
        chmodSync(join(root, 'locked'), 0o755);
      }
    },
  );

  it('yields a root that is a regular file as that one file', async () => {
    tree(root, { 'one.env': 'A=1' });
    expect(await walk(join(root, 'one.env'))).toEqual([
      { kind: 'file', entry: { path: 'one.env', absPath: join(root, 'one.env'), size: 3 } },
    ]);
  });

  it('throws KW_SOURCE_READ for a root that does not exist or cannot be read', async () => {
    const err = await walk(join(root, 'missing')).catch((e: unknown) => e);
    expect(isKeywardenError(err) && err.code).toBe('KW_SOURCE_READ');
    failing.set(root, 'EACCES');
    const err2 = await walk(root).catch((e: unknown) => e);
    expect(isKeywardenError(err2) && err2.code).toBe('KW_SOURCE_READ');
  });

  it('streams: a consumer can stop early', async () => {
    tree(root, Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`d${i % 5}/f${i}.txt`, 'x'])));
    let n = 0;
    for await (const _ of walkTree(root, { excludes: [], maxFileSize: 1e6 })) if (++n === 3) break;
    expect(n).toBe(3);
  });
});

describe('looksBinary', () => {
  const cases: Record<string, [Buffer, boolean]> = {
    'plain ASCII': [Buffer.from('const a = 1;\n'), false],
    'UTF-8 text': [Buffer.from('naïve café — 日本語 🙂\n'), false],
    empty: [Buffer.alloc(0), false],
    'NUL byte': [Buffer.from('abc\0def'), true],
    'UTF-16LE text (NULs, as git)': [Buffer.from('hello', 'utf16le'), true],
    'NUL only after 8000 bytes': [Buffer.concat([Buffer.alloc(8000, 0x61), Buffer.from([0])]), false],
    PNG: [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x41]), true],
    JPEG: [Buffer.from([0xff, 0xd8, 0xff, 0xe0]), true],
    GIF: [Buffer.from('GIF89a'), true],
    PDF: [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), true],
    ZIP: [Buffer.from('PK\x03\x04', 'latin1'), true],
    gzip: [Buffer.from([0x1f, 0x8b, 0x08]), true],
    ELF: [Buffer.from('\x7fELF', 'latin1'), true],
    'Mach-O 64': [Buffer.from([0xcf, 0xfa, 0xed, 0xfe]), true],
    'PE (DOS header holds NULs)': [Buffer.concat([Buffer.from('MZ'), Buffer.from([0x90, 0, 3, 0])]), true],
    'text starting with MZ': [Buffer.from('MZ is a postcode area\n'), false],
  };
  for (const [name, [buf, want]] of Object.entries(cases)) {
    it(`${name} → ${want ? 'binary' : 'text'}`, () => expect(looksBinary(buf)).toBe(want));
  }
});
