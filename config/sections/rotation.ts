// The `rotation:` section of the service configuration (config/service.ts's SECTIONS) for `keywarden
// serve` and `keywarden worker`: the config-file section and its environment variables, validated once
// at start-up, every problem reported together, then settled (`rotationSettings`) and frozen. zod and
// node: only; docs/rotation.md documents each option with its default and unit.
import { inspect } from 'node:util';
import { z } from 'zod';
import { defineSection } from '../section.js';

/** The environment variables this section reads; the environment overrides the config file. */
export const ROTATION_ENV = {
  /** The default rotation target (`rotation.webhookUrl`). */
  webhookUrl: 'KEYWARDEN_ROTATION_WEBHOOK_URL',
  /** HMAC-SHA256 signing secret of every webhook, >= 16 characters (`rotation.webhookSecret`). */
  webhookSecret: 'KEYWARDEN_WEBHOOK_SECRET',
  /** Base URL receivers call back (`rotation.publicUrl`). */
  publicUrl: 'KEYWARDEN_PUBLIC_URL',
  /** AES-256-GCM key for raw secrets at rest (`rotation.secretKey`). */
  secretKey: 'KEYWARDEN_SECRET_KEY',
  /** Delay from the callback to the first liveness check (`rotation.revocation.firstPoll`). */
  firstPoll: 'KEYWARDEN_REVOCATION_FIRST_POLL',
  /** Delay between liveness checks before backoff (`rotation.revocation.pollInterval`). */
  pollInterval: 'KEYWARDEN_REVOCATION_POLL_INTERVAL',
  /** From the rotation request to confirmed revocation, else escalation (`rotation.sla`). */
  sla: 'KEYWARDEN_ROTATION_SLA',
} as const;

/** Where KEYWARDEN_PUBLIC_URL points when unset: the API on this machine. @defaultValue 8787 */
export const DEFAULT_API_PORT = 8787;
/** Shortest webhook signing secret accepted (characters). */
export const MIN_WEBHOOK_SECRET_CHARS = 16;

/** Defaults, in milliseconds where a duration. */
export const ROTATION_DEFAULTS = {
  firstPollMs: 30_000,
  pollIntervalMs: 60_000,
  maxPollIntervalMs: 3_600_000,
  backoffFactor: 2,
  slaMs: 86_400_000,
  callbackTokenTtlMs: 7 * 86_400_000,
  delivery: { attempts: 10, timeoutMs: 10_000, backoffMs: 2_000, maxBackoffMs: 600_000, maxRetryAfterMs: 3_600_000 },
} as const;

/** What `findings show` and start-up print when no raw secret can be kept. */
export const RAW_SECRETS_OFF_MESSAGE =
  `${ROTATION_ENV.secretKey} is not set: findings are recorded but no raw secret is kept, so liveness checks ` +
  '(revocation confirmation, keywarden verify) cannot run; set it to 64 hex digits (openssl rand -hex 32)';

// ---------------------------------------------------------------------------------------------------
// Durations: one parser for every duration setting.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds for `0s`, `500ms`, `15m`, `4h`, `7d`, or a sum such as `1h30m`; null if not a duration.
 * A bare number is refused (is `30` seconds or milliseconds?), except `0`.
 */
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '' || s.length > 64) return null;
  let total = 0;
  let rest = s;
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/.exec(rest);
    if (!m) return null;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return Number.isFinite(total) ? Math.round(total) : null;
}

