// The Redis the service shares: queues, workers, the finding store and the API all use this one.
import { z } from 'zod';
import { defineSection } from '../section.js';

/** @defaultValue `redis://127.0.0.1:6379` */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** @defaultValue `keywarden` */
export const DEFAULT_PREFIX = 'keywarden';

export const redisSection = defineSection({
  key: 'redis',
  fromFile: true,
  env: { REDIS_URL: 'url', KEYWARDEN_PREFIX: 'prefix' },
  schema: z
    .object({
      /** `REDIS_URL`: redis:// or rediss://, credentials and db number included. @defaultValue `redis://127.0.0.1:6379` */
      url: z
        .string()
        .refine((u) => /^rediss?:\/\//.test(u), 'must start with redis:// or rediss://')
        .default(DEFAULT_REDIS_URL),
      /**
       * `KEYWARDEN_PREFIX`: key prefix of the queues (`<prefix>:<kind>:…`) and the store
       * (`<prefix>:store:…`), so several deployments (or tests) can share one Redis. @defaultValue `keywarden`
       */
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/, 'may hold letters, digits, _ . - only')
        .default(DEFAULT_PREFIX),
    })
    .strict(),
});
