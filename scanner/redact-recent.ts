// The stream's memory of secrets it has redacted: a bounded cache keyed by HMAC (a per-process key),
// so a secret found once (by a rule or by its context) is redacted again where it recurs with no
// context at all ("retrying with ghp_…" after "Authorization: token ghp_…"). It never holds a secret:
// each entry is the HMAC of the whole secret, the length and offset of one "anchor" piece, and the
// marker. Used by the batch redactor (redact-lines.ts); no I/O.
import { createHmac, randomBytes } from 'node:crypto';

/** @defaultValue 256 secrets per stream: "recently found", least recently seen evicted first. */
export const RECENT_SECRETS_MAX = 256;
/** Secrets shorter than this are not remembered: a 3-letter password would match words everywhere. */
export const RECENT_MIN_LENGTH = 6;
/** Anchor pieces are runs of [A-Za-z0-9_-]: at least this long, at most this long (candidate bound). */
const ANCHOR_MIN = 4;
const ANCHOR_MAX = 255;

/** Per process: the cache's HMAC key and the seed of its candidate hash never leave memory. */
const HMAC_KEY = randomBytes(32);
const SEED = randomBytes(4).readUInt32LE(0);

const TOKEN = new Uint8Array(256);
for (let b = 0; b < 256; b++) if (/[A-Za-z0-9_-]/.test(String.fromCharCode(b))) TOKEN[b] = 1;

function hmacOf(buf: Buffer, start: number, end: number): Buffer {
  return createHmac('sha256', HMAC_KEY).update(buf.subarray(start, end)).digest().subarray(0, 16);
}

/**
 * A seeded 32-bit hash of a candidate piece (FNV-1a style with a murmur finaliser): a prefilter so
 * only candidates that may be an anchor pay for an HMAC (~2 us each).
 */
function quickHash(buf: Uint8Array, start: number, end: number): number {
  let h = SEED ^ (end - start);
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

interface Entry {
  /** HMAC of the whole secret (16 bytes). */
  mac: Buffer;
  macHex: string;
  /** Offset of the anchor piece inside the secret, and the secret's length (bytes). */
  anchorAt: number;
  length: number;
  marker: string;
  quick: number;
  anchorLen: number;
}

/** A hit: bytes [start, end) of the scanned buffer are a remembered secret. */
export interface RecentHit {
  start: number;
  end: number;
  marker: string;
}

export class RecentSecrets {
  /** By HMAC (hex), in recency order (a Map iterates in insertion order). */
  private readonly byMac = new Map<string, Entry>();
  private readonly byQuick = new Map<number, Entry[]>();
  /** How many entries have an anchor of each length: candidates of other lengths are skipped unhashed. */
  private readonly lengths = new Uint16Array(ANCHOR_MAX + 1);

  constructor(private readonly max = RECENT_SECRETS_MAX) {}

  get size(): number {
    return this.byMac.size;
  }

  /** Remembers `buf[start, end)` (a secret just redacted) under `marker`. */
  add(buf: Buffer, start: number, end: number, marker: string): void {
    if (end - start < RECENT_MIN_LENGTH) return;
    // The anchor: the secret's longest run of token bytes.
    let best = -1;
    let bestLen = 0;
    for (let i = start; i < end; ) {
      while (i < end && TOKEN[buf[i]!] === 0) i++;
      const s = i;
      while (i < end && TOKEN[buf[i]!] === 1) i++;
      if (i - s > bestLen) {
        best = s;
        bestLen = i - s;
      }
    }
    if (bestLen < ANCHOR_MIN || bestLen > ANCHOR_MAX) return;
    const mac = hmacOf(buf, start, end);
    const macHex = mac.toString('hex');
    const old = this.byMac.get(macHex);
    if (old !== undefined) {
      this.byMac.delete(macHex);
      this.byMac.set(macHex, old);
      return;
    }
    const entry: Entry = {
      mac,
      macHex,
      anchorAt: best - start,
      length: end - start,
      marker,
      quick: quickHash(buf, best, best + bestLen),
      anchorLen: bestLen,
    };
    this.byMac.set(macHex, entry);
    const list = this.byQuick.get(entry.quick);
    if (list) list.push(entry);
    else this.byQuick.set(entry.quick, [entry]);
    this.lengths[bestLen]!++;
    if (this.byMac.size > this.max) this.evict(this.byMac.values().next().value!);
  }

  /** The shortest anchor remembered (the skip loop's stride). */
  private shortest(): number {
    for (let n = ANCHOR_MIN; n <= ANCHOR_MAX; n++) if (this.lengths[n]! > 0) return n;
    return ANCHOR_MAX;
  }

  private evict(e: Entry): void {
    this.byMac.delete(e.macHex);
    const list = this.byQuick.get(e.quick)!;
    const k = list.indexOf(e);
    if (k !== -1) list.splice(k, 1);
    if (list.length === 0) this.byQuick.delete(e.quick);
    this.lengths[e.anchorLen]!--;
  }

  /**
   * Remembered secrets in `buf[from, to)`: every run of token bytes whose length some anchor has is
   * hashed; on a quick-hash hit the whole secret around it is checked by HMAC. About 1 ns a byte,
   * then nothing for runs of lengths no anchor has.
   */
  scan(buf: Buffer, from: number, to: number, onHit: (h: RecentHit) => void): void {
    if (this.byMac.size === 0) return;
    const lengths = this.lengths;
    const L = this.shortest();
    // A skip loop: a run of token bytes at least L long that starts at or after `i` covers byte
    // i + L - 1, so when that byte is no token byte, none starts in [i, i + L) and the loop jumps L
    // bytes. Invariant: `i` is `from` or follows a non-token byte. Anchors are mostly 16+ bytes, so
    // ordinary log words cost about one table load per L bytes instead of one per byte.
    let i = from;
    while (i + L <= to) {
      const j = i + L - 1;
      if (TOKEN[buf[j]!] === 0) {
        i = j + 1;
        continue;
      }
      let s = j;
      while (s > i && TOKEN[buf[s - 1]!] === 1) s--;
      let e = j + 1;
      while (e < to && TOKEN[buf[e]!] === 1) e++;
      const n = e - s;
      i = e + 1;
      if (n > ANCHOR_MAX || lengths[n] === 0) continue;
      const list = this.byQuick.get(quickHash(buf, s, e));
      if (list === undefined) continue;
      for (const entry of list) {
        if (entry.anchorLen !== n) continue;
        const start = s - entry.anchorAt;
        const end = start + entry.length;
        if (start < from || end > to) continue;
        if (!hmacOf(buf, start, end).equals(entry.mac)) continue;
        // Seen again: most recently used.
        this.byMac.delete(entry.macHex);
        this.byMac.set(entry.macHex, entry);
        onHit({ start, end, marker: entry.marker });
        break;
      }
    }
  }
}
