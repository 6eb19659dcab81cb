// Markdown building blocks for comments and the job summary. Paths, rule text and previews come from
// the scanned repository (a pull request's author chooses file names), so each is rendered inert.

/** One line, no control characters: a file name with a newline cannot break a table or a comment. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
}

/** A code span holding `text` verbatim, whatever backticks it contains (CommonMark 6.1). */
export function code(text: string): string {
  const t = oneLine(text);
  const longest = Math.max(0, ...(t.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') || (t.startsWith(' ') && t.endsWith(' ') && t.trim() !== '') ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

/** Plain text with Markdown and HTML syntax escaped (no links, mentions, images or tags). */
export function text(t: string): string {
  return oneLine(t)
    .replace(/[\\`*_{}[\]()#+\-.!<>~]/g, (c) => `\\${c}`)
    .replace(/@/g, '@\u200b');
}

/** A GFM table cell: pipes escaped even inside code spans, which GFM splits on before parsing them. */
export function cell(markdown: string): string {
  return markdown.replace(/\|/g, '\\|');
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), `|${header.map(() => ' --- ').join('|')}|`, ...rows.map(line)].join('\n');
}

/** A link to a commit on the server when the repository's URL is known, else the short sha. */
export function commitLink(sha: string, repoHtmlUrl: string | null): string {
  if (!/^[0-9a-f]{7,64}$/.test(sha)) return code(sha || '-');
  const short = code(sha.slice(0, 7));
  return repoHtmlUrl && /^https?:\/\//.test(repoHtmlUrl) ? `[${short}](${repoHtmlUrl.replace(/\/+$/, '')}/commit/${sha})` : short;
}

/** A fenced code block, its fence longer than any backtick run inside. */
export function fenced(lines: readonly string[]): string {
  const body = lines.map(oneLine);
  const longest = Math.max(2, ...body.flatMap((l) => (l.match(/`+/g) ?? []).map((r) => r.length)));
  const fence = '`'.repeat(longest + 1);
  return [fence, ...body, fence].join('\n');
}
