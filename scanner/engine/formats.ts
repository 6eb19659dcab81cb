// Format parsers for credential files (a rule's `format.parser`, rules/schema.ts FORMAT_PARSERS): each
// reads a whole file and yields its values with their key paths and byte offsets, so a rule judges
// `password` in `[client]` of a .my.cnf, not any line that says password. Pure; they run only on
// files a rule's `paths` selected, so they are written for clarity over speed.
import type { FormatParser } from '../../rules/schema.js';

/** One value of a parsed file: its key path and its byte range in the buffer (quotes excluded). */
export interface FormatValue {
  key: string;
  start: number;
  end: number;
}

type Parse = (text: string) => FormatValue[];

/**
 * Parsers work on the buffer decoded as latin1, one character per byte, so every string index is
 * the byte offset the engine needs; the formats delimit with ASCII, and UTF-8 inside values passes
 * through byte for byte.
 */
export function parseFormat(parser: Exclude<FormatParser, 'path'>, buf: Buffer): FormatValue[] {
  return PARSERS[parser](buf.toString('latin1'));
}

const PARSERS: Record<Exclude<FormatParser, 'path'>, Parse> = {
  netrc: parseNetrc,
  pgpass: parsePgpass,
  passwd: parsePasswd,
  'line-pairs': parseLinePairs,
  ini: parseIni,
  properties: parseProperties,
  json: parseJson,
  yaml: parseYaml,
  xml: parseXml,
};

/** Lines with their start offsets, without the `\r` of CRLF endings. */
function* lines(text: string): Generator<{ line: string; at: number }> {
  let at = 0;
  while (at <= text.length) {
    let nl = text.indexOf('\n', at);
    if (nl === -1) nl = text.length;
    let end = nl;
    if (end > at && text.charCodeAt(end - 1) === 13) end--;
    yield { line: text.slice(at, end), at };
    at = nl + 1;
  }
}

/** `value` trimmed of blanks and one pair of matching quotes, as a range into the line. */
function trimmedValue(line: string, from: number, to: number): [number, number] {
  let s = from;
  let e = to;
  while (s < e && (line[s] === ' ' || line[s] === '\t')) s++;
  while (e > s && (line[e - 1] === ' ' || line[e - 1] === '\t')) e--;
  const q = line[s];
  if (e - s >= 2 && (q === '"' || q === "'") && line[e - 1] === q) {
    s++;
    e--;
  }
  return [s, e];
}

/**
 * .netrc / _netrc (GNU inetutils, curl): whitespace-separated tokens across lines; `login`,
 * `password` and `account` take the next token (curl accepts it double-quoted); a `macdef` body
 * runs to the next blank line; `#` starts a comment at a line's start.
 */
function parseNetrc(text: string): FormatValue[] {
  const out: FormatValue[] = [];
  const tokens: Array<[number, number]> = [];
  let i = 0;
  const n = text.length;
  let lineStart = true;
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      lineStart = true;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#' && lineStart) {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    lineStart = false;
    let s = i;
    let e: number;
    if (c === '"') {
      s = i + 1;
      e = s;
      while (e < n && text[e] !== '"' && text[e] !== '\n') e += text[e] === '\\' ? 2 : 1;
      i = Math.min(n, e + 1);
    } else {
      e = i;
      while (e < n && !/\s/.test(text[e]!)) e++;
      i = e;
    }
    const word = text.slice(s, e);
    if (word === 'macdef') {
      // A macro body (ftp commands) runs to the next empty line.
      const blank = text.indexOf('\n\n', i);
      i = blank === -1 ? n : blank + 2;
      continue;
    }
    tokens.push([s, e]);
  }
  for (let t = 0; t + 1 < tokens.length; t++) {
    const [s, e] = tokens[t]!;
    const word = text.slice(s, e);
    if (word === 'password' || word === 'login' || word === 'account') {
      const [vs, ve] = tokens[t + 1]!;
      out.push({ key: word, start: vs, end: ve });
      t++;
    }
  }
  return out;
}

/**
 * .pgpass (libpq): `hostname:port:database:username:password` per line, `\:` and `\\` escaped;
 * the password is the rest of the line after the fourth unescaped colon.
 */
