// The service configuration: every setting of `keywarden serve`, `worker` and `intake`, built once at
// start-up from the environment, the config file's service sections and the command's flags
// (each overriding the one before), validated by each section's zod schema with every problem
// reported together, each naming the setting it is about (`KEYWARDEN_API_TOKEN: must be ...`,
// `.keywarden.yaml > api.port: ...`, `--intake-downstream: ...`), then frozen. Nothing reads the
// environment after this: later code gets the frozen object, or the values it needs from it.
import { resolve } from 'node:path';
import type { z } from 'zod';
import { KeywardenError } from '../errors/error.js';
import type { ConfigDocument } from './file.js';
import { deepFreeze } from './freeze.js';
import { describeIssue, fieldPath } from './problems.js';
import { bindingOf, type ConfigSection, type Environment } from './section.js';
import { apiSection } from './sections/api.js';
import { fingerprintSection } from './sections/fingerprint.js';
import { githubSection } from './sections/github.js';
import { defaultIntakeSpool, intakeSection } from './sections/intake.js';
import { logSection } from './sections/log.js';
import { pathsSection } from './sections/paths.js';
import { redisSection } from './sections/redis.js';
import { rotationSection, type SettledRotation, settleRotationSection } from './sections/rotation.js';

/**
 * Every section, by its key. A later issue adds its settings as a section file in config/sections/
 * (a `defineSection` with its schema and variables, e.g. config/sections/rotation.ts) and one line
 * here; ServiceConfig, the file's accepted keys (scanner/config-file.ts) and the problem messages
 * follow from this list.
 */
export const SECTIONS = {
  paths: pathsSection,
  redis: redisSection,
  api: apiSection,
  intake: intakeSection,
  fingerprint: fingerprintSection,
  log: logSection,
  rotation: rotationSection,
  github: githubSection,
} as const satisfies Record<string, ConfigSection>;

export type SectionKey = keyof typeof SECTIONS;
type Parsed<K extends SectionKey> = z.output<(typeof SECTIONS)[K]['schema']>;
/** What the settle step adds to a section's own value (defaults that depend on another section). */
type Settled<K extends SectionKey> = K extends 'intake'
  ? Omit<Parsed<'intake'>, 'spoolDir'> & { spoolDir: string }
  : K extends 'rotation'
    ? SettledRotation
    : Parsed<K>;

/** The frozen service configuration. */
export type ServiceConfig = { readonly [K in SectionKey]: Readonly<Settled<K>> } & {
  /** The config file its sections were read from (as shown in messages); null when there was none. */
  readonly file: string | null;
  /**
   * The environment as start-up read it, handed to child processes (git) unchanged. Settings are
   * never read from it: they are the sections above.
   */
  readonly childEnv: Environment;
};

/**
 * Config file keys that are not scan settings: the service sections', and `schedule:` (validated by
 * workers/scheduler.ts). The scanner's schema (scanner/config-file.ts) leaves them to their owners.
 */
export const SERVICE_FILE_KEYS: readonly string[] = [
  ...(Object.values(SECTIONS) as ConfigSection[]).filter((s) => s.fromFile).map((s) => s.key),
  'schedule',
];

/** A command-line flag that overrides a setting. */
export interface FlagSetting {
  value: unknown;
  /** The flag as the user typed it, for messages (`--port`). */
  name: string;
}

/** A setting the command cannot run without. */
export interface Requirement {
  /** Said after "is not set; ". */
  why: string;
  /** A line of help after the message (how to make a token). */
  hint?: string;
}

export interface LoadServiceConfigOptions {
  env: Environment;
  /** The config file, parsed once at start-up (config/file.ts `loadConfigDocument`); null: none. */
  document?: ConfigDocument | null;
  /** Flags by `section.field` (`api.port`); entries whose value is undefined are not given. */
  flags?: Readonly<Record<string, FlagSetting | undefined>>;
  /** Settings this command needs, by `section.field` (`api.token` for `serve`). */
  require?: Readonly<Record<string, Requirement>>;
}

