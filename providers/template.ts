// Substitution of `{{secret}}` and `{{parts.<name>}}` in rule templates (rules/schema.ts). Each
// place a value lands has its own encoder, so a value can never change the request's shape: path
// segments are percent-encoded, header values refuse line breaks, JSON and form bodies are
// serialised by their encoders, a base URL takes only one DNS label per placeholder. Pure.

/** The values a template may use. Parts the caller did not supply are absent. */
export interface TemplateValues {
  secret: string;
  parts: Readonly<Record<string, string>>;
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Thrown for a value that cannot be placed (caught by plan(), which names the field). */
export class TemplateValueError extends Error {}

function lookup(name: string, values: TemplateValues): string {
  if (name === 'secret') return values.secret;
  const m = /^parts\.(.+)$/.exec(name);
  if (m) return values.parts[m[1]!] ?? '';
  // The schema rejects other names at load; a hand-built check gets a clear failure.
  throw new TemplateValueError(`unknown placeholder {{${name}}}`);
}

/** Replaces every placeholder with `encode(value)`. */
export function fill(template: string, values: TemplateValues, encode: (v: string) => string = (v) => v): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => encode(lookup(name, values)));
}

/**
 * One path segment's worth of text: percent-encoded (so `/`, `?`, `#` stay data), keeping `:` and
 * `@` which RFC 3986 allows in a segment (Telegram's `bot<id>:<secret>` path). Dot segments are
 * refused: `%2E%2E` is still `..` to a URL parser and would climb out of the base path.
 */
export function encodePathValue(value: string): string {
  if (value === '.' || value === '..') throw new TemplateValueError('a dot segment cannot be placed in a path');
  return encodeURIComponent(value).replace(/%3A/gi, ':').replace(/%40/g, '@');
}

/** Header values may not hold CR, LF or NUL (header injection) nor other control characters. */
export function encodeHeaderValue(value: string): string {
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value))
    throw new TemplateValueError('control characters cannot be placed in a header');
  return value;
}

/** A base URL placeholder takes one DNS label: the value cannot add a host, port or path. */
export function encodeHostLabel(value: string): string {
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(value)) {
    throw new TemplateValueError('a base URL placeholder takes one DNS label (letters, digits, inner dashes)');
  }
  return value.toLowerCase();
}

/** Fills every string leaf of a JSON template (keys are literal). */
export function fillJson(template: unknown, values: TemplateValues): unknown {
  if (typeof template === 'string') return fill(template, values);
  if (Array.isArray(template)) return template.map((v) => fillJson(v, values));
  if (typeof template === 'object' && template !== null) {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fillJson(v, values)]));
  }
  return template;
}
