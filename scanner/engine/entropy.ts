// Shannon entropy of a secret, bits per character: the usual floor that separates random tokens
// from words. Runs on every match of every rule, so ASCII (nearly every secret) is counted in a
// reused array; a Map per call cost ~2 us per match, a tenth of a generic rule's cost per window
// (`npm run bench:rules`).

/** Counts per ASCII code, and the codes in the order first seen: zeroed again after each call. */
const counts = new Int32Array(128);
const order = new Uint8Array(128);

export function shannonEntropy(s: string): number {
  const n = s.length;
  if (n === 0) return 0;
  let distinct = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) {
      for (let k = 0; k < distinct; k++) counts[order[k]!] = 0;
      return entropyOfCodePoints(s);
    }
    if (counts[c] === 0) order[distinct++] = c;
    counts[c]!++;
  }
  // Summed in first-seen order, as entropyOfCodePoints does, so both give the same bits.
  let h = 0;
  for (let k = 0; k < distinct; k++) {
    const c = order[k]!;
    const p = counts[c]! / n;
    counts[c] = 0;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Any text, counted by code point (an emoji is one character, as a reader sees it). */
function entropyOfCodePoints(s: string): number {
  const tally = new Map<string, number>();
  let len = 0;
  for (const ch of s) {
    tally.set(ch, (tally.get(ch) ?? 0) + 1);
    len++;
  }
  let h = 0;
  for (const c of tally.values()) {
    const p = c / len;
    h -= p * Math.log2(p);
  }
  return h;
}
