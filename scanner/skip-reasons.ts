// Why a file was not scanned: the keys of a report's `stats.skipped`. Kept apart from report.ts (the
// zod schemas) so reporters can list them without loading the schema library on every scan.
export const SKIP_REASONS = ['binary', 'tooLarge', 'unreadable', 'excluded', 'symlink'] as const;
