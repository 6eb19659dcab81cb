import { realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeywardenError } from '../../errors/error.js';
import type { Finding } from '../../model/finding.js';
import { targetOf } from '../../scanner/target.js';
import { processors } from '../../workers/handlers.js';
import { JOB_KINDS, JOB_RESULT_SCHEMAS } from '../../workers/jobs.js';
import { createRedis } from '../../workers/redis.js';
import { FindingStore } from '../../workers/store.js';
import { processJob } from '../../workers/worker.js';
import { git } from '../helpers/git-repo.js';
import { type RedisHandle, startRedis } from '../helpers/redis.js';
import { githubToken, makeRepo, scanSettings } from './fixtures.js';

let redis: RedisHandle;
let conn: Redis;
let n = 0;
/** A store under a prefix of its own: tests never see each other's keys. */
function freshStore(): FindingStore {
  return new FindingStore(conn, `t${process.pid}-${++n}`);
}

beforeAll(async () => {
  redis = await startRedis({ aof: false });
  conn = createRedis(redis.url);
});
afterAll(async () => {
  conn?.disconnect();
  await redis?.stop();
});

/** Every string value under the store's keys, to prove no secret reached Redis. */
async function everything(prefix: string): Promise<string> {
  const keys = await conn.keys(`${prefix}*`);
  const parts: string[] = [];
  for (const k of keys) {
    const type = await conn.type(k);
    if (type === 'hash') parts.push(JSON.stringify(await conn.hgetall(k)));
    else if (type === 'set') parts.push(JSON.stringify(await conn.smembers(k)));
    else if (type === 'zset') parts.push(JSON.stringify(await conn.zrange(k, '0', '-1')));
    else if (type === 'stream') parts.push(JSON.stringify(await conn.xrange(k, '-', '+')));
    else if (type === 'string') parts.push((await conn.get(k)) ?? '');
  }
  return parts.join('\n');
}

/** A finding seen once, at `line` of app.env, carrying its secret (as with --show-secrets): the store must drop it. */
function fakeFinding(fp: string, line: number): Finding {
  return {
    fingerprint: fp,
    ruleId: 'github-pat',
    description: 'GitHub classic personal access token',
    confidence: 'high',
    redacted: 'ghp_ab…',
    entropy: 5,
    secret: 'ghp_THIS_MUST_NEVER_BE_STORED',
    state: 'detected',
    occurrences: [{ provenance: { kind: 'file', path: 'app.env' }, span: { line, column: 1, endLine: line, endColumn: 41 } }],
  };
}

