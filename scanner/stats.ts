// A scan's counted summary (the report's `stats`): every coordinator folds its sources' skips, errors
// and scanned bytes in here, so each kind of scan counts the same things the same way.
import type { ScanStats } from './report.js';
import type { Skip, SourceError } from './sources/types.js';

export function emptyStats(): ScanStats {
  return { files: 0, bytes: 0, skipped: {}, durationMs: 0, errors: [] };
}

/** A skip under its reason; an `unreadable` one also as an error (code and message, never content). */
export function countSkip(stats: ScanStats, s: Skip): void {
  stats.skipped[s.reason] = (stats.skipped[s.reason] ?? 0) + 1;
  if (s.reason === 'unreadable') stats.errors.push({ path: s.path, code: s.code ?? 'EIO', message: s.message ?? 'unreadable' });
}

/** A source that stopped part-way: what it yielded before is scanned, the error is listed. */
export function countError(stats: ScanStats, e: SourceError): void {
  stats.errors.push({ path: e.path, code: e.error.code, message: e.error.message });
}

/** Adds `from`'s counts to `into` (a scan made of several walks). Durations are the caller's. */
export function addStats(into: ScanStats, from: ScanStats): void {
  into.files += from.files;
  into.bytes += from.bytes;
  for (const [reason, n] of Object.entries(from.skipped) as [keyof ScanStats['skipped'], number][])
    into.skipped[reason] = (into.skipped[reason] ?? 0) + n;
  into.errors.push(...from.errors);
}

/** Errors in path order, so a report does not depend on which thread finished first. */
export function sortErrors(stats: ScanStats): void {
  stats.errors.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