function parsePgpass(text: string): FormatValue[] {
  const out: FormatValue[] = [];
  for (const { line, at } of lines(text)) {
    if (line.trimStart().startsWith('#') || line.trim() === '') continue;
    let colons = 0;
    let i = 0;
    for (; i < line.length && colons < 4; i++) {
      if (line[i] === '\\') i++;
      else if (line[i] === ':') colons++;
    }
    if (colons === 4 && i < line.length) out.push({ key: 'password', start: at + i, end: at + line.length });
  }
  return out;
}

/** passwd-style files (shadow, htpasswd, ftpd passwd): `name:secret[:...]`; the second field. */
function parsePasswd(text: string): FormatValue[] {
  const out: FormatValue[] = [];
  for (const { line, at } of lines(text)) {
    if (line.startsWith('#')) continue;
    const c1 = line.indexOf(':');
    if (c1 <= 0) continue;
    let c2 = line.indexOf(':', c1 + 1);
    if (c2 === -1) c2 = line.length;
    if (c2 > c1 + 1) out.push({ key: 'password', start: at + c1 + 1, end: at + c2 });
  }
  return out;
}

/** Files of alternating lines, user then password (vsftpd virtual-user files for db_load). */
function parseLinePairs(text: string): FormatValue[] {
  const out: FormatValue[] = [];
  let n = 0;
  for (const { line, at } of lines(text)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (n++ % 2 === 1) {
      const [s, e] = trimmedValue(line, 0, line.length);
      out.push({ key: 'password', start: at + s, end: at + e });
    }
  }
  return out;
}

/**
 * INI (MySQL option files, .pypirc, WinSCP.ini, .npmrc, .s3cfg, wgetrc): `[section]`, then
 * `key = value` or `key: value`; `;` and `#` start comments at a line's start. The key path is
 * `section.key` (just `key` before any section). Values lose surrounding quotes.
 */
function parseIni(text: string): FormatValue[] {
  const out: FormatValue[] = [];
  let section = '';
  for (const { line, at } of lines(text)) {
    const t = line.trimStart();
    if (t === '' || t[0] === ';' || t[0] === '#') continue;
    if (t[0] === '[') {
      const close = t.indexOf(']');
      if (close > 0) section = t.slice(1, close).trim();
      continue;
    }
    // `=` separates, or `:` (configparser) when what precedes it is a plain key: npm's
    // `//registry.example.com/:_authToken=…` keys hold colons, a .pypirc's `password: a=b` value `=`.
    const eq = line.indexOf('=');
    const colon = line.indexOf(':');
    const sep = colon !== -1 && (eq === -1 || colon < eq) && /^\s*[\w.-]+\s*$/.test(line.slice(0, colon)) ? colon : eq;
    if (sep <= 0) continue;
    const key = line.slice(0, sep).trim();
    if (!key || /\s/.test(key)) continue;
    const [s, e] = trimmedValue(line, sep + 1, line.length);
    if (e > s) out.push({ key: section ? `${section}.${key}` : key, start: at + s, end: at + e });
  }
  return out;
}

/**
 * Java .properties (Gradle, Spring): `key=value`, `key: value` or `key value`; `#` and `!` comments.
 * Continuation lines (`\` at the end) are not joined: credentials are single-line in practice.
 */
function parseProperties(text: string): FormatValue[] {
  const out: FormatValue[] = [];
  for (const { line, at } of lines(text)) {
    let i = 0;
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i === line.length || line[i] === '#' || line[i] === '!') continue;
    const ks = i;
    while (i < line.length && line[i] !== '=' && line[i] !== ':' && line[i] !== ' ' && line[i] !== '\t')
      i += line[i] === '\\' ? 2 : 1;
    const key = line.slice(ks, i);
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (line[i] === '=' || line[i] === ':') i++;
    const [s, e] = trimmedValue(line, i, line.length);
    if (key && e > s) out.push({ key, start: at + s, end: at + e });
  }
  return out;
}

/**
 * JSON, leniently (editor configs carry `//` comments and trailing commas): every string value
 * with the path of object keys above it, `a.b.c`; arrays add nothing to the path. Stops quietly
 * at text that is not JSON.
 */
