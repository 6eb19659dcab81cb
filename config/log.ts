// How much the long-running edges (worker, HTTP API, intake) log. pino's levels; `silent` is off.

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The variable that sets the level. */
export const LOG_LEVEL_ENV = 'KEYWARDEN_LOG_LEVEL';
