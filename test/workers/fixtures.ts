// Test-time fixtures for the service tests: generated GitHub tokens (never committed) and a real git
// repository that holds them, plus the scan settings a worker would build.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinRules } from '../../rules/builtin.js';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import type { ScanSettings } from '../../workers/handlers.js';

/** Same key for every worker of a test: one secret, one fingerprint. */
export const TEST_FINGERPRINT_KEY = 'keywarden-test-fingerprint-key-0123456789';

export function githubToken(seed: number): string {
  const e = expandTemplate('«ghp_{base62:30}{checksum}»', { checksum: 'github-crc32', rng: seededRng(seed) });
  return e.secret!;
}

const BUILTIN = await builtinRules();

export function scanSettings(): ScanSettings {
  return {
    rules: BUILTIN,
    globalAllow: {},
    fingerprintKey: Buffer.from(TEST_FINGERPRINT_KEY, 'utf8'),
    maxFileSize: 10_000_000,
    cacheDir: join(tmpdir(), 'kw-test-cache'),
    env: process.env,
  };
}

export function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, {
    cwd,
    stdio: 'ignore',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'T',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 'T',
      GIT_COMMITTER_EMAIL: 't@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: cwd,
    },
  });
}

/**
 * A repository with `tokens.length` commits, commit i adding `config/i.env` that holds token i, and a
 * last commit that deletes the first file (a deleted secret must still be found in history).
 */
export function makeRepo(tokens: readonly string[], fillerFiles = 0): string {
  const dir = mkdtempSync(join(tmpdir(), 'kw-repo-'));
  git(dir, 'init', '-q', '-b', 'main');
  mkdirSync(join(dir, 'config'));
  for (let f = 0; f < fillerFiles; f++) writeFileSync(join(dir, `filler-${f}.txt`), `line ${f}\n`.repeat(200));
  tokens.forEach((t, i) => {
    writeFileSync(join(dir, 'config', `${i}.env`), `# service ${i}\npushed with ${t}\n`);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', `add service ${i}`);
  });
  if (tokens.length > 1) {
    git(dir, 'rm', '-q', 'config/0.env');
    git(dir, 'commit', '-q', '-m', 'remove service 0');
  }
  return dir;
}