function parseJson(text: string): FormatValue[] {
  const out: FormatValue[] = [];
  // One frame per open container: its key path and, for objects, the key awaiting a value.
  const stack: Array<{ path: string; object: boolean; key: string | null }> = [];
  const n = text.length;
  let i = 0;
  const readString = (): [number, number] => {
    const s = ++i;
    while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    const e = Math.min(i, n);
    i++;
    return [s, e];
  };
  while (i < n) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? n : nl;
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close === -1 ? n : close + 2;
    } else if (c === '{' || c === '[') {
      const top = stack[stack.length - 1];
      const path = top === undefined ? '' : top.object ? join(top.path, top.key ?? '') : top.path;
      if (top?.object) top.key = null;
      stack.push({ path, object: c === '{', key: null });
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === '"') {
      const [s, e] = readString();
      const top = stack[stack.length - 1];
      if (top?.object && top.key === null) {
        // A key when a colon follows; then the next value belongs to it.
        let j = i;
        while (j < n && /\s/.test(text[j]!)) j++;
        if (text[j] === ':') {
          top.key = text.slice(s, e);
          i = j + 1;
          continue;
        }
      }
      if (top) {
        out.push({ key: top.object ? join(top.path, top.key ?? '') : top.path, start: s, end: e });
        if (top.object) top.key = null;
      }
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.object) top.key = null;
      i++;
    } else {
      if (/[-0-9tfn]/.test(c)) {
        // A number or literal: the value of the pending key, not a credential.
        const top = stack[stack.length - 1];
        if (top?.object) top.key = null;
        while (i < n && /[-+0-9.eEa-z]/.test(text[i]!)) i++;
        continue;
      }
      i++;
    }
  }
  return out;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/**
 * YAML, the block style config files use (kubeconfig, Rails secrets.yml, Spring application.yml):
 * `key: scalar` lines under indented parents give `a.b.c`; list items (`- `) add nothing to the
 * path. Block scalars, flow collections and anchors are skipped; comments are dropped.
 */
function parseYaml(text: string): FormatValue[] {
  const out: FormatValue[] = [];
  const stack: Array<{ indent: number; key: string }> = [];
  let blockIndent = -1; // inside a block scalar: lines indented deeper than this belong to it
  for (const { line, at } of lines(text)) {
    let i = 0;
    while (i < line.length && line[i] === ' ') i++;
    if (i === line.length || line[i] === '#') continue;
    if (blockIndent >= 0) {
      if (i > blockIndent) continue;
      blockIndent = -1;
    }
    if (line.startsWith('---', i) || line.startsWith('...', i)) {
      stack.length = 0;
      continue;
    }
    let indent = i;
    while (line[i] === '-' && (line[i + 1] === ' ' || i + 1 === line.length)) {
      i += 2;
      while (line[i] === ' ') i++;
      indent = i;
    }
    const keyEnd = yamlKeyEnd(line, i);
    if (keyEnd === -1) continue;
    let key = line.slice(i, keyEnd).trim();
    if ((key[0] === '"' || key[0] === "'") && key[key.length - 1] === key[0]) key = key.slice(1, -1);
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const path = join(stack.map((f) => f.key).join('.'), key);
    let vs = keyEnd + 1;
    while (vs < line.length && line[vs] === ' ') vs++;
    let ve = line.length;
    const first = line[vs];
    if (vs >= ve) {
      stack.push({ indent, key });
      continue;
    }
    if (first === '|' || first === '>') {
      blockIndent = indent;
      continue;
    }
    if (first === '{' || first === '[' || first === '&' || first === '*' || first === '!') continue;
    if (first === '"' || first === "'") {
      const close = line.indexOf(first, vs + 1);
      if (close === -1) continue;
      out.push({ key: path, start: at + vs + 1, end: at + close });
      continue;
    }
    const hash = line.indexOf(' #', vs);
    if (hash !== -1) ve = hash;
    while (ve > vs && (line[ve - 1] === ' ' || line[ve - 1] === '\t')) ve--;
    out.push({ key: path, start: at + vs, end: at + ve });
  }
  return out;
}

