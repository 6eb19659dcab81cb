// `keywarden serve`: where the HTTP API listens and the token it requires.
import { z } from 'zod';
import { Port } from '../fields.js';
import { defineSection } from '../section.js';
import { Token } from '../tokens.js';

/** @defaultValue `127.0.0.1`: loopback unless the operator says otherwise. */
export const DEFAULT_API_HOST = '127.0.0.1';
/** @defaultValue 8787 */
export const DEFAULT_API_PORT = 8787;

export const apiSection = defineSection({
  key: 'api',
  fromFile: true,
  envOnly: ['token'],
  env: { KEYWARDEN_API_HOST: 'host', KEYWARDEN_API_PORT: 'port', KEYWARDEN_API_TOKEN: 'token' },
  schema: z
    .object({
      /** `KEYWARDEN_API_HOST` / `--host`: address to listen on. @defaultValue `127.0.0.1` */
      host: z.string().min(1).default(DEFAULT_API_HOST),
      /** `KEYWARDEN_API_PORT` / `--port`: TCP port; 0 takes any free one. @defaultValue 8787 */
      port: Port.default(DEFAULT_API_PORT),
      /**
       * `KEYWARDEN_API_TOKEN`: the bearer token every route but the probes requires; 16+ characters, no
       * whitespace. Environment only. `serve` refuses to start without it. @defaultValue none
       */
      token: Token.optional(),
    })
    .strict(),
});
