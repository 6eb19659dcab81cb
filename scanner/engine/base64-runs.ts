// Finds runs of 32+ standard-base64 characters (the same runs as RE2 `[A-Za-z0-9+/]{32,}={0,2}`)
// without touching most bytes. RE2 ran that pattern at ~5.8 ms/MB on node_modules text (every
// identifier character starts a candidate); this sampler reads about one byte in ten.
//
// Why sampling is exact: samples are taken 32 bytes apart, counted from the last byte known not
// to be base64 (a sample that is not base64, or one found while measuring a run). A run of 32 or
// more that starts after such a byte p reaches p + 32 or starts after the next sample, so some sample
// falls inside every run. At a base64 sample the run's start s is found by walking back (at most to
// the last known non-base64 byte); the run is 32 long only if s..s+31 are all base64, which is
// checked from s+31 down, so that in code (identifiers of a few letters) the first non-base64 byte
// met is usually a few bytes in, and it is the new known byte: the next sample is 32 past it.

const B64 = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') B64[c.charCodeAt(0)] = 1;
const EQ = 0x3d;

/** Minimum run length, and the sampling stride. */
export const BASE64_MIN_RUN = 32;

/**
 * Each maximal run of >= 32 base64 characters in `buf`, `end` extended over up to two `=` of
 * padding, as flat [start0, end0, start1, end1, ...], in order and never overlapping. (An array and
 * not a callback: a callback per call site made V8 deoptimise the sampler on every new closure.)
 */
export function base64Runs(buf: Uint8Array): number[] {
  const runs: number[] = [];
  const n = buf.length;
  let known = -1; // a position known not to hold base64 (or -1: before the buffer)
  let i = BASE64_MIN_RUN - 1;
  while (i < n) {
    if (B64[buf[i]!] === 0) {
      known = i;
      i += BASE64_MIN_RUN;
      continue;
    }
    let s = i;
    while (s > known + 1 && B64[buf[s - 1]!] === 1) s--;
    const last = s + BASE64_MIN_RUN - 1;
    if (last >= n) break; // no run of 32 fits after s, and any later run starts after s
    let q = last;
    while (q > i && B64[buf[q]!] === 1) q--;
    if (q > i) {
      known = q;
      i = q + BASE64_MIN_RUN;
      continue;
    }
    let e = last + 1;
    while (e < n && B64[buf[e]!] === 1) e++;
    let end = e;
    if (end < n && buf[end] === EQ) end++;
    if (end < n && buf[end] === EQ) end++;
    runs.push(s, end);
    known = e;
    i = e + BASE64_MIN_RUN;
  }
  return runs;
}