/** End of a YAML mapping key at `from` (the colon's index), or -1 when the line holds no `key:`. */
function yamlKeyEnd(line: string, from: number): number {
  const q = line[from];
  if (q === '"' || q === "'") {
    const close = line.indexOf(q, from + 1);
    return close !== -1 && line[close + 1] === ':' && (close + 2 === line.length || line[close + 2] === ' ') ? close + 1 : -1;
  }
  for (let i = from; i < line.length; i++) {
    if (line[i] === ':' && (i + 1 === line.length || line[i + 1] === ' ')) return i;
    if (line[i] === ' ' && line[i + 1] === '#') return -1;
  }
  return -1;
}

/**
 * XML (Maven settings.xml, FileZilla, JetBrains, Pidgin): the text of each leaf element at its tag
 * path `a.b.c`, each attribute at `a.b.c@attr`, and the name/value idiom (`<option name="password"
 * value="…"/>`, `<add key="…" value="…"/>`) at `a.b.<name>`. Comments, CDATA and declarations skip.
 */
function parseXml(text: string): FormatValue[] {
  const out: FormatValue[] = [];
  const stack: Array<{ name: string; children: number; textStart: number }> = [];
  const n = text.length;
  let i = 0;
  const path = () => stack.map((f) => f.name).join('.');
  while (i < n) {
    const lt = text.indexOf('<', i);
    if (lt === -1) break;
    if (text.startsWith('<!--', lt)) {
      const e = text.indexOf('-->', lt + 4);
      i = e === -1 ? n : e + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', lt)) {
      const e = text.indexOf(']]>', lt);
      i = e === -1 ? n : e + 3;
      continue;
    }
    if (text[lt + 1] === '?' || text[lt + 1] === '!') {
      const e = text.indexOf('>', lt);
      i = e === -1 ? n : e + 1;
      continue;
    }
    if (text[lt + 1] === '/') {
      const e = text.indexOf('>', lt);
      const top = stack.pop();
      if (top && top.children === 0) {
        const [s, t] = trimRange(text, top.textStart, lt);
        if (t > s) out.push({ key: [...stack.map((f) => f.name), top.name].join('.'), start: s, end: t });
      }
      i = e === -1 ? n : e + 1;
      continue;
    }
    // An opening tag: name, then attributes up to `>` or `/>`.
    let j = lt + 1;
    while (j < n && /[^\s/>]/.test(text[j]!)) j++;
    const name = text.slice(lt + 1, j);
    if (!name) {
      i = lt + 1;
      continue;
    }
    const attrs: Array<{ name: string; start: number; end: number }> = [];
    while (j < n && text[j] !== '>' && !(text[j] === '/' && text[j + 1] === '>')) {
      const m = /^\s*([^\s=/>]+)\s*=\s*(["'])/.exec(text.slice(j, j + 256));
      if (!m) {
        j++;
        continue;
      }
      const vs = j + m[0].length;
      const ve = text.indexOf(m[2]!, vs);
      if (ve === -1) {
        j = n;
        break;
      }
      attrs.push({ name: m[1]!, start: vs, end: ve });
      j = ve + 1;
    }
    const selfClosing = text[j] === '/';
    const top = stack[stack.length - 1];
    if (top) top.children++;
    const here = path();
    const elementPath = join(here, name);
    const named = attrs.find((a) => a.name === 'name' || a.name === 'key');
    const value = attrs.find((a) => a.name === 'value');
    if (named && value && value.end > value.start) {
      out.push({ key: join(here, text.slice(named.start, named.end)), start: value.start, end: value.end });
    }
    for (const a of attrs) if (a.end > a.start) out.push({ key: `${elementPath}@${a.name}`, start: a.start, end: a.end });
    i = selfClosing ? j + 2 : j + 1;
    if (!selfClosing) stack.push({ name, children: 0, textStart: i });
  }
  return out;
}

function trimRange(text: string, s: number, e: number): [number, number] {
  while (s < e && /\s/.test(text[s]!)) s++;
  while (e > s && /\s/.test(text[e - 1]!)) e--;
  return [s, e];
}
