// The names of the keyword-hit prefilters, apart from the schema: the engine reads them at scan time
// and must not load zod for it (test/cli/startup.test.ts holds a scan without config to no schema
// library). Implementations live in `scanner/engine/prefilters.ts`.

export const PREFILTER_NAMES = [
  'userinfo',
  'assignment-password',
  'assignment-secret',
  'assignment-token',
  'assignment-api-key',
  'assignment-aws-secret',
  'env-name',
  'cli-flag',
  'key-value-attribute',
] as const;
export type PrefilterName = (typeof PREFILTER_NAMES)[number];
/**
 * The prefilters that also reject a value reading as code (`token = options.authToken`), which the
 * placeholder filter would drop: a rule using one must take `placeholderFilter` (rules/load.ts).
 */
export const PREFILTERS_DROPPING_CODE: readonly PrefilterName[] = [
  'assignment-password',
  'assignment-secret',
  'assignment-token',
  'assignment-api-key',
];
