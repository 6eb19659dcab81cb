// plan(check, secret, parts, baseUrl) -> the exact HTTP request a liveness check or revocation plan
// sends. Pure: no clock, no network, no environment. The runner (providers/runner.ts) signs it when
// the check says so, sends it, and hands the answer to judge(). Errors are KW_PROVIDER_PLAN and
// never contain the secret or a part's value.

import { KeywardenError } from '../errors/error.js';
import type { AppliesTo, LivenessCheck, LivenessPart, RequestTemplate, RevocationPlan } from '../rules/schema.js';
import type { ResolvedBaseUrl } from './base-urls.js';
import {
  encodeHeaderValue,
  encodeHostLabel,
  encodePathValue,
  fill,
  fillJson,
  TemplateValueError,
  type TemplateValues,
} from './template.js';

/** SigV4 parameters the runner signs with (providers/sign.ts); values already substituted. */
export interface SigV4Signing {
  kind: 'aws-sigv4';
  service: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A request ready to send. It holds the secret: never log it; `describeRequest` is the safe view. */
export interface PlannedRequest {
  /** NAME of the provider (providers/names.ts). */
  provider: string;
  method: string;
  url: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body?: string;
  /** The resolved base URL (parts filled in): the runner sends nothing outside it. */
  baseUrl: string;
  /** Only a base URL set by KEYWARDEN_PROVIDER_<NAME>_BASE_URL may be plain http. */
  allowHttp: boolean;
  signing?: SigV4Signing;
}

/** Parts the caller supplies beside the secret, by the names the check declares. */
export type Parts = Readonly<Record<string, string | undefined>>;

/** Longest part value accepted: parts are ids, keys and host labels, never documents. */
const MAX_PART_LENGTH = 4096;

function planError(message: string): never {
  throw new KeywardenError('KW_PROVIDER_PLAN', message);
}

function startsWithAny(value: string | undefined, prefixes: readonly string[] | undefined): boolean {
  return prefixes === undefined || (value !== undefined && prefixes.some((p) => value.startsWith(p)));
}

/** Whether a check's `appliesTo` admits this secret and these parts (absent = applies to all). */
export function appliesTo(selector: AppliesTo | undefined, secret: string, parts: Parts): boolean {
  if (!selector) return true;
  if (!startsWithAny(secret, selector.secretPrefixes)) return false;
  return Object.entries(selector.partPrefixes ?? {}).every(([name, prefixes]) => startsWithAny(parts[name], prefixes));
}

/** The first check (or plan) of a rule that applies to this secret, or undefined. */
export function selectCheck<T extends { appliesTo?: AppliesTo | undefined }>(
  checks: readonly T[] | undefined,
  secret: string,
  parts: Parts = {},
): T | undefined {
  return checks?.find((c) => appliesTo(c.appliesTo, secret, parts));
}

/** Validates supplied parts against the declarations; returns the values templates may use. */
export function checkParts(declared: Readonly<Record<string, LivenessPart>>, parts: Parts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(declared)) {
    const value = parts[name];
    if (value === undefined || value === '') {
      if (!spec.optional) planError(`missing part "${name}" (${spec.description})`);
      continue;
    }
    if (value.length > MAX_PART_LENGTH) planError(`part "${name}" is longer than ${MAX_PART_LENGTH} characters`);
    if (spec.pattern !== undefined && !new RegExp(`^(?:${spec.pattern})$`).test(value)) {
      planError(`part "${name}" does not look like ${spec.description}`);
    }
    out[name] = value;
  }
  return out;
}

/** True when `url` is the base URL itself or below it (same origin, path under the base path). */
export function isUnderBase(url: string, baseUrl: string): boolean {
  let target: URL;
  let base: URL;
  try {
    target = new URL(url);
    base = new URL(baseUrl);
  } catch {
    return false;
  }
  if (target.origin !== base.origin || target.username || target.password) return false;
  const basePath = base.pathname.replace(/\/+$/, '');
  return target.pathname === basePath || target.pathname.startsWith(`${basePath}/`) || basePath === '';
}

/** The base URL with its part placeholders filled (one DNS label each). */
export function fillBaseUrl(base: ResolvedBaseUrl, values: TemplateValues): string {
  try {
    return fill(base.url, values, encodeHostLabel);
  } catch (err) {
    if (err instanceof TemplateValueError) planError(`base URL ${base.url}: ${err.message}`);
    throw err;
  }
}

function build(request: RequestTemplate, values: TemplateValues, base: ResolvedBaseUrl): PlannedRequest {
  const baseUrl = fillBaseUrl(base, values);
  const field = <T>(name: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof TemplateValueError) planError(`request ${name}: ${err.message}`);
      throw err;
    }
  };
  let url = baseUrl + field('path', () => fill(request.path, values, encodePathValue));
  if (request.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(request.query)) q.append(k, fill(v, values));
    url += `?${q.toString()}`;
  }
  if (!isUnderBase(url, baseUrl)) planError('request path leaves the provider base URL');

  const headers: Record<string, string> = { 'user-agent': 'keywarden-liveness' };
  for (const [name, template] of Object.entries(request.headers ?? {})) {
    const value = field(`header ${name}`, () => fill(template, values, encodeHeaderValue));
    // A header made only of an absent optional part (a session token) is left out, not sent empty.
    if (value.trim() !== '') headers[name.toLowerCase()] = value;
  }
  if (request.basicAuth) {
    const user = fill(request.basicAuth.username, values);
    const pass = fill(request.basicAuth.password, values);
    if (user.includes(':')) planError('basic auth user name cannot contain ":"');
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
  }
  let body: string | undefined;
  const b = request.body;
  if (b) {
    if ('form' in b) {
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(b.form)) form.append(k, fill(v, values));
      body = form.toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded; charset=utf-8';
    } else if ('text' in b) {
      body = fill(b.text, values);
      headers['content-type'] ??= b.contentType;
    } else {
      body = JSON.stringify(fillJson(b.json, values));
      headers['content-type'] ??= 'application/json';
    }
  }
  headers.accept ??= 'application/json';
  return {
    provider: base.provider,
    method: request.method,
    url,
    headers,
    ...(body !== undefined ? { body } : {}),
    baseUrl,
    allowHttp: base.overridden,
  };
}

/**
 * Builds the request of one liveness check (or revocation plan) for `secret` and `parts`. Throws
 * KW_PROVIDER_PLAN when a required part is missing or malformed, or a value cannot be placed.
 */
export function plan(
  check: LivenessCheck | RevocationPlan,
  secret: string,
  parts: Parts,
  baseUrl: ResolvedBaseUrl,
): PlannedRequest {
  const values: TemplateValues = { secret, parts: checkParts(check.parts, parts) };
  const request = build(check.request, values, baseUrl);
  if ('credentials' in check) {
    const c = check.credentials;
    const sessionToken = c.sessionToken !== undefined ? fill(c.sessionToken, values) : '';
    request.signing = {
      kind: 'aws-sigv4',
      service: check.service,
      region: check.region,
      accessKeyId: fill(c.accessKeyId, values),
      secretAccessKey: fill(c.secretAccessKey, values),
      ...(sessionToken !== '' ? { sessionToken } : {}),
    };
  }
  return request;
}

/**
 * A printable view of what a check calls, from its templates (`POST https://slack.com/api/auth.test`):
 * filled values never appear, since a path may carry the secret (Telegram's `/bot<token>/getMe`).
 */
export function describeCall(check: Pick<LivenessCheck | RevocationPlan, 'request'>, base: ResolvedBaseUrl): string {
  return `${check.request.method} ${base.url}${check.request.path}`;
}
