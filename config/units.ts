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
const DURATION_TERM = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/i;
const BARE_NUMBER = /^\d+(?:\.\d+)?$/;

export interface ParseDurationOptions {
  /**
   * What a bare number (`250`) means: milliseconds (flags and most settings), or nothing (`refuse`:
   * settings where `30` reads as seconds to some and milliseconds to others; `0` is still 0).
   * @defaultValue 'ms'
   */
  bareNumber?: 'ms' | 'refuse';
}

/**
 * `500ms`, `30s`, `15m`, `4h`, `2d`, or a sum such as `1h30m` → milliseconds. Null if it is not a
 * duration. The one duration parser of keywarden: settings, flags and keywarden/runtime's options.
 */
export function parseDuration(text: string, opts: ParseDurationOptions = {}): number | null {
  const s = text.trim();
  if (s === '' || s.length > 64) return null;
  if (BARE_NUMBER.test(s)) return opts.bareNumber === 'refuse' && Number(s) !== 0 ? null : Math.round(Number(s));
  let total = 0;
  let rest = s;
  while (rest !== '') {
    const m = DURATION_TERM.exec(rest);
    if (!m) return null;
    total += Number(m[1]) * (DURATION_UNITS[(m[2] as string).toLowerCase()] as number);
    rest = rest.slice(m[0].length);
  }
  return Number.isFinite(total) ? Math.round(total) : null;
}

/** The shortest exact form of `ms` (`90000` → `1m30s`), for messages and docs. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = '';
  let rest = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
