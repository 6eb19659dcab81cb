// The redacted preview every report shows in place of a secret: enough of its ends to recognise a
// key in a provider's console, never enough to use or brute-force it. Called by `pipeline.ts`.

/** The most of a secret (in code points) a preview may reveal. */
export const MAX_REVEALED_FRACTION = 0.4;

/**
 * First 4 + `…` + last 2 code points for secrets of 16+ characters; first 2 + `…` + last 1 for 8–15;
 * first 1 + `…` below 8. Then trimmed (tail first) until at most 40% of the secret is shown, so a
 * 1- or 2-character secret previews as a bare `…`. Counts code points so that a preview never splits
 * a surrogate pair into invalid UTF-16.
 */
export function redactPreview(secret: string): string {
  const cps = Array.from(secret);
  const n = cps.length;
  let [head, tail] = n >= 16 ? [4, 2] : n >= 8 ? [2, 1] : [1, 0];
  const budget = Math.floor(n * MAX_REVEALED_FRACTION);
  while (head + tail > budget) {
    if (tail > 0) tail--;
    else head--;
  }
  return `${cps.slice(0, head).join('')}…${tail > 0 ? cps.slice(n - tail).join('') : ''}`;
}