describe('FindingStore', () => {
  it('records one finding per fingerprint when many writers add occurrences of it at once', async () => {
    const fp = `kw1:${'1'.repeat(32)}`;
    const stores = [freshStore(), freshStore()];
    const shared = new FindingStore(createRedis(redis.url), stores[0]!.ns.replace(/:store$/, ''));
    // Ten places, each written twice by different writers: one occurrence per place.
    const writers = Array.from({ length: 20 }, (_, i) =>
      (i % 2 === 0 ? stores[0]! : shared).record([fakeFinding(fp, (i % 10) + 1)], { actor: `w${i % 2}` }),
    );
    const results = await Promise.all(writers);
    expect(results.reduce((s, r) => s + r.newFindings, 0)).toBe(1);
    expect(results.reduce((s, r) => s + r.newOccurrences, 0)).toBe(10);
    const f = await stores[0]!.mustGet(fp);
    expect(f).toMatchObject({ state: 'detected', occurrenceCount: 10, ruleId: 'github-pat', entropy: 5 });
    expect((await stores[0]!.occurrences(fp)).map((o) => o.key)).toEqual(
      Array.from({ length: 10 }, (_, i) => `file|app.env|${i + 1}|1`).sort(),
    );
    expect((await stores[0]!.audit(fp)).filter((e) => e.what === 'detected')).toHaveLength(1);
    expect(await everything(stores[0]!.ns)).not.toContain('THIS_MUST_NEVER_BE_STORED');
    shared.redis.disconnect();
  });

  it('scans a repository history into findings and a re-run adds nothing', async () => {
    const store = freshStore();
    const tokens = [githubToken(1), githubToken(2), githubToken(3)];
    const repo = makeRepo(tokens);
    try {
      const ctx = { scan: scanSettings(), store, actor: 'test' };
      const first = await processJob('scan-history', { repo }, ctx);
      expect(first).toMatchObject({ findings: 3, newFindings: 3, newOccurrences: 3 });
      const [again, parallel] = await Promise.all([
        processJob('scan-history', { repo }, ctx),
        processJob('scan-history', { repo }, ctx),
      ]);
      expect(again.newFindings + parallel.newFindings + again.newOccurrences + parallel.newOccurrences).toBe(0);
      const list = await store.list();
      expect(list).toHaveLength(3);
      expect(list.every((f) => f.occurrenceCount === 1 && f.ruleId === 'github-pat')).toBe(true);
      const occ = await store.occurrences(list[0]!.fingerprint);
      const p = occ[0]!.provenance;
      expect(p.kind).toBe('git');
      expect(p.kind === 'git' && p.path).toBe('config/0.env'); // deleted later, still found
      // Named by targetOf: the work tree's real path.
      expect(p.kind === 'git' && p.repo).toBe(realpathSync(repo));
      expect(occ[0]!.key).toBe(`git|${realpathSync(repo)}|${p.kind === 'git' && p.commit}|config/0.env|2|13`);
      const dump = await everything(store.ns);
      for (const t of tokens) expect(dump).not.toContain(t);
      expect(await store.list({ target: realpathSync(repo) })).toHaveLength(3);
      // A subdirectory of the work tree names the same repository.
      expect(await store.list({ target: targetOf(join(repo, 'config')) })).toHaveLength(3);
      expect(await store.list({ target: '/elsewhere' })).toHaveLength(0);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('a history job records secrets in commit messages, authors and branch names at their own location, and stores none of them in clear', async () => {
    const store = freshStore();
    const [inFile, inMessage, inAuthor, inBranch] = [githubToken(31), githubToken(32), githubToken(33), githubToken(34)];
    const repo = makeRepo([inFile]);
    try {
      git(repo, 'commit', '-q', '--allow-empty', '-m', `ci: deploy\n\nused ${inMessage} for now`);
      git(repo, 'commit', '-q', '--allow-empty', `--author=bot ${inAuthor} <bot@example.com>`, '-m', 'bump');
      git(repo, 'branch', `tmp-${inBranch}`);
      const ctx = { scan: scanSettings(), store, actor: 'test' };
      expect(await processJob('scan-history', { repo }, ctx)).toMatchObject({ findings: 4, newOccurrences: 4 });
      const located: string[] = [];
      for (const f of await store.list()) {
        for (const o of await store.occurrences(f.fingerprint))
          if (o.provenance.kind === 'git') located.push(`${o.provenance.location ?? o.provenance.path}:${o.span.line}`);
      }
      expect(located.sort()).toEqual(['author:1', 'config/0.env:2', 'message:3', 'ref:1']);
      const dump = await everything(store.ns);
      for (const t of [inFile, inMessage, inAuthor, inBranch]) expect(dump).not.toContain(t);
      expect(dump).toContain('[REDACTED:github-pat:kw1:');
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('an incremental history scan only looks at commits added since the last one', async () => {
    const store = freshStore();
    const repo = makeRepo([githubToken(11)]);
    try {
      const ctx = { scan: scanSettings(), store, actor: 'test' };
      expect((await processJob('scan-history', { repo, incremental: true }, ctx)).findings).toBe(1);
      expect((await processJob('scan-history', { repo, incremental: true }, ctx)).findings).toBe(0);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('scans a log batch at stream line numbers and a crash dump at byte offsets', async () => {
    const store = freshStore();
    const ctx = { scan: scanSettings(), store, actor: 'test' };
    const token = githubToken(21);
    const batch = { stream: 'api', lines: ['GET /health 200', `auth failed with ${token}`], firstLine: 100 };
    const first = await processJob('scan-log-batch', batch, ctx);
    expect(first).toMatchObject({ kind: 'scan-log-batch', findings: 1, newOccurrences: 1 });
    // What BullMQ keeps is what the kind's result schema says.
    expect(JOB_RESULT_SCHEMAS['scan-log-batch'].parse(first)).toEqual(first);
    expect(await processJob('scan-log-batch', batch, ctx)).toMatchObject({ findings: 1, newOccurrences: 0 });
    const [f] = await store.list({ target: 'api' });
    const [o] = await store.occurrences(f!.fingerprint);
    expect(o).toMatchObject({
      key: `log|api|@|101|${o!.span.column}`,
      span: { line: 101 },
      provenance: { kind: 'log', stream: 'api' },
    });

    const dumpPath = join(tmpdir(), `kw-dump-${process.pid}.bin`);
    const head = Buffer.alloc(5000, 0xfe);
    writeFileSync(dumpPath, Buffer.concat([head, Buffer.from(`\0${token}\0`), Buffer.alloc(300, 0)]));
    try {
      const r = await processJob('scan-dump', { path: dumpPath }, ctx);
      expect(r).toMatchObject({ findings: 1, newFindings: 0, newOccurrences: 1 }); // same secret as the log line
      const occs = await store.occurrences(f!.fingerprint);
      expect(occs.find((x) => x.provenance.kind === 'dump')!.provenance).toEqual({ kind: 'dump', path: dumpPath, offset: 5001 });
      expect(await store.list({ target: targetOf(dumpPath) })).toHaveLength(1);
    } finally {
      rmSync(dumpPath, { force: true });
    }
  });

  it('has a processor for every job kind', () => {
    expect(Object.keys(processors).sort()).toEqual([...JOB_KINDS].sort());
  });

  it('rejects invalid job data, and rotation jobs where no rotation loop runs, with typed errors', async () => {
    const ctx = { scan: scanSettings(), store: freshStore(), actor: 'test' };
    await expect(processJob('scan-history', { repo: 42 }, ctx)).rejects.toSatisfy((e) => isKeywardenError(e, 'KW_JOB_INVALID'));
    for (const kind of ['rotate', 'confirm-revocation'] as const) {
      await expect(processJob(kind, { fingerprint: `kw1:${'2'.repeat(32)}` }, ctx)).rejects.toSatisfy(
        (e) => isKeywardenError(e, 'KW_CONFIG_INVALID') && /without the rotation loop/.test((e as Error).message),
      );
    }
  });

  it('moves a finding through its lifecycle with an audit event per step and figures for health', async () => {
    const store = freshStore();
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const [a, b, c] = ['a', 'b', 'c'].map((x) => `kw1:${x.repeat(32)}`);
    await store.record(
      [a!, b!, c!].map((fp) => fakeFinding(fp, 1)),
      { actor: 'scan', now: t0 },
    );
    const who = (h: number, reason: string) => ({ actor: 'alice', reason, now: t0 + h * 3_600_000 });
    await store.apply(a!, 'request_rotation', who(1, 'owner paged'));
    await store.apply(a!, 'rotated', who(2, 'new key deployed'));
    await store.apply(a!, 'confirm_revoked', who(5, 'provider returns 401'));
    await store.resolve(b!, 'false_positive', who(1, 'test fixture'));
    await expect(store.apply(a!, 'request_rotation', who(6, 'again'))).rejects.toSatisfy((e) =>
      isKeywardenError(e, 'KW_ILLEGAL_TRANSITION'),
    );
    await expect(store.apply(`kw1:${'f'.repeat(32)}`, 'escalate', who(6, 'x'))).rejects.toSatisfy((e) =>
      isKeywardenError(e, 'KW_FINDING_NOT_FOUND'),
    );

    const trail = await store.audit(a!);
    expect(trail.map((e) => [e.what, e.from, e.to, e.actor])).toEqual([
      ['detected', '', 'detected', 'scan'],
      ['request_rotation', 'detected', 'rotation_requested', 'alice'],
      ['rotated', 'rotation_requested', 'rotated', 'alice'],
      ['confirm_revoked', 'rotated', 'revoked', 'alice'],
    ]);
    expect(trail[3]).toMatchObject({ reason: 'provider returns 401', at: '2026-01-01T05:00:00.000Z' });
    expect((await store.mustGet(a!)).stateTimes.revoked).toBe('2026-01-01T05:00:00.000Z');

    expect((await store.list({ state: 'detected' })).map((f) => f.fingerprint)).toEqual([c]);
    expect((await store.list({ state: 'false_positive', ruleId: 'github-pat' })).map((f) => f.fingerprint)).toEqual([b]);

    const h = await store.health(t0 + 3 * 86_400_000);
    expect(h.open.total).toBe(1);
    expect(h.open.byState.detected).toMatchObject({ count: 1, oldestSeconds: 3 * 86_400, ages: { d1to7: 1 } });
    expect(h.closed).toMatchObject({ revoked: 1, false_positive: 1 });
    expect(h.timeToRevoke).toEqual({ count: 1, medianSeconds: 5 * 3600, p90Seconds: 5 * 3600, maxSeconds: 5 * 3600 });
  });
});