interface Problem {
  name: string;
  text: string;
  hint?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = target;
  for (const k of path.slice(0, -1)) {
    if (!isRecord(at[k])) at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  at[path[path.length - 1]!] = value;
}

function getPath(source: unknown, path: readonly PropertyKey[]): unknown {
  let at = source;
  for (const k of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<PropertyKey, unknown>)[k];
  }
  return at;
}

/** The variable bound to `field` (or to a field that contains it), for messages about unset settings. */
function variableFor(section: ConfigSection, field: string): string | undefined {
  for (const [name, b] of Object.entries(section.env)) {
    const f = bindingOf(b).field;
    if (field === f || field.startsWith(`${f}.`)) return name;
  }
  return undefined;
}

/** One section's input and where each of its fields came from. */
function inputOf(section: ConfigSection, opts: LoadServiceConfigOptions, problems: Problem[]) {
  const doc = opts.document ?? null;
  const input: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  const fromFile = section.fromFile && doc !== null && isRecord(doc.data) ? doc.data[section.key] : undefined;
  if (fromFile !== undefined) {
    if (!isRecord(fromFile)) {
      problems.push({ name: `${doc!.file} > ${section.key}`, text: 'expected a mapping' });
    } else {
      for (const [k, v] of Object.entries(structuredClone(fromFile))) {
        if (section.envOnly?.includes(k)) {
          const variable = variableFor(section, k);
          problems.push({
            name: `${doc!.file} > ${section.key}.${k}`,
            text: `is read from the environment only${variable ? ` (${variable})` : ''}: the config file is usually committed`,
          });
          continue;
        }
        input[k] = v;
      }
    }
  }
  for (const [name, b] of Object.entries(section.env)) {
    const { field, emptyIsValue } = bindingOf(b);
    const value = opts.env[name];
    if (value === undefined || (value === '' && !emptyIsValue)) continue;
    setPath(input, field.split('.'), value);
    sources.set(field, name);
  }
  for (const [path, flag] of Object.entries(opts.flags ?? {})) {
    if (flag === undefined || flag.value === undefined || !path.startsWith(`${section.key}.`)) continue;
    const field = path.slice(section.key.length + 1);
    setPath(input, field.split('.'), flag.value);
    sources.set(field, flag.name);
  }
  return { input, sources, fileSection: isRecord(fromFile) ? fromFile : undefined };
}

/** Who set the field an issue is about, or where it would be set. */
function nameFor(
  section: ConfigSection,
  path: readonly PropertyKey[],
  sources: ReadonlyMap<string, string>,
  fileSection: Record<string, unknown> | undefined,
  doc: ConfigDocument | null,
): string {
  const parts = path.map(String);
  for (let i = parts.length; i > 0; i--) {
    const source = sources.get(parts.slice(0, i).join('.'));
    if (source !== undefined) return source;
  }
  const inFile = `${doc?.file ?? '.keywarden.yaml'} > ${section.key}${path.length > 0 ? `.${fieldPath(path)}` : ''}`;
  if (fileSection !== undefined && (path.length === 0 || getPath(fileSection, path.slice(0, 1)) !== undefined)) return inFile;
  return variableFor(section, parts.join('.')) ?? (section.fromFile ? inFile : `${section.key}.${fieldPath(path)}`);
}

function issueText(issue: z.core.$ZodIssue): string {
  const text = describeIssue(issue);
  return text === 'required field is missing' ? 'is not set' : text;
}

/**
 * Builds the service configuration. Throws KW_CONFIG_INVALID listing every problem, each naming its
 * setting; with exactly one, the message is that problem (`KEYWARDEN_API_TOKEN is not set; ...`).
 */
