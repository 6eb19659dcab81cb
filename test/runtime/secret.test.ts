import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeywardenError } from '../../errors/error.js';
import { createRotatableSecret, envSource, fileSource, type RotatableSecret, type RotationEvent } from '../../runtime/index.js';
import { thrown } from '../helpers/thrown.js';
import { sendJson, startServer, type TestServer, until } from './helpers.js';

const value = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

let dir: string;
const open: RotatableSecret[] = [];
const servers: TestServer[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kw-secret-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});
const track = (s: RotatableSecret) => {
  open.push(s);
  return s;
};

/** Writes `text` to `file` the way a rotation receiver and most tools do: a temporary file, then rename. */
function atomicWrite(file: string, text: string): void {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * The kubelet's layout for a mounted secret: `<dir>/<key>` -> `..data/<key>`, `..data` -> a timestamped
 * directory. An update writes a new timestamped directory and swaps `..data` by renaming a new symlink
 * over it.
 */
function kubeletMount(root: string, key: string, text: string): (next: string) => void {
  let n = 0;
  const version = () => `..${new Date().toISOString().replace(/[-:]/g, '_')}.${n++}`;
  const first = version();
  mkdirSync(join(root, first));
  writeFileSync(join(root, first, key), text);
  symlinkSync(first, join(root, '..data'));
  symlinkSync(join('..data', key), join(root, key));
  let current = first;
  return (next) => {
    const v = version();
    mkdirSync(join(root, v));
    writeFileSync(join(root, v, key), next);
    symlinkSync(v, join(root, '..data_tmp'));
    renameSync(join(root, '..data_tmp'), join(root, '..data'));
    rmSync(join(root, current), { recursive: true });
    current = v;
  };
}

describe('createRotatableSecret with fileSource', () => {
  it('rotates a file replaced by atomic rename while 50 requests are in flight: none fails, previous holds the old', async () => {
    const file = join(dir, 'api-key');
    const oldKey = value('old');
    const newKey = value('new');
    atomicWrite(file, `${oldKey}\n`);
    const rotations: RotationEvent[] = [];
    const secret = track(
      createRotatableSecret({
        name: 'llm',
        source: fileSource(file),
        refreshInterval: 200,
        onRotation: (e) => rotations.push(e),
      }),
    );
    expect(await secret.ready).toBe(oldKey);

    // The upstream the app calls holds every request until released, and accepts both keys (the old
    // one is revoked only after the overlap, by the receiver).
    const accepted = new Set([oldKey, newKey]);
    const held: Array<() => void> = [];
    const seenKeys: string[] = [];
    const upstream = await startServer((req, res) => {
      const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      seenKeys.push(key);
      const answer = () => (accepted.has(key) ? sendJson(res, 200, { ok: true }) : sendJson(res, 401, { error: 'invalid key' }));
      held.push(answer);
    });
    servers.push(upstream);
    const app = await startServer(async (_req, res) => {
      try {
        const r = await fetch(`${upstream.url}/v1/chat`, { headers: { authorization: `Bearer ${secret.value}` } });
        sendJson(res, r.status, await r.json());
      } catch {
        sendJson(res, 502, { error: 'upstream' });
      }
    });
    servers.push(app);

    const inFlight = Array.from({ length: 50 }, () => fetch(`${app.url}/ask`).then((r) => r.status));
    await until(() => held.length === 50, '50 requests held upstream');
    const pollsBefore = secret.status().polls;
    atomicWrite(file, `${newKey}\n`);
    await until(() => secret.value === newKey, 'the new key');
    // Within one poll interval: at most one poll ran between the rename and the switch (a watch event may beat it).
    expect(secret.status().polls - pollsBefore).toBeLessThanOrEqual(1);
    for (const release of held.splice(0)) release();
    expect(await Promise.all(inFlight)).toEqual(Array(50).fill(200));
    expect(seenKeys.slice(0, 50)).toEqual(Array(50).fill(oldKey));

    // Requests after the switch carry the new key; the old one is gone upstream and nothing notices.
    accepted.delete(oldKey);
    const after = Array.from({ length: 10 }, () => fetch(`${app.url}/ask`).then((r) => r.status));
    await until(() => held.length === 10, '10 more requests');
    for (const release of held.splice(0)) release();
    expect(await Promise.all(after)).toEqual(Array(10).fill(200));
    expect(seenKeys.slice(50)).toEqual(Array(10).fill(newKey));

    expect(secret.previous).toBe(oldKey);
    expect(rotations.map((e) => [e.version, e.cause])).toEqual([
      [1, 'source'],
      [2, 'source'],
    ]);
    expect(rotations[1]!.from).toBe(rotations[0]!.to);
    // Events carry hashes only.
    expect(JSON.stringify(rotations)).not.toContain(oldKey);
    expect(JSON.stringify(rotations)).not.toContain(newKey);
  });

  it('picks up a kubelet ..data symlink swap by polling alone, within one poll interval', async () => {
    const swap = kubeletMount(dir, 'token', value('v1'));
    const secret = track(
      createRotatableSecret({ name: 'mounted', source: fileSource(join(dir, 'token'), { watch: false }), refreshInterval: 100 }),
    );
    const first = await secret.ready;
    for (const label of ['v2', 'v3']) {
      const next = value(label);
      const before = secret.status().polls;
      swap(next);
      await until(() => secret.value === next, `the ${label} value`);
      expect(secret.status().polls - before).toBeLessThanOrEqual(1);
    }
    expect(secret.status().version).toBe(3);
    expect(secret.previous).not.toBe(first);
  });

  it('keeps the last good value when the file disappears, counting and reporting each failure without the value', async () => {
    const file = join(dir, 'key');
    const good = value('good');
    atomicWrite(file, good);
    const errors: KeywardenError[] = [];
    const secret = track(
      createRotatableSecret({ name: 'k', source: fileSource(file), refreshInterval: 60_000, onError: (e) => errors.push(e) }),
    );
    await secret.ready;
    unlinkSync(file);
    const outcome = await secret.refresh();
    expect(outcome).toMatchObject({ ok: false, version: 1 });
    expect(secret.value).toBe(good);
    expect(errors.map((e) => e.code)).toEqual(['KW_SECRET_SOURCE']);
    expect(errors[0]!.message).toContain('ENOENT');
    expect(secret.status()).toMatchObject({ errors: 1, consecutiveErrors: 1, lastErrorCode: 'KW_SECRET_SOURCE', version: 1 });

    writeFileSync(file, '   \n'); // empty after trimming: also a failure, not a value
    expect((await secret.refresh()).ok).toBe(false);
    expect(secret.value).toBe(good);
    expect(secret.status().errors).toBe(2);

    atomicWrite(file, good);
    expect(await secret.refresh()).toEqual({ ok: true, rotated: false, version: 1 });
    expect(secret.status().consecutiveErrors).toBe(0);
  });

  it('shares one fetch between concurrent refresh() calls', async () => {
    let fetches = 0;
    const secret = track(
      createRotatableSecret({
        name: 'f',
        source: async () => {
          fetches++;
          await new Promise((r) => setTimeout(r, 20));
          return 'same-value-each-time';
        },
        refreshInterval: 60_000,
      }),
    );
    await secret.ready;
    const before = fetches;
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => secret.refresh()));
    expect(fetches - before).toBe(1);
    expect(new Set(outcomes.map((o) => o.ok))).toEqual(new Set([true]));
  });

  it('retries the first value until the source has one; value throws KW_SECRET_NOT_READY before that', async () => {
    const file = join(dir, 'late');
    const secret = track(createRotatableSecret({ name: 'late', source: fileSource(file), refreshInterval: 1000 }));
    expect(thrown(() => secret.value)).toMatchObject({ code: 'KW_SECRET_NOT_READY' });
    await until(() => secret.status().errors >= 2, 'two failed first attempts');
    const v = value('late');
    atomicWrite(file, v);
    expect(await secret.ready).toBe(v);
  });

  it('rejects ready after readyTimeout, and on close before a first value', async () => {
    const never = track(createRotatableSecret({ name: 'never', source: fileSource(join(dir, 'none')), readyTimeout: 50 }));
    await expect(never.ready).rejects.toMatchObject({ code: 'KW_SECRET_NOT_READY' });
    const closed = createRotatableSecret({ name: 'closed', source: fileSource(join(dir, 'none')) });
    await closed.close();
    await expect(closed.ready).rejects.toMatchObject({ code: 'KW_SECRET_NOT_READY' });
  });

  it('never shows the value in inspect, JSON or status', async () => {
    const v = value('hidden');
    const secret = track(createRotatableSecret({ name: 'h', source: async () => v }));
    await secret.ready;
    expect(inspect(secret)).not.toContain(v);
    expect(inspect(secret)).toContain("name: 'h'");
    expect(JSON.stringify(secret)).not.toContain(v);
    expect(JSON.stringify(secret.status())).not.toContain(v);
  });

  it('a failing function source reports its error name, never its message', async () => {
    const errors: KeywardenError[] = [];
    let fail = false;
    const secret = track(
      createRotatableSecret({
        name: 'fn',
        source: async function fromVendor() {
          if (fail) throw new Error('GET https://vendor/?token=leaky failed');
          return 'first-value';
        },
        onError: (e) => errors.push(e),
      }),
    );
    await secret.ready;
    fail = true;
    await secret.refresh();
    expect(errors[0]!.message).toBe('function fromVendor: threw Error');
    expect(secret.value).toBe('first-value');
  });

  it('a hung source times out and the next refresh still runs', async () => {
    let calls = 0;
    const secret = track(
      createRotatableSecret({
        name: 'hung',
        source: () => (++calls === 2 ? new Promise<string>(() => {}) : Promise.resolve(`v${calls}`)),
        fetchTimeout: 50,
        refreshInterval: 60_000,
      }),
    );
    await secret.ready;
    expect(await secret.refresh()).toMatchObject({ ok: false });
    expect(await secret.refresh()).toMatchObject({ ok: true, rotated: true });
    expect(secret.value).toBe('v3');
  });

  it('set() holds until the source changes, so the next poll does not bring the old value back', async () => {
    let sourceValue = 'leaked-value-1';
    const secret = track(createRotatableSecret({ name: 's', source: async () => sourceValue, refreshInterval: 60_000 }));
    await secret.ready;
    const event = secret.set('emergency-value-2');
    expect(event).toMatchObject({ version: 2, cause: 'set' });
    await secret.refresh();
    expect(secret.value).toBe('emergency-value-2');
    expect(secret.previous).toBe('leaked-value-1');
    sourceValue = 'rotated-value-3';
    expect(await secret.refresh()).toMatchObject({ ok: true, rotated: true, version: 3 });
    expect(secret.value).toBe('rotated-value-3');
    expect(secret.previous).toBe('emergency-value-2');
  });

  it('forgets previous after the overlap window', async () => {
    let v = 'one-value';
    const secret = track(createRotatableSecret({ name: 'o', source: async () => v, overlap: 30, refreshInterval: 60_000 }));
    await secret.ready;
    v = 'two-value';
    await secret.refresh();
    expect(secret.previous).toBe('one-value');
    await until(() => secret.previous === undefined, 'the overlap to end');
  });

  it('envSource reads the variable; refreshInterval takes duration strings', async () => {
    const secret = track(
      createRotatableSecret({ name: 'e', source: envSource('KW_TEST_VAR', { KW_TEST_VAR: 'from-env' }), refreshInterval: '30s' }),
    );
    expect(await secret.ready).toBe('from-env');
    expect(
      thrown(() => createRotatableSecret({ name: 'bad', source: async () => 'x', refreshInterval: '30 parsecs' })),
    ).toMatchObject({
      code: 'KW_CONFIG_INVALID',
    });
  });
});
