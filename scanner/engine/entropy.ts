// Shannon entropy of a secret, bits per character: the usual floor that separates random tokens
// from words. Runs only on matches, so clarity beats speed here.

export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let len = 0;
  for (const c of counts.values()) len += c;
  let h = 0;
  for (const c of counts.values()) {
    const p = c / len;
    h -= p * Math.log2(p);
  }
  return h;
}
