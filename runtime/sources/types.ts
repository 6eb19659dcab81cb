// What a rotatable secret reads from: one interface for every source (file, env, Vault, AWS, a
// function), so `createRotatableSecret` never knows where a value lives. Sources never log and their
// errors never carry the value.
import { KeywardenError } from '../../errors/error.js';

export interface SecretSourceObject {
  /** `file`, `env`, `vault-kv`, `aws-secrets-manager`, `function`. */
  readonly kind: string;
  /** Where the value lives (a path, a variable name, a secret id), for messages; never the value. */
  readonly location: string;
  /** The current value. Rejects with a KeywardenError (KW_SECRET_SOURCE) whose message holds no value. */
  fetch(signal: AbortSignal): Promise<string>;
  /** Calls `onChange` when the value may have changed (a hint: the secret fetches to find out). Returns the unsubscribe. */
  watch?(onChange: () => void): () => void;
}

/** A source object, or any function returning the current value. */
export type SecretSource = SecretSourceObject | (() => Promise<string>);

export function sourceError(source: { kind: string; location: string }, message: string, cause?: unknown): KeywardenError {
  return new KeywardenError(
    'KW_SECRET_SOURCE',
    `${source.kind} ${source.location}: ${message}`,
    [],
    cause === undefined ? undefined : { cause },
  );
}

/**
 * The field `field` of a JSON object held by a secret (AWS and Vault secrets often hold several keys).
 * A parse failure's message is dropped: V8 quotes the input in JSON.parse errors.
 */
export function jsonField(source: { kind: string; location: string }, text: string, field: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw sourceError(source, `field ${JSON.stringify(field)} asked for, but the secret is not a JSON object`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw sourceError(source, `field ${JSON.stringify(field)} asked for, but the secret is not a JSON object`);
  }
  return stringField(source, parsed as Record<string, unknown>, field);
}

export function stringField(source: { kind: string; location: string }, obj: Record<string, unknown>, field: string): string {
  const v = obj[field];
  if (v === undefined) {
    const names = Object.keys(obj)
      .slice(0, 20)
      .map((k) => JSON.stringify(k));
    throw sourceError(source, `no field ${JSON.stringify(field)} (fields: ${names.join(', ') || 'none'})`);
  }
  if (typeof v !== 'string') throw sourceError(source, `field ${JSON.stringify(field)} is not a string`);
  return v;
}

/** Wraps a bare function as a source. */
export function toSourceObject(source: SecretSource): SecretSourceObject {
  if (typeof source !== 'function') return source;
  return {
    kind: 'function',
    location: source.name || 'anonymous',
    fetch: async () => {
      try {
        return await source();
      } catch (err) {
        if (err instanceof KeywardenError) throw err;
        // The function's own error may quote anything (a URL with a token, a value): keep its name only.
        const name = err instanceof Error ? err.name : typeof err;
        throw sourceError({ kind: 'function', location: source.name || 'anonymous' }, `threw ${name}`);
      }
    },
  };
}
