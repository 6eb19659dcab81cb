// The service configuration's view of the XDG directories (config/paths.ts derives them).
import { z } from 'zod';
import { pathsOf } from '../paths.js';
import { defineSection } from '../section.js';

export const pathsSection = defineSection({
  key: 'paths',
  fromFile: false,
  env: { XDG_CONFIG_HOME: 'configHome', XDG_CACHE_HOME: 'cacheHome', XDG_STATE_HOME: 'stateHome', HOME: 'home' },
  schema: z
    .object({
      configHome: z.string().optional(),
      cacheHome: z.string().optional(),
      stateHome: z.string().optional(),
      home: z.string().optional(),
    })
    .transform(pathsOf),
});
