// Field types for service config sections. A setting arrives as text from an environment variable
// or a flag, or typed from the YAML file; each field takes both. Messages are predicates, because a
// problem reads `NAME: <message>` (`KEYWARDEN_API_PORT: must be a port number 0..65535`).
import { z } from 'zod';
import { parseDuration, parseSize } from './units.js';

/** A TCP port, 0 (any free one) to 65535. */
export const Port = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    ctx.addIssue({ code: 'custom', message: `must be a port number 0..65535; got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return n;
});

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

/** On or off: a boolean in the file, `1 true yes on` / `0 false no off` as text. */
export const Flag = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  if (TRUE.test(v.trim())) return true;
  if (FALSE.test(v.trim())) return false;
  ctx.addIssue({
    code: 'custom',
    message: `must be 1, true, yes, on or 0, false, no, off; got ${JSON.stringify(v.slice(0, 20))}`,
  });
  return z.NEVER;
});

/** Bytes: a positive whole number, or a size such as `10MB`, `512KiB` (MB = 10^6, MiB = 2^20). */
export const Size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const bytes = typeof v === 'number' ? v : parseSize(v);
  if (bytes === null || !Number.isInteger(bytes) || bytes < 1) {
    ctx.addIssue({ code: 'custom', message: `must be a size like 10MiB or a number of bytes; got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return bytes;
});

/** Milliseconds: a whole number, or a duration such as `500ms`, `30s`, `15m`, `4h`, `2d`. */
export const Duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : parseDuration(v);
  if (ms === null || !Number.isInteger(ms) || ms < 0) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a duration like 30s, 15m, 4h or a number of milliseconds; got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  return ms;
});

/** An absolute http:// or https:// URL, normalised (`new URL(...).toString()`). */
export const HttpUrl = z.string().transform((v, ctx) => {
  let u: URL | null = null;
  try {
    u = new URL(v);
  } catch {
    // reported below
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
    return z.NEVER;
  }
  return u.toString();
});
