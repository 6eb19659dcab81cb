// The Redis helper itself: a port taken between choosing it and redis-server binding it costs a retry,
// not a failed test file, and the server that answers is the one the helper started.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startRedis } from './redis.js';

describe('startRedis', () => {
  it('starts on another port when the first one is taken, and restarts on its own port with the data kept', async () => {
    const squatter = createServer().listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const taken = (squatter.address() as { port: number }).port;
    const redis = await startRedis({ firstPort: taken });
    const client = new Redis(redis.url, { maxRetriesPerRequest: 20 });
    try {
      expect(redis.port).not.toBe(taken);
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect((await client.config('GET', 'dir'))[1]).toBe(redis.dir);
      await client.set('k', 'v');
      await redis.restart();
      expect(await client.get('k')).toBe('v');
    } finally {
      client.disconnect();
      await redis.stop();
      squatter.close();
    }
  });
});
