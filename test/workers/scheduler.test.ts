import { randomBytes } from 'node:crypto';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../workers/redis.js';
import { parseSchedule, SCHEDULER_ID_PREFIX, schedulerId, scheduleStatus, syncSchedules } from '../../workers/scheduler.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';

const invalidCases: Record<string, { yaml: string; problem: RegExp }> = {
  'both cron and every': {
    yaml: 'schedule: {cron: "0 2 * * *", every: 1000, repos: [a]}',
    problem: /schedule\.cron: give exactly one of cron or every/,
  },
  'neither cron nor every': { yaml: 'schedule: {repos: [a]}', problem: /schedule\.cron: give exactly one/ },
  'a cron with 3 fields': {
    yaml: 'schedule: {cron: "0 2 *", repos: [a]}',
    problem: /schedule\.cron: a cron expression has 5 fields/,
  },
  'an unknown time zone': {
    yaml: 'schedule: {cron: "0 2 * * *", timezone: Mars/Olympus, repos: [a]}',
    problem: /schedule\.timezone: not an IANA time zone/,
  },
  'no repositories': {
    yaml: 'schedule: {cron: "0 2 * * *", repos: []}',
    problem: /schedule\.repos: list at least one repository/,
  },
  'a repository listed twice': {
    yaml: 'schedule: {cron: "0 2 * * *", repos: [a, {repo: a}]}',
    problem: /schedule\.repos\.1: this repository and branch are listed twice/,
  },
  'an unknown field': { yaml: 'schedule: {cron: "0 2 * * *", repo: [a]}', problem: /schedule: .*repo/ },
};

describe('parseSchedule', () => {
  it('reads the schedule section of a .keywarden.yaml and leaves the scanner keys alone', () => {
    const s = parseSchedule(
      'extends: builtin\nschedule:\n  cron: "0 2 * * *"\n  timezone: Europe/Berlin\n  repos:\n    - /srv/git/app.git\n    - {repo: "https://example.com/lib.git", branch: main}\n',
      '.keywarden.yaml',
    );
    expect(s).toMatchObject({
      cron: '0 2 * * *',
      timezone: 'Europe/Berlin',
      incremental: true,
      attempts: 5,
      repos: [{ repo: '/srv/git/app.git' }, { repo: 'https://example.com/lib.git', branch: 'main' }],
    });
  });

  it('accepts a bare schedule file and defaults the time zone to UTC', () => {
    expect(parseSchedule('every: 60000\nrepos: [a]\n', 'nightly.yaml')).toMatchObject({
      every: 60000,
      timezone: 'UTC',
      repos: [{ repo: 'a' }],
    });
  });

  it('returns null for a config file without a schedule', () => {
    expect(parseSchedule('extends: builtin\n', '.keywarden.yaml')).toBeNull();
  });

  for (const [name, c] of Object.entries(invalidCases)) {
    it(`rejects ${name}, naming the field`, () => {
      let details: readonly string[] = [];
      try {
        parseSchedule(c.yaml, 'k.yaml');
      } catch (err) {
        expect((err as { code?: string }).code).toBe('KW_CONFIG_INVALID');
        details = (err as { details: readonly string[] }).details;
      }
      expect(details.join('\n')).toMatch(c.problem);
    });
  }

  it('gives each repository and branch its own scheduler id, without colons', () => {
    const a = schedulerId({ repo: 'a' });
    expect(a.startsWith(SCHEDULER_ID_PREFIX)).toBe(true);
    expect(a).not.toContain(':');
    expect(schedulerId({ repo: 'a', branch: 'main' })).not.toBe(a);
  });
});

describe('nightly schedule on a real Redis', () => {
  let redis: RedisHandle;
  let conn: Redis;
  let queue: Queue;
  let worker: Worker | undefined;
  const prefix = `kwtest-sched-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    redis = await startRedis({ aof: false });
    conn = createRedis(redis.url);
    queue = new Queue('scan-history', { connection: conn, prefix });
  });

  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    conn?.disconnect();
    await redis?.stop();
  });

  it('produces incremental scan jobs per repository; a failing one is retried and reported while the others keep running', async () => {
    const schedule = parseSchedule(
      'every: 250\nattempts: 2\nbackoff: 50\nrepos: [/srv/a.git, {repo: /srv/b.git, branch: main}, /srv/broken.git]\n',
      's.yaml',
    );
    if (!schedule) throw new Error('no schedule');
    const report = await syncSchedules(queue, schedule);
    expect(report.failed).toEqual([]);
    expect(report.upserted.map((u) => u.repo)).toEqual(['/srv/a.git', '/srv/b.git', '/srv/broken.git']);

    const runs = new Map<string, number>();
    const seen: Job[] = [];
    worker = new Worker(
      'scan-history',
      async (job) => {
        seen.push(job);
        if (job.data.repo === '/srv/broken.git') throw new Error('KW_GIT_NOT_A_REPO: not a git repository');
        runs.set(job.data.repo, (runs.get(job.data.repo) ?? 0) + 1);
        return { durationMs: 1 };
      },
      { connection: createRedis(redis.url), prefix },
    );

    const deadline = Date.now() + 15_000;
    let status = await scheduleStatus(queue, schedule);
    const done = () =>
      (runs.get('/srv/a.git') ?? 0) >= 3 &&
      (runs.get('/srv/b.git') ?? 0) >= 3 &&
      status.find((s) => s.repo === '/srv/broken.git')?.lastRun?.state === 'failed';
    while (!done() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      status = await scheduleStatus(queue, schedule);
    }
    expect(runs.get('/srv/a.git')).toBeGreaterThanOrEqual(3);
    expect(runs.get('/srv/b.git')).toBeGreaterThanOrEqual(3);

    const broken = status.find((s) => s.repo === '/srv/broken.git');
    expect(broken?.lastRun).toMatchObject({
      state: 'failed',
      attemptsMade: 2,
      failedReason: expect.stringContaining('not a git repository'),
    });
    expect(status.find((s) => s.repo === '/srv/a.git')?.lastRun?.state).toBe('completed');
    for (const s of status) expect(s.next).not.toBeNull();

    const b = seen.find((j) => j.data.repo === '/srv/b.git');
    expect(b?.name).toBe('scan-history');
    expect(b?.data).toEqual({ repo: '/srv/b.git', branch: 'main', incremental: true });
  });

  it('is idempotent and removes the schedulers of repositories dropped from the list', async () => {
    const schedule = parseSchedule('cron: "0 2 * * *"\ntimezone: Europe/Berlin\nrepos: [/srv/a.git]\n', 's.yaml');
    if (!schedule) throw new Error('no schedule');
    await queue.upsertJobScheduler('someone-else', { every: 3_600_000 });
    const first = await syncSchedules(queue, schedule);
    expect(first.removed).toHaveLength(2);
    const again = await syncSchedules(queue, schedule);
    expect(again.removed).toEqual([]);
    const ids = (await queue.getJobSchedulers(0, -1)).map((s) => s.id ?? s.key).sort();
    expect(ids).toEqual([schedulerId({ repo: '/srv/a.git' }), 'someone-else'].sort());
    const s = await queue.getJobScheduler(schedulerId({ repo: '/srv/a.git' }));
    expect(s).toMatchObject({ pattern: '0 2 * * *', tz: 'Europe/Berlin' });
  });
});
