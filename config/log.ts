// How much the long-running edges (worker, HTTP API, intake) log. pino's levels; `silent` is off.
import { z } from 'zod';
import { defineSection } from './section.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The variable that sets the level. */
export const LOG_LEVEL_ENV = 'KEYWARDEN_LOG_LEVEL';

export const logSection = defineSection({
  key: 'log',
  fromFile: true,
  env: { [LOG_LEVEL_ENV]: 'level' },
  schema: z
    .object({
      /** `KEYWARDEN_LOG_LEVEL` / `--log-level`. @defaultValue `info` */
      level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    })
    .strict(),
});
