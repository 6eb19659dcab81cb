// Sizes and durations as people write them in flags, environment variables and the config file
// (`10MiB`, `500ms`, `24h`). Pure text → number; the callers say which setting was wrong.

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  kib: 1024,
  mib: 1 << 20,
  gib: 1 << 30,
};

/** `10MB` → 10,000,000 (MB = 10^6, MiB = 2^20); a bare number is bytes. Null if it is not a size. */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i.exec(text.trim());
  if (!m) return null;
  const unit = SIZE_UNITS[(m[2] ?? 'b').toLowerCase()];
  return unit === undefined ? null : Math.round(Number(m[1]) * unit);
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `500ms`, `30s`, `15m`, `4h`, `2d` → milliseconds; a bare number is milliseconds. Null if it is not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(text.trim());
  if (!m) return null;
  const unit = DURATION_UNITS[(m[2] ?? 'ms').toLowerCase()];
  return unit === undefined ? null : Math.round(Number(m[1]) * unit);
}
