// `keywarden/pino` in a real pino logger: the transport runs in pino's worker thread (compiled dist/,
// resolved through the package's `exports`), and what reaches the destination file has no secret.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { expandTemplate, seededRng } from '../../rules/examples.js';
import { fingerprint } from '../../scanner/fingerprint.js';

const KEY = 'pino-test-fingerprint-key-0123';
const rng = seededRng(31);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
const dir = mkdtempSync(join(tmpdir(), 'kw-pino-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keywarden/pino', () => {
  it('redacts secrets in log lines before they reach the destination', async () => {
    const file = join(dir, 'app.log');
    const transport = pino.transport({ target: 'keywarden/pino', options: { destination: file, fingerprintKey: KEY } });
    const logger = pino(transport);
    const [a, b] = [ghp(), ghp()];
    logger.info({ user: 'ada', token: a }, 'signed in');
    logger.warn(`retrying with Authorization: token ${b}`);
    for (let i = 0; i < 100; i++) logger.debug({ i }, 'noise'); // below the level: not written
    logger.info({ i: 1 }, 'done');
    transport.end();
    await once(transport, 'close');

    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(a);
    expect(text).not.toContain(b);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    const mark = (s: string) => `[REDACTED:github-pat:kw1:${fingerprint(Buffer.from(KEY), 'github-pat', s).slice(4, 10)}]`;
    expect(lines[0]).toMatchObject({ level: 30, user: 'ada', token: mark(a), msg: 'signed in' });
    expect(lines[1].msg).toContain('[REDACTED:');
    expect(lines[2]).toMatchObject({ i: 1, msg: 'done' });
  });
});
