// Byte offsets → 1-based line and column, computed only for matches (never for the whole buffer).
// Columns count UTF-16 code units, SARIF's default `columnKind`.

export interface Position {
  line: number;
  column: number;
}

const NL = 0x0a;

/**
 * Positions of `offsets` (each a byte offset into `buf`) in one forward pass. Offsets may come in any
 * order; they are visited sorted so newline counting never goes backwards.
 */
export function locateOffsets(buf: Buffer, offsets: readonly number[]): Position[] {
  const order = offsets.map((_, i) => i).sort((a, b) => offsets[a]! - offsets[b]!);
  const result: Position[] = new Array(offsets.length);
  let line = 1;
  let lineStart = 0;
  let cursor = 0;
  for (const i of order) {
    const off = Math.min(offsets[i]!, buf.length);
    for (let nl = buf.indexOf(NL, cursor); nl !== -1 && nl < off; nl = buf.indexOf(NL, nl + 1)) {
      line++;
      lineStart = nl + 1;
    }
    cursor = Math.max(cursor, off);
    if (cursor < lineStart) cursor = lineStart;
    result[i] = { line, column: buf.toString('utf8', lineStart, off).length + 1 };
  }
  return result;
}