export function loadServiceConfig(opts: LoadServiceConfigOptions): ServiceConfig {
  const doc = opts.document ?? null;
  const problems: Problem[] = [];
  const parsed: Record<string, unknown> = {};
  const names: Record<string, (field: string) => string> = {};
  for (const section of Object.values(SECTIONS) as ConfigSection[]) {
    const { input, sources, fileSection } = inputOf(section, opts, problems);
    names[section.key] = (field) => nameFor(section, field.split('.'), sources, fileSection, doc);
    const r = section.schema.safeParse(input);
    if (r.success) parsed[section.key] = r.data;
    else {
      for (const issue of r.error.issues) {
        problems.push({ name: nameFor(section, issue.path, sources, fileSection, doc), text: issueText(issue) });
      }
    }
  }

  for (const [path, req] of Object.entries(opts.require ?? {})) {
    const [key, ...field] = path.split('.');
    const value = parsed[key!];
    if (value === undefined) continue; // the section itself failed: already reported
    if (getPath(value, field) === undefined) {
      problems.push({
        name: names[key!]!(field.join('.')),
        text: `is not set; ${req.why}`,
        ...(req.hint ? { hint: req.hint } : {}),
      });
    }
  }

  // Rules across sections, only where both sides are valid.
  const api = parsed.api as Parsed<'api'> | undefined;
  const intake = parsed.intake as Parsed<'intake'> | undefined;
  if (api && intake?.enabled && intake.token !== undefined && intake.token === api.token) {
    problems.push({
      name: names.intake!('token'),
      text: `must differ from ${names.api!('token')}: every shipper host holds it, and the API token can resolve findings`,
    });
  }

  // The rotation section settles against the environment as a whole (each target's `urlEnv` and
  // `secretEnv`) and the API port (the default public URL), once its shape is valid.
  let rotation: SettledRotation | undefined;
  if (parsed.rotation !== undefined) {
    const fileSection = doc !== null && isRecord(doc.data) ? doc.data.rotation : undefined;
    const r = settleRotationSection({
      ...(fileSection !== undefined ? { file: fileSection } : {}),
      fileName: doc?.file ?? '.keywarden.yaml',
      env: opts.env,
      ...(api ? { apiPort: api.port } : {}),
    });
    if (r.ok) rotation = r.value;
    else for (const [name, text] of r.problems) problems.push({ name, text });
  }

  if (problems.length > 0) throw invalidServiceConfig(problems);
  const paths = parsed.paths as Parsed<'paths'>;
  return deepFreeze({
    ...(parsed as { [K in SectionKey]: Parsed<K> }),
    intake: { ...intake!, spoolDir: resolve(intake!.spoolDir ?? defaultIntakeSpool(paths)) },
    rotation: rotation!,
    file: doc?.file ?? null,
    childEnv: withoutKeys(opts.env),
  });
}

/**
 * Keys no child process (git) needs: the vault key and the webhook and GitHub credentials stay in
 * this process, so a child's environment dump (a crash report, `ps e`) cannot reveal them.
 */
const CHILD_ENV_WITHHELD = [
  'KEYWARDEN_SECRET_KEY',
  'KEYWARDEN_WEBHOOK_SECRET',
  'KEYWARDEN_GITHUB_TOKEN',
  'KEYWARDEN_GITHUB_WEBHOOK_SECRET',
] as const;

function withoutKeys(env: Environment): Environment {
  const out: Record<string, string | undefined> = { ...env };
  for (const k of CHILD_ENV_WITHHELD) delete out[k];
  return out;
}

function invalidServiceConfig(problems: readonly Problem[]): KeywardenError {
  const [only] = problems;
  if (problems.length === 1 && only) {
    return new KeywardenError('KW_CONFIG_INVALID', `${only.name} ${only.text}`, only.hint ? [only.hint] : []);
  }
  return new KeywardenError(
    'KW_CONFIG_INVALID',
    `invalid service configuration (${problems.length} problems)`,
    problems.map((p) => `${p.name}: ${p.text}`),
  );
}