/** The shortest exact form of `ms` (`90000` -> `1m30s`), for messages and docs. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = '';
  let rest = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

const DURATION_HINT = 'expected a duration such as 0s, 500ms, 15m or 4h';
const Duration = z.string().refine((s) => parseDuration(s) !== null, DURATION_HINT);

/** A provider as env names spell it: upper case, every non-alphanumeric run as `_` (`Hugging Face` -> `HUGGING_FACE`). */
export function providerKey(provider: string): string {
  return provider
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

// ---------------------------------------------------------------------------------------------------
// Secrets held by the settings: never printed by console.log, JSON.stringify, util.inspect or pino.

/** A secret setting. `reveal()` is the one way to read it; every other view says `[redacted]`. */
export class SecretValue<T> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

// ---------------------------------------------------------------------------------------------------
// The config-file section. Strict: an unknown key is an error (a typo must not silently do nothing).
// Values stay as written (durations as strings), so parsing an already parsed section is harmless.

/** Where an occurrence was found, as policy and targets select it (an occurrence's `kind`). */
export const ROTATION_SOURCE_KINDS = ['file', 'git', 'dump', 'log', 'stdin', 'github-alert'] as const;
export type RotationSourceKind = (typeof ROTATION_SOURCE_KINDS)[number];

const EnvVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)');
const Names = z.array(z.string().min(1)).min(1);

/** Which findings a target or policy entry applies to: every listed field must match (any value in it). */
const SelectorShape = {
  /** Rule providers (`GitHub`, `AWS`), compared as {@link providerKey} spells them. */
  providers: Names.optional(),
  /** Rule ids; `*` matches any run of characters (`github-*`). */
  rules: Names.optional(),
  /** Occurrence kinds: a finding matches if any occurrence has one of them. */
  sources: z.array(z.enum(ROTATION_SOURCE_KINDS)).min(1).optional(),
  /**
   * Repositories as the store records them (`github.com/acme/app`, a path); `*` matches within one
   * `/`-separated part, `**` across parts, case-insensitively. A finding matches if any occurrence does.
   */
  repositories: Names.optional(),
};

const TargetName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits and _ . - (at most 64), starting with a letter or digit');

const TargetSpec = z
  .object({
    /** Shown in audit events and notifications. `default` names the KEYWARDEN_ROTATION_WEBHOOK_URL target. */
    name: TargetName,
    /**
     * `rotation`: gets the signed `rotation.requested` / `rotation.escalated` bodies with a callback.
     * `notify`: a Slack-compatible incoming webhook: a text message, no secret, no callback. @defaultValue rotation
     */
    type: z.enum(['rotation', 'notify']).default('rotation'),
    /** The target's URL (http or https). Give `url` or `urlEnv`. */
    url: z.string().optional(),
    /** An environment variable holding the URL (a Slack webhook URL is itself a credential). */
    urlEnv: EnvVarName.optional(),
    /** An environment variable holding this target's own signing secret; @defaultValue KEYWARDEN_WEBHOOK_SECRET */
    secretEnv: EnvVarName.optional(),
    ...SelectorShape,
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((t.url === undefined) === (t.urlEnv === undefined))
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'give exactly one of url or urlEnv' });
    if (t.name === 'default')
      ctx.addIssue({ code: 'custom', path: ['name'], message: `"default" is the ${ROTATION_ENV.webhookUrl} target's name` });
    if (t.url !== undefined) {
      const problem = urlProblem(t.url);
      if (problem) ctx.addIssue({ code: 'custom', path: ['url'], message: problem });
    }
  });

const PolicyAction = z.enum(['rotate', 'notify', 'none']);
export type PolicyAction = z.infer<typeof PolicyAction>;

const PolicyEntry = z
  .object({
    ...SelectorShape,
    /** `rotate`: rotation request to rotation targets (and a notification); `notify`: notification only; `none`: record only. */
    action: PolicyAction,
  })
  .strict();

export const SELF_REVOKE_MODES = ['never', 'on-sla', 'immediately'] as const;
const SelfRevokeMode = z.enum(SELF_REVOKE_MODES);
export type SelfRevokeMode = z.infer<typeof SelfRevokeMode>;

