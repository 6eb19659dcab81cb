// Case-insensitive rule patterns, folded to ASCII before RE2 compiles them. RE2 always runs in
// Unicode mode, where `(?i)` also matches `ſ` (U+017F) for `s` and the Kelvin sign (U+212A) for `k`:
// every letter class grows multi-byte branches, and extracting a capture group on a 60-byte window
// cost generic-token 5.6 us against 0.9 us for the same pattern spelled with ASCII classes
// (`npm run bench:rules`, docs/benchmarks.md). Keys and the names around them are ASCII, so the
// folded pattern finds the same secrets. Pure.

const BAIL = Symbol('bail');

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function otherCase(c: number): number {
  return c >= 0x61 ? c - 0x20 : c + 0x20;
}

/** A code point as class text: escaped when it means something inside `[...]`. */
function classChar(c: number): string {
  const ch = String.fromCharCode(c);
  return /[\\\][^-]/.test(ch) ? `\\${ch}` : ch;
}

/** Runs of code points as class items (`a-f`, `x`). */
function asRanges(points: number[]): string {
  const sorted = [...new Set(points)].sort((a, b) => a - b);
  let out = '';
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out +=
      j - i >= 2
        ? `${classChar(sorted[i]!)}-${classChar(sorted[j]!)}`
        : sorted
            .slice(i, j + 1)
            .map(classChar)
            .join('');
    i = j + 1;
  }
  return out;
}

/** The code point an escape inside a class stands for, or null for a class escape (`\d`, `\s`). */
function escapedPoint(p: string, i: number): { point: number | null; end: number } | typeof BAIL {
  const e = p[i + 1];
  if (e === undefined) return BAIL;
  if (e === 'x') {
    if (p[i + 2] === '{') {
      const close = p.indexOf('}', i + 3);
      if (close < 0) return BAIL;
      return { point: Number.parseInt(p.slice(i + 3, close), 16), end: close + 1 };
    }
    return { point: Number.parseInt(p.slice(i + 2, i + 4), 16), end: i + 4 };
  }
  if (e === 'p' || e === 'P' || e === 'Q' || e === 'E' || e === 'C') return BAIL;
  const named: Record<string, number> = { t: 9, n: 10, r: 13, f: 12, v: 11, a: 7 };
  if (e in named) return { point: named[e]!, end: i + 2 };
  if (/[dDsSwW]/.test(e)) return { point: null, end: i + 2 };
  if (/[A-Za-z0-9]/.test(e)) return BAIL; // an escape this folder does not know
  return { point: e.charCodeAt(0), end: i + 2 };
}

/**
 * Folds one character class starting at `p[i] === '['`: the letters it holds gain their other case.
 * Returns the class text and the index after it.
 */
function foldClass(p: string, i: number): { text: string; end: number } | typeof BAIL {
  let j = i + 1;
  const negated = p[j] === '^';
  if (negated) j++;
  if (p[j] === ']') j++; // a leading `]` is a literal
  const points: number[] = [];
  const classEscapes: string[] = []; // `\d`, `\s`, ...: kept as written
  const read = (k: number): { point: number | null; end: number } | typeof BAIL => {
    if (p[k] === '\\') return escapedPoint(p, k);
    if (p[k] === '[' && p[k + 1] === ':') return BAIL; // POSIX classes: not met in the pack
    return { point: p.charCodeAt(k), end: k + 1 };
  };
  // The leading literal `]`, if any.
  if (p[j - 1] === ']' && j - 1 > i) points.push(0x5d);
  while (j < p.length && p[j] !== ']') {
    const lo = read(j);
    if (lo === BAIL) return BAIL;
    if (lo.point !== null && p[lo.end] === '-' && p[lo.end + 1] !== ']' && lo.end + 1 < p.length) {
      const hi = read(lo.end + 1);
      if (hi === BAIL || hi.point === null) return BAIL;
      for (let c = lo.point; c <= hi.point; c++) points.push(c);
      j = hi.end;
      continue;
    }
    if (lo.point !== null) points.push(lo.point);
    else classEscapes.push(p.slice(j, lo.end));
    j = lo.end;
  }
  if (j >= p.length) return BAIL;
  if (points.some((c) => c > 0x7f)) return BAIL;
  // Rebuilt from its code points rather than appended to: a class may end in a literal `-`, and
  // `[a-z.-]` + `A-Z` would read as the range `.-A`.
  const all = [...points, ...points.filter(isLetter).map(otherCase)];
  return { text: `[${negated ? '^' : ''}${asRanges(all)}${classEscapes.join('')}]`, end: j + 1 };
}

