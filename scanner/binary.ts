// Whether content looks binary: the pipeline's binary policy (skip it, or scan its string runs as a
// dump) starts here, for tree files and git blobs alike.

// Git's own test is "a NUL in the first 8000 bytes"; the magic numbers catch formats whose first
// bytes can be NUL-free (a PDF's header, a gzip or zip of text). PE needs no entry: its 64-byte DOS
// header ("MZ" ...) always holds NULs (e_lfanew's high bytes), and "MZ" alone is too common in text.
const MAGIC: readonly (readonly number[])[] = [
  [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], // PNG
  [0xff, 0xd8, 0xff], // JPEG
  [0x47, 0x49, 0x46, 0x38], // GIF8
  [0x25, 0x50, 0x44, 0x46, 0x2d], // %PDF-
  [0x50, 0x4b, 0x03, 0x04], // ZIP (also jar, docx, apk)
  [0x50, 0x4b, 0x05, 0x06], // empty ZIP
  [0x1f, 0x8b], // gzip
  [0x7f, 0x45, 0x4c, 0x46], // ELF
  [0xfe, 0xed, 0xfa, 0xce], // Mach-O 32, big-endian
  [0xfe, 0xed, 0xfa, 0xcf], // Mach-O 64, big-endian
  [0xce, 0xfa, 0xed, 0xfe], // Mach-O 32, little-endian
  [0xcf, 0xfa, 0xed, 0xfe], // Mach-O 64, little-endian
  [0xca, 0xfe, 0xba, 0xbe], // Mach-O universal (and Java class files)
];

/** Bytes git's heuristic looks at. */
export const BINARY_SNIFF_BYTES = 8000;

/**
 * True when `head` (a file's first bytes; only the first 8000 are looked at) looks binary: a NUL byte,
 * as git decides, or a known binary magic number. UTF-16 text has NULs and so counts as binary, as in git.
 */
export function looksBinary(head: Buffer): boolean {
  const n = Math.min(head.length, BINARY_SNIFF_BYTES);
  if (head.subarray(0, n).indexOf(0) !== -1) return true;
  for (const magic of MAGIC) {
    if (n >= magic.length && magic.every((b, i) => head[i] === b)) return true;
  }
  return false;
}
