// Real git repositories built in a temp dir for the git tests: deterministic dates (one minute per
// commit) so log order and attribution are exact, and generated test-only secrets (seeded: test/helpers/seed.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RuleSpec } from '../../../rules/schema.js';
import { seededRandom } from '../../helpers/seed.js';

/** A test-only rule, so these tests do not depend on the built-in pack. */
export const KWTEST_RULE = RuleSpec.parse({
  id: 'kwtest-token',
  description: 'keywarden test token',
  provider: 'keywarden',
  category: 'generic',
  pattern: 'kwtest_[A-Za-z0-9]{32}',
  keywords: ['kwtest_'],
  examples: ['«kwtest_{base62:32}»'],
});

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const random = seededRandom();
export function secret(): string {
  return `kwtest_${[...random.bytes(32)].map((b) => B62[b % 62]).join('')}`;
}

export class TestRepo {
  readonly dir: string;
  private tick = 0;

  constructor(dir?: string) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'kw-git-'));
    if (!dir) {
      this.git('init', '-q', '-b', 'main');
      this.git('config', 'user.name', 'Ada Lovelace');
      this.git('config', 'user.email', 'ada@example.com');
      this.git('config', 'commit.gpgsign', 'false');
    }
  }

  git(...args: string[]): string {
    const date = `2024-01-01T00:${String(Math.floor(this.tick / 60)).padStart(2, '0')}:${String(this.tick % 60).padStart(2, '0')}Z`;
    return execFileSync('git', args, {
      cwd: this.dir,
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date, GIT_CONFIG_NOSYSTEM: '1', HOME: this.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  write(path: string, content: string | Buffer): void {
    mkdirSync(dirname(join(this.dir, path)), { recursive: true });
    writeFileSync(join(this.dir, path), content);
  }

  /** Stages everything and commits; returns the new commit's sha. */
  commit(message: string): string {
    this.tick++;
    this.git('add', '-A');
    this.git('commit', '-q', '--allow-empty', '-m', message);
    return this.head();
  }

  /** Merges `branch` into the current branch; on a conflict, `resolve` writes the resolution. */
  merge(branch: string, message: string, resolve?: () => void): string {
    this.tick++;
    try {
      this.git('merge', '-q', '--no-ff', '-m', message, branch);
    } catch (err) {
      if (!resolve) throw err;
      resolve();
      this.git('add', '-A');
      this.git('commit', '-q', '-m', message);
    }
    return this.head();
  }

  head(): string {
    return this.git('rev-parse', 'HEAD').trim();
  }
}

/** `n` lines of filler with `text` on line `at` (1-based). */
export function lines(n: number, at: number, text: string): string {
  return Array.from({ length: n }, (_, i) => (i + 1 === at ? `token = "${text}"` : `line ${i + 1}`)).join('\n') + '\n';
}
