// GitHub secret scanning alerts in, resolutions out (`keywarden serve`'s POST /v1/github/webhook and the
// workers that resolve an alert once its key is confirmed revoked): the webhook's signing secret, the
// API base URL (GitHub Enterprise Server) and the token keywarden reads and resolves alerts with.
import { z } from 'zod';
import { HttpUrl } from '../fields.js';
import { defineSection } from '../section.js';

/** @defaultValue `https://api.github.com` */
export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';
/** Shortest webhook secret accepted (characters): GitHub lets you pick any; a short one is guessable. */
export const MIN_GITHUB_WEBHOOK_SECRET_CHARS = 16;

export const githubSection = defineSection({
  key: 'github',
  fromFile: true,
  envOnly: ['webhookSecret', 'token'],
  env: {
    KEYWARDEN_GITHUB_WEBHOOK_SECRET: { field: 'webhookSecret', emptyIsValue: true },
    GITHUB_API_URL: 'apiUrl',
    KEYWARDEN_GITHUB_TOKEN: { field: 'token', emptyIsValue: true },
  },
  schema: z
    .object({
      /**
       * `KEYWARDEN_GITHUB_WEBHOOK_SECRET`: the secret of the repository's or organization's webhook
       * (`X-Hub-Signature-256`); setting it mounts POST /v1/github/webhook. 16+ characters; environment
       * only. @defaultValue none: the route is not mounted
       */
      webhookSecret: z
        .string()
        .min(MIN_GITHUB_WEBHOOK_SECRET_CHARS, `must be at least ${MIN_GITHUB_WEBHOOK_SECRET_CHARS} characters`)
        .optional(),
      /**
       * `GITHUB_API_URL`: the REST API's base URL; GitHub Enterprise Server: `https://HOST/api/v3`.
       * @defaultValue `https://api.github.com`
       */
      apiUrl: HttpUrl.default(DEFAULT_GITHUB_API_URL).transform((u) => u.replace(/\/+$/, '')),
      /**
       * `KEYWARDEN_GITHUB_TOKEN`: reads an alert's secret and locations, resolves the alert once the key is
       * confirmed revoked (a GitHub App installation token or a fine-grained token with "Secret scanning
       * alerts: read and write"). Environment only. @defaultValue none
       */
      token: z.string().min(1, 'must not be empty').optional(),
    })
    .strict()
    .superRefine((v, ctx) => {
      if (v.webhookSecret !== undefined && v.token === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['token'],
          message: "is not set; POST /v1/github/webhook needs it to fetch the alert's secret and locations",
        });
    }),
});