/**
 * The pattern with every case-insensitive part (`(?i)`, `(?i:...)`, `(?im)`) spelled in ASCII
 * classes: `(?i)token` becomes `[Tt][Oo][Kk][Ee][Nn]`. Returns the pattern unchanged when it holds
 * syntax this folder does not rewrite (non-ASCII letters, `\p{...}`, `\Q...\E`, POSIX classes):
 * RE2's own folding then applies, which is correct, only slower.
 */
export function foldAsciiCase(pattern: string): string {
  if (!/\(\?[a-zA-Z-]*i/.test(pattern)) return pattern;
  const folded = fold(pattern);
  return folded === BAIL ? pattern : folded;
}

function fold(p: string): string | typeof BAIL {
  let out = '';
  // Fold state per open group; a flag group `(?i)` changes the innermost one.
  const stack: boolean[] = [false];
  let i = 0;
  while (i < p.length) {
    const ch = p[i]!;
    const on = stack[stack.length - 1]!;
    if (ch === '\\') {
      const e = p[i + 1];
      if (e === undefined) return BAIL;
      if (e === 'x') {
        const end = p[i + 2] === '{' ? p.indexOf('}', i + 3) + 1 : i + 4;
        if (end <= 0) return BAIL;
        const point = Number.parseInt(p[i + 2] === '{' ? p.slice(i + 3, end - 1) : p.slice(i + 2, end), 16);
        out +=
          on && isLetter(point) ? `[${String.fromCharCode(point)}${String.fromCharCode(otherCase(point))}]` : p.slice(i, end);
        i = end;
        continue;
      }
      if (on && (e === 'p' || e === 'P' || e === 'Q' || e === 'C')) return BAIL;
      out += p.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (ch === '[') {
      if (!on) {
        // Copied verbatim; only its end is needed (escapes and a leading `]` do not end it).
        let j = i + 1;
        if (p[j] === '^') j++;
        if (p[j] === ']') j++;
        while (j < p.length && p[j] !== ']') {
          if (p[j] === '[' && p[j + 1] === ':') {
            const close = p.indexOf(':]', j + 2);
            if (close < 0) return BAIL;
            j = close + 2;
          } else j += p[j] === '\\' ? 2 : 1;
        }
        if (j >= p.length) return BAIL;
        out += p.slice(i, j + 1);
        i = j + 1;
        continue;
      }
      const c = foldClass(p, i);
      if (c === BAIL) return BAIL;
      out += c.text;
      i = c.end;
      continue;
    }
    if (ch === '(') {
      if (p[i + 1] !== '?') {
        stack.push(on);
        out += ch;
        i++;
        continue;
      }
      const flags = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(p.slice(i));
      if (flags === null) {
        // `(?P<name>`, `(?<name>`: a named group, copied with its name.
        const named = /^\(\?P?<[A-Za-z_][A-Za-z0-9_]*>/.exec(p.slice(i));
        if (named === null) return BAIL;
        stack.push(on);
        out += named[0];
        i += named[0].length;
        continue;
      }
      const [whole, set = '', unset = '', close] = flags;
      let next = on;
      if (set.includes('i')) next = true;
      if (unset.includes('i')) next = false;
      const keptSet = set.replace(/i/g, '');
      const keptUnset = unset.replace(/i/g, '');
      const kept = `${keptSet}${keptUnset ? `-${keptUnset}` : ''}`;
      if (close === ':') {
        stack.push(next);
        out += `(?${kept}:`;
      } else {
        stack[stack.length - 1] = next;
        if (kept) out += `(?${kept})`;
      }
      i += whole.length;
      continue;
    }
    if (ch === ')') {
      if (stack.length === 1) return BAIL;
      stack.pop();
      out += ch;
      i++;
      continue;
    }
    if (ch === '{') {
      // A counted repetition `{m}`, `{m,}`, `{m,n}`: copied (its digits are no letters anyway).
      const rep = /^\{\d+(?:,\d*)?\}/.exec(p.slice(i));
      const text = rep?.[0] ?? ch;
      out += text;
      i += text.length;
      continue;
    }
    const code = ch.charCodeAt(0);
    if (on && code > 0x7f) return BAIL;
    out += on && isLetter(code) ? `[${ch}${String.fromCharCode(otherCase(code))}]` : ch;
    i++;
  }
  return stack.length === 1 ? out : BAIL;
}