/** The `rotation:` section of the config file. Every key is optional. */
export const RotationFileSection = z
  .object({
    /** The default rotation target. Env: KEYWARDEN_ROTATION_WEBHOOK_URL. @defaultValue none */
    webhookUrl: z.string().optional(),
    /** Signing secret, >= 16 characters; prefer the environment. Env: KEYWARDEN_WEBHOOK_SECRET. */
    webhookSecret: z.string().optional(),
    /** Base URL receivers call back. Env: KEYWARDEN_PUBLIC_URL. @defaultValue http://127.0.0.1:<api port> */
    publicUrl: z.string().optional(),
    /** AES-256-GCM key (64 hex digits or base64 of 32 bytes); prefer the environment. Env: KEYWARDEN_SECRET_KEY. */
    secretKey: z.string().optional(),
    /** From the rotation request to confirmed revocation; then `escalated`. Env: KEYWARDEN_ROTATION_SLA. @defaultValue 24h */
    sla: Duration.optional(),
    revocation: z
      .object({
        /** From the callback to the first liveness check. Env: KEYWARDEN_REVOCATION_FIRST_POLL. @defaultValue 30s */
        firstPoll: Duration.optional(),
        /** Between the first and second checks; then multiplied by `backoffFactor`. Env: KEYWARDEN_REVOCATION_POLL_INTERVAL. @defaultValue 1m */
        pollInterval: Duration.optional(),
        /** The longest wait between checks. @defaultValue 1h */
        maxPollInterval: Duration.optional(),
        /** Each wait is this many times the one before, up to `maxPollInterval`. @defaultValue 2 */
        backoffFactor: z.number().min(1).max(10).optional(),
      })
      .strict()
      .optional(),
    delivery: z
      .object({
        /** Tries per webhook before the finding is escalated. @defaultValue 10 */
        attempts: z.number().int().min(1).max(100).optional(),
        /** Per try: connect, send, and the receiver's status line. @defaultValue 10s */
        timeout: Duration.optional(),
        /** Wait before the second try; doubled for each next one. @defaultValue 2s */
        backoff: Duration.optional(),
        /** The longest wait between tries. @defaultValue 10m */
        maxBackoff: Duration.optional(),
        /** A receiver's Retry-After is honoured up to this. @defaultValue 1h */
        maxRetryAfter: Duration.optional(),
      })
      .strict()
      .optional(),
    /** How long a callback token stays valid; at least `sla`. @defaultValue 7d */
    callbackTokenTtl: Duration.optional(),
    /** Rotation and notification targets beside the default one; several may apply to one finding. */
    targets: z
      .array(TargetSpec)
      .superRefine((ts, ctx) => {
        const seen = new Set<string>();
        ts.forEach((t, i) => {
          if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${t.name} is listed twice` });
          seen.add(t.name);
        });
      })
      .optional(),
    /** Entries tried in order; the first whose selector matches decides. */
    policy: z.array(PolicyEntry).optional(),
    /**
     * What a finding no policy entry matches gets. `auto`: `rotate` if its rule has a liveness check,
     * else `notify` (closing needs a human's confirm_revoked). @defaultValue auto
     */
    defaultAction: z.enum(['auto', 'rotate', 'notify', 'none']).optional(),
    /**
     * Revocation by keywarden itself through the provider's API: `never` (revoking a key still in use
     * causes an outage), `on-sla` (when the SLA passes), `immediately`. A rule entry beats a provider entry.
     */
    selfRevoke: z
      .object({
        /** @defaultValue never */
        default: SelfRevokeMode.optional(),
        providers: z.record(z.string().min(1), SelfRevokeMode).optional(),
        rules: z.record(z.string().min(1), SelfRevokeMode).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type RotationFileSection = z.infer<typeof RotationFileSection>;

// ---------------------------------------------------------------------------------------------------
// The validated settings.

declare const configured: unique symbol;

/** Which findings a target or policy entry selects; absent fields match everything. */
export interface Selector {
  readonly providers?: readonly string[];
  readonly rules?: readonly string[];
  readonly sources?: readonly RotationSourceKind[];
  readonly repositories?: readonly string[];
}

/**
 * A webhook target. Only {@link rotationSettings} makes these (the brand), so nothing can post to a URL
 * taken from a finding or a request: delivery takes a RotationTarget, never a string.
 */
export interface RotationTarget {
  readonly [configured]: true;
  readonly name: string;
  readonly type: 'rotation' | 'notify';
  readonly url: string;
  readonly signingSecret: SecretValue<string>;
  readonly match: Selector;
  /** Where it was configured: `KEYWARDEN_ROTATION_WEBHOOK_URL` or `rotation.targets[2]`. */
  readonly origin: string;
}

export interface PolicyRule extends Selector {
  readonly action: PolicyAction;
}

export interface RevocationSchedule {
  readonly firstPollMs: number;
  readonly pollIntervalMs: number;
  readonly maxPollIntervalMs: number;
  readonly backoffFactor: number;
  readonly slaMs: number;
}

export interface DeliverySettings {
  readonly attempts: number;
  readonly timeoutMs: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxRetryAfterMs: number;
}

export type RawSecretKeeping =
  | { readonly kept: true; readonly key: SecretValue<Buffer> }
  | {
      readonly kept: false;
      /** For start-up and `findings show`. */
      readonly message: string;
    };

export interface RotationSettings {
  /** Without a trailing slash; callbacks go to `<publicUrl>/v1/findings/<fingerprint>/rotated`. */
  readonly publicUrl: string;
  /** The default signing secret; null only when no target is configured. */
  readonly webhookSecret: SecretValue<string> | null;
  /** The default target (name `default`) first if set, then `rotation.targets` in file order. */
  readonly targets: readonly RotationTarget[];
  /** The `KEYWARDEN_ROTATION_WEBHOOK_URL` target, if set: used when no other rotation target matches. */
  readonly defaultTarget: RotationTarget | null;
  readonly policy: readonly PolicyRule[];
  readonly defaultAction: 'auto' | 'rotate' | 'notify' | 'none';
  readonly selfRevoke: {
    readonly default: SelfRevokeMode;
    /** Keyed by {@link providerKey}. */
    readonly providers: Readonly<Record<string, SelfRevokeMode>>;
    readonly rules: Readonly<Record<string, SelfRevokeMode>>;
  };
  readonly revocation: RevocationSchedule;
  readonly delivery: DeliverySettings;
  readonly callbackTokenTtlMs: number;
  /** Whether raw secrets are kept (encrypted) for liveness checks, and the message when not. */
  readonly rawSecrets: RawSecretKeeping;
}

export type RotationSettingsResult =
  | {
      ok: true;
      settings: RotationSettings;
      /** Worth a line at start-up (the loopback public URL, raw secrets off). */
      warnings: string[];
    }
  | {
      ok: false;
      /** Every problem, each naming its variable or file field. */
      problems: string[];
    };

export interface RotationSettingsInput {
  /** The raw `rotation:` value of the config file, if the file has one. */
  file?: unknown;
  /** Names the file in messages. @defaultValue .keywarden.yaml */
  fileName?: string;
  /** The environment, read once by the caller at start-up. */
  env: Readonly<Record<string, string | undefined>>;
  /** The API's port, for the default public URL. @defaultValue 8787 */
  apiPort?: number;
}

/** Why `url` is not an acceptable webhook or public URL, or null. Never quotes the URL (it may carry a token). */
function urlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'must be an absolute http:// or https:// URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `must be http:// or https://, not ${u.protocol}//`;
  if (u.username !== '' || u.password !== '')
    return 'must not carry a user name or password (put a token in the path or use the signature)';
  if (u.hash !== '') return 'must not have a #fragment';
  return null;
}

/** 32 bytes from 64 hex digits or standard/url-safe base64 (padding optional), else null. */
export function parseSecretKey(text: string): Buffer | null {
  const s = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(s) || /^[A-Za-z0-9_-]{43}=?$/.test(s)) {
    const b = Buffer.from(s.replace(/=$/, ''), s.includes('-') || s.includes('_') ? 'base64url' : 'base64');
    return b.length === 32 ? b : null;
  }
  return null;
}

/** ['targets', 0, 'url'] -> `rotation.targets[0].url`. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = 'rotation';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : `.${String(k)}`;
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  return issue.message;
}

/** The value as a message may show it: durations and ports only, cut short. */
function shown(v: string): string {
  return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof SecretValue)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Validates the `rotation:` file section and the environment (which overrides it) into frozen
 * settings. Pure: reads only its input. Every problem comes back at once, each naming the variable
 * (`KEYWARDEN_ROTATION_SLA: ...`) or the file field (`.keywarden.yaml > rotation.sla: ...`); the
 * caller turns them into KW_CONFIG_INVALID (exit 2 for serve and worker). Values of secrets and URLs
 * are never quoted.
 */
export function rotationSettings(input: RotationSettingsInput): RotationSettingsResult {
  const env = input.env;
  const file = input.fileName ?? '.keywarden.yaml';
  const problems: string[] = [];
  const warnings: string[] = [];
  /** Unset or empty: empty counts as unset for plain settings (compose's `${VAR:-}`), not for secrets. */
  const envValue = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };

  const parsed = RotationFileSection.safeParse(input.file ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${file} > ${fieldPath(issue.path)}: ${describeIssue(issue)}`);
  }
  const f: RotationFileSection = parsed.success ? parsed.data : {};

  // Durations: env beats file beats default. `envName` null: a file-only setting.
  const duration = (envName: string | null, fileField: string, fileValue: string | undefined, fallback: number, min: number) => {
    const fromEnv = envName === null ? undefined : envValue(envName);
    const [text, where] = fromEnv !== undefined ? [fromEnv, envName] : [fileValue, `${file} > ${fileField}`];
    if (text === undefined) return fallback;
    const ms = parseDuration(text);
    if (ms === null) {
      problems.push(`${where}: ${DURATION_HINT}; got ${shown(text)}`);
      return fallback;
    }
    if (ms < min) {
      problems.push(`${where}: must be at least ${formatDuration(min)}; got ${shown(text)}`);
      return fallback;
    }
    return ms;
  };
  const d = ROTATION_DEFAULTS;
  const firstPollMs = duration(
    ROTATION_ENV.firstPoll,
    'rotation.revocation.firstPoll',
    f.revocation?.firstPoll,
    d.firstPollMs,
    0,
  );
  const pollIntervalMs = duration(
    ROTATION_ENV.pollInterval,
    'rotation.revocation.pollInterval',
    f.revocation?.pollInterval,
    d.pollIntervalMs,
    1,
  );
  let maxPollIntervalMs = duration(
    null,
    'rotation.revocation.maxPollInterval',
    f.revocation?.maxPollInterval,
    d.maxPollIntervalMs,
    1,
  );
  if (pollIntervalMs > maxPollIntervalMs) {
    // An interval set above the default cap raises the cap with it; above a configured cap it is a contradiction.
    if (f.revocation?.maxPollInterval === undefined) maxPollIntervalMs = pollIntervalMs;
    else
      problems.push(
        `${file} > rotation.revocation.maxPollInterval: must be at least the poll interval (${formatDuration(pollIntervalMs)})`,
      );
  }
  const revocation: RevocationSchedule = {
    firstPollMs,
    pollIntervalMs,
    maxPollIntervalMs,
    backoffFactor: f.revocation?.backoffFactor ?? d.backoffFactor,
    slaMs: duration(ROTATION_ENV.sla, 'rotation.sla', f.sla, d.slaMs, 1),
  };
  const delivery: DeliverySettings = {
    attempts: f.delivery?.attempts ?? d.delivery.attempts,
    timeoutMs: duration(null, 'rotation.delivery.timeout', f.delivery?.timeout, d.delivery.timeoutMs, 1),
    backoffMs: duration(null, 'rotation.delivery.backoff', f.delivery?.backoff, d.delivery.backoffMs, 0),
    maxBackoffMs: duration(null, 'rotation.delivery.maxBackoff', f.delivery?.maxBackoff, d.delivery.maxBackoffMs, 0),
    maxRetryAfterMs: duration(null, 'rotation.delivery.maxRetryAfter', f.delivery?.maxRetryAfter, d.delivery.maxRetryAfterMs, 0),
  };
  const callbackTokenTtlMs = duration(null, 'rotation.callbackTokenTtl', f.callbackTokenTtl, d.callbackTokenTtlMs, 1);
  if (callbackTokenTtlMs < revocation.slaMs) {
    problems.push(
      `${file} > rotation.callbackTokenTtl: must be at least the SLA (${formatDuration(revocation.slaMs)}), or a receiver acting in time is refused`,
    );
  }

  // Public URL.
  const apiPort = input.apiPort ?? DEFAULT_API_PORT;
  let publicUrl = `http://127.0.0.1:${apiPort}`;
  {
    const fromEnv = envValue(ROTATION_ENV.publicUrl);
    const [text, where] =
      fromEnv !== undefined ? [fromEnv, ROTATION_ENV.publicUrl] : [f.publicUrl, `${file} > rotation.publicUrl`];
    if (text !== undefined) {
      const problem = urlProblem(text.trim()) ?? (new URL(text.trim()).search !== '' ? 'must not have a ?query' : null);
      if (problem) problems.push(`${where}: ${problem}`);
      else publicUrl = new URL(text.trim()).toString().replace(/\/+$/, '');
    }
  }

  // Signing secret: set-but-empty is an error (a CI secret that failed to expand must not pass silently).
  let webhookSecret: SecretValue<string> | null = null;
  {
    const fromEnv = env[ROTATION_ENV.webhookSecret];
    const [text, where] =
      fromEnv !== undefined ? [fromEnv, ROTATION_ENV.webhookSecret] : [f.webhookSecret, `${file} > rotation.webhookSecret`];
    if (text !== undefined) {
      if (text.length < MIN_WEBHOOK_SECRET_CHARS)
        problems.push(`${where}: must be at least ${MIN_WEBHOOK_SECRET_CHARS} characters; got ${text.length}`);
      else webhookSecret = new SecretValue(text);
    }
  }

  // Raw-secret key.
  let rawSecrets: RawSecretKeeping = { kept: false, message: RAW_SECRETS_OFF_MESSAGE };
  {
    const fromEnv = env[ROTATION_ENV.secretKey];
    const [text, where] =
      fromEnv !== undefined ? [fromEnv, ROTATION_ENV.secretKey] : [f.secretKey, `${file} > rotation.secretKey`];
    if (text !== undefined) {
      const key = parseSecretKey(text);
      if (key === null)
        problems.push(
          `${where}: must be 64 hex digits or the base64 of 32 bytes (openssl rand -hex 32); got ${text.trim().length} characters`,
        );
      else rawSecrets = { kept: true, key: new SecretValue(key) };
    }
  }

  // Targets: the default one, then the file's.
  const targets: RotationTarget[] = [];
  let defaultTarget: RotationTarget | null = null;
  const target = (spec: Omit<RotationTarget, typeof configured>): RotationTarget => spec as RotationTarget;
  const secretFor = (secretEnv: string | undefined, where: string): SecretValue<string> | null => {
    if (secretEnv === undefined) return webhookSecret;
    const v = env[secretEnv];
    if (v === undefined || v.length < MIN_WEBHOOK_SECRET_CHARS) {
      problems.push(
        `${secretEnv}: ${v === undefined ? 'not set' : `must be at least ${MIN_WEBHOOK_SECRET_CHARS} characters; got ${v.length}`} (the signing secret of ${where})`,
      );
      return null;
    }
    return new SecretValue(v);
  };
  let needsDefaultSecret = false;
  {
    const fromEnv = envValue(ROTATION_ENV.webhookUrl);
    const [text, where] =
      fromEnv !== undefined ? [fromEnv.trim(), ROTATION_ENV.webhookUrl] : [f.webhookUrl?.trim(), `${file} > rotation.webhookUrl`];
    if (text !== undefined) {
      const problem = urlProblem(text);
      if (problem) problems.push(`${where}: ${problem}`);
      else {
        needsDefaultSecret = true;
        defaultTarget = target({
          name: 'default',
          type: 'rotation',
          url: new URL(text).toString(),
          signingSecret: webhookSecret ?? new SecretValue(''),
          match: {},
          origin: fromEnv !== undefined ? ROTATION_ENV.webhookUrl : 'rotation.webhookUrl',
        });
        targets.push(defaultTarget);
      }
    }
  }
  (f.targets ?? []).forEach((t, i) => {
    const where = `rotation.targets[${i}]`;
    let url = t.url?.trim();
    if (t.urlEnv !== undefined) {
      const v = env[t.urlEnv]?.trim();
      const problem = v === undefined || v === '' ? 'not set' : urlProblem(v);
      if (problem) {
        problems.push(`${t.urlEnv}: ${problem} (the URL of ${where}, ${t.name})`);
        return;
      }
      url = v;
    }
    if (url === undefined) return; // reported by the schema
    if (t.secretEnv === undefined) needsDefaultSecret = true;
    const secret = secretFor(t.secretEnv, `${where}, ${t.name}`);
    targets.push(
      target({
        name: t.name,
        type: t.type,
        url: new URL(url).toString(),
        signingSecret: secret ?? new SecretValue(''),
        match: selector(t),
        origin: where,
      }),
    );
  });
  if (
    needsDefaultSecret &&
    webhookSecret === null &&
    env[ROTATION_ENV.webhookSecret] === undefined &&
    f.webhookSecret === undefined
  ) {
    problems.push(
      `${ROTATION_ENV.webhookSecret}: required when a rotation or notification target is set (${ROTATION_ENV.webhookUrl} or rotation.targets); at least ${MIN_WEBHOOK_SECRET_CHARS} characters`,
    );
  }
  if (targets.length > 0 && envValue(ROTATION_ENV.publicUrl) === undefined && f.publicUrl === undefined) {
    warnings.push(
      `${ROTATION_ENV.publicUrl} is not set: receivers are told to call back ${publicUrl}, which works only on this machine`,
    );
  }
  if (!rawSecrets.kept) warnings.push(rawSecrets.message);

  const selfRevokeProviders: Record<string, SelfRevokeMode> = {};
  for (const [p, mode] of Object.entries(f.selfRevoke?.providers ?? {})) selfRevokeProviders[providerKey(p)] = mode;

  if (problems.length > 0) return { ok: false, problems };
  const settings: RotationSettings = {
    publicUrl,
    webhookSecret,
    targets,
    defaultTarget,
    policy: (f.policy ?? []).map((p) => ({ ...selector(p), action: p.action })),
    defaultAction: f.defaultAction ?? 'auto',
    selfRevoke: {
      default: f.selfRevoke?.default ?? 'never',
      providers: selfRevokeProviders,
      rules: { ...(f.selfRevoke?.rules ?? {}) },
    },
    revocation,
    delivery,
    callbackTokenTtlMs,
    rawSecrets,
  };
  return { ok: true, settings: deepFreeze(settings), warnings };
}

function selector(s: Selector): Selector {
  const out: { -readonly [K in keyof Selector]: Selector[K] } = {};
  if (s.providers) out.providers = s.providers.map(providerKey);
  if (s.rules) out.rules = [...s.rules];
  if (s.sources) out.sources = [...s.sources];
  if (s.repositories) out.repositories = [...s.repositories];
  return out;
}

/**
 * Names in policy, targets and selfRevoke that match no loaded rule or provider: a typo there would
 * silently do nothing, so the caller (which knows the rule pack) reports these at start-up.
 * Rule patterns with `*` are checked to match at least one rule.
 */
export function unknownRotationNames(
  settings: RotationSettings,
  known: { ruleIds: readonly string[]; providers: readonly string[] },
): string[] {
  const providers = new Set(known.providers.map(providerKey));
  const out: string[] = [];
  const ruleMatches = (pattern: string) => {
    if (!pattern.includes('*')) return known.ruleIds.includes(pattern);
    const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
    return known.ruleIds.some((id) => re.test(id));
  };
  const check = (s: Selector, where: string) => {
    for (const p of s.providers ?? []) if (!providers.has(p)) out.push(`${where}.providers: no rule has provider ${p}`);
    for (const r of s.rules ?? []) if (!ruleMatches(r)) out.push(`${where}.rules: no rule matches ${r}`);
  };
  settings.targets.forEach((t) => {
    check(t.match, t.origin);
  });
  settings.policy.forEach((p, i) => {
    check(p, `rotation.policy[${i}]`);
  });
  for (const p of Object.keys(settings.selfRevoke.providers))
    if (!providers.has(p)) out.push(`rotation.selfRevoke.providers: no rule has provider ${p}`);
  for (const r of Object.keys(settings.selfRevoke.rules))
    if (!known.ruleIds.includes(r)) out.push(`rotation.selfRevoke.rules: no rule has id ${r}`);
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The section as config/service.ts builds it: the `rotation:` file section with the environment over
 * it (`KEYWARDEN_ROTATION_WEBHOOK_URL` ... `KEYWARDEN_ROTATION_SLA`), shape-checked by the strict file
 * schema; then `settleRotationSection` turns it into {@link RotationSettings} (targets, secrets, the
 * public URL, the targets' own `urlEnv`/`secretEnv` variables). The two secrets may be set in the file
 * too (docs/rotation.md: prefer the environment); set-but-empty is an error for them.
 */
export const rotationSection = defineSection({
  key: 'rotation',
  fromFile: true,
  env: {
    [ROTATION_ENV.webhookUrl]: 'webhookUrl',
    [ROTATION_ENV.webhookSecret]: { field: 'webhookSecret', emptyIsValue: true },
    [ROTATION_ENV.publicUrl]: 'publicUrl',
    [ROTATION_ENV.secretKey]: { field: 'secretKey', emptyIsValue: true },
    [ROTATION_ENV.firstPoll]: 'revocation.firstPoll',
    [ROTATION_ENV.pollInterval]: 'revocation.pollInterval',
    [ROTATION_ENV.sla]: 'sla',
  },
  schema: RotationFileSection,
});

/** The settled section: the settings, and what start-up should say about them. */
export type SettledRotation = RotationSettings & {
  /** Lines for start-up (raw secrets off, a loopback public URL). */
  readonly warnings: readonly string[];
};

/**
 * Settles the section once its shape is valid: `file` is the config file's own `rotation:` value (the
 * environment is applied here, as `rotationSettings` documents), so every problem keeps naming the
 * variable or file field it is about. Problems come back as `[name, text]`.
 */
export function settleRotationSection(
  input: RotationSettingsInput,
): { ok: true; value: SettledRotation } | { ok: false; problems: Array<[string, string]> } {
  const r = rotationSettings(input);
  if (!r.ok) {
    return {
      ok: false,
      problems: r.problems.map((p): [string, string] => {
        const at = p.indexOf(': ');
        return at < 0 ? [p, ''] : [p.slice(0, at), p.slice(at + 2)];
      }),
    };
  }
  return { ok: true, value: { ...r.settings, warnings: Object.freeze([...r.warnings]) } };
}
