// What kind of file an occurrence sits in (a test, a fixture, docs, an example, or code), as the
// scanner judges it from the path (scanner/context.ts). Zod-free: a CLI scan loads it at start-up.

/** The contexts an occurrence may carry; `code` is everything else (the default). */
export const FINDING_CONTEXTS = ['code', 'test', 'fixture', 'docs', 'example'] as const;
export type FindingContext = (typeof FINDING_CONTEXTS)[number];
