// The worker reads the error table's `retryable` column: what a retry cannot fix fails at once.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueues } from '../../workers/queue.js';
import { createRedis } from '../../workers/redis.js';
import { type RunningWorkers, startWorkers } from '../../workers/worker.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { githubToken, makeRepo, scanSettings } from './fixtures.js';

let redis: RedisHandle;
let conn: Redis;
let running: RunningWorkers | undefined;
const repos: string[] = [];

beforeAll(async () => {
  redis = await startRedis({ aof: false });
  conn = createRedis(redis.url);
});
afterAll(async () => {
  await running?.close();
  conn?.disconnect();
  await redis?.stop();
  for (const r of repos) rmSync(r, { recursive: true, force: true });
});

describe('worker retries by the error table', () => {
  it('fails a history scan at once when git itself fails on the repository (KW_GIT_COMMAND)', async () => {
    const repo = makeRepo([githubToken(900), githubToken(901)]);
    repos.push(repo);
    // Break the history: remove the object of the first commit, so `git log` dies on it.
    const first = execFileSync('git', ['rev-list', '--max-parents=0', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    const objects = join(repo, '.git', 'objects', first.slice(0, 2));
    for (const f of readdirSync(objects)) if (first.endsWith(f)) rmSync(join(objects, f));

    const prefix = `kwtest-retry-${randomBytes(4).toString('hex')}`;
    running = await startWorkers({ redisUrl: redis.url, prefix, queues: ['scan-history'], scan: scanSettings() });
    const queues = new JobQueues(conn, prefix);
    const job = await queues.enqueue('scan-history', { repo });
    const view = await queues.waitFor('scan-history', job.id, 30_000);
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(view.failedReason).toMatch(/^KW_GIT_COMMAND: git \w+ failed \(exit \d+\)/);
    await queues.close();
  });
});
