// The log-shipper intake mounted in `keywarden serve` (`--intake`): its own token, where it spools
// redacted batches, where it forwards them, and the largest batch it takes.
import { join } from 'node:path';
import { z } from 'zod';
import { Flag, HttpUrl, Size } from '../fields.js';
import type { KeywardenPaths } from '../paths.js';
import { defineSection } from '../section.js';
import { Token } from '../tokens.js';

/** Where the intake spools by default: state that must survive restarts. */
export function defaultIntakeSpool(paths: KeywardenPaths): string {
  return join(paths.stateDir, 'intake-spool');
}

/** @defaultValue 10 MiB */
export const DEFAULT_INTAKE_BODY_LIMIT = 10 * 1024 * 1024;

export const intakeSection = defineSection({
  key: 'intake',
  fromFile: true,
  envOnly: ['token'],
  env: {
    KEYWARDEN_INTAKE: 'enabled',
    KEYWARDEN_INTAKE_TOKEN: 'token',
    KEYWARDEN_INTAKE_SPOOL: 'spoolDir',
    KEYWARDEN_INTAKE_DOWNSTREAM: 'downstreamUrl',
    KEYWARDEN_INTAKE_BODY_LIMIT: 'bodyLimit',
  },
  schema: z
    .object({
      /** `KEYWARDEN_INTAKE=1` / `--intake`: mount the intake at /v1/intake. @defaultValue false */
      enabled: Flag.default(false),
      /**
       * `KEYWARDEN_INTAKE_TOKEN`: the shippers' bearer token, never the API's (every shipper host holds
       * it); 16+ characters. Environment only; required when the intake is on. @defaultValue none
       */
      token: Token.optional(),
      /** `KEYWARDEN_INTAKE_SPOOL` / `--intake-spool`: redacted batches not yet delivered. @defaultValue `<state dir>/intake-spool` */
      spoolDir: z.string().min(1).optional(),
      /** `KEYWARDEN_INTAKE_DOWNSTREAM` / `--intake-downstream`: forward batches here (POST). @defaultValue none: they stay in the spool */
      downstreamUrl: HttpUrl.optional(),
      /** `KEYWARDEN_INTAKE_BODY_LIMIT` / `--intake-body-limit`: bytes, after gzip decompression too. @defaultValue 10 MiB */
      bodyLimit: Size.default(DEFAULT_INTAKE_BODY_LIMIT),
    })
    .strict()
    .superRefine((v, ctx) => {
      if (v.enabled && v.token === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['token'],
          message: 'is not set; `serve --intake` needs a token of its own for log shippers (not KEYWARDEN_API_TOKEN)',
        });
      }
    }),
});
