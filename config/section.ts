// What a section of the service configuration is: a zod schema for its settled value, the
// environment variables that set its fields, and whether `.keywarden.yaml` may set them too.
// config/service.ts lists the sections and builds them all at once; a new setting goes into a
// section, a new area of settings (rotation, providers) into a new section file.
import type { z } from 'zod';

/** The process environment as start-up read it (tests pass plain objects). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** How an environment variable sets a field of a section. */
export interface EnvBinding {
  /** Dot path of the field inside the section (`token`, `targets.default`). */
  readonly field: string;
  /**
   * An empty value is validated as given, instead of counting as unset. For secrets whose CI
   * variable may fail to expand: an empty key must be an error, not a silent switch to a default.
   * @defaultValue false
   */
  readonly emptyIsValue?: boolean;
}

export interface ConfigSection<S extends z.ZodType = z.ZodType> {
  /** The section's name in ServiceConfig, and its key in the config file when `fromFile`. */
  readonly key: string;
  /** Whether `.keywarden.yaml` may set the section's fields under `<key>:`. Environment wins over the file. */
  readonly fromFile: boolean;
  /** Fields only the environment may set: secrets, because the config file is usually committed. */
  readonly envOnly?: readonly string[];
  /** Environment variable → the field it sets (a dot path, or a binding with options). */
  readonly env: Readonly<Record<string, string | EnvBinding>>;
  /**
   * Validates the section's input (file, then environment, then command-line flags, each overriding the
   * one before) into its settled value. Document each field with its unit and `@defaultValue`.
   */
  readonly schema: S;
}

/** Declares a section (an identity function that keeps the schema's type). */
export function defineSection<S extends z.ZodType>(section: ConfigSection<S>): ConfigSection<S> {
  return section;
}

export function bindingOf(b: string | EnvBinding): EnvBinding {
  return typeof b === 'string' ? { field: b } : b;
}
