// The log level of the long-running edges as a service setting.
import { z } from 'zod';
import { LOG_LEVEL_ENV, LOG_LEVELS } from '../log.js';
import { defineSection } from '../section.js';

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
