// Provider names as settings see them. A rule's `provider` ("Hugging Face") becomes the NAME in
// `KEYWARDEN_PROVIDER_<NAME>_BASE_URL` (HUGGING_FACE): upper-cased, every run of characters other
// than A-Z and 0-9 replaced by one `_`, none at either end. Pure; imports nothing.

/** `GitHub` -> `GITHUB`, `Hugging Face` -> `HUGGING_FACE`, `crates.io` -> `CRATES_IO`. */
export function providerEnvName(provider: string): string {
  return provider
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** The setting that overrides a provider's base URL: `KEYWARDEN_PROVIDER_GITHUB_BASE_URL`. */
export function baseUrlEnvVar(provider: string): string {
  return `KEYWARDEN_PROVIDER_${providerEnvName(provider)}_BASE_URL`;
}

/** `KEYWARDEN_PROVIDER_<NAME>_BASE_URL` -> NAME, or null for any other variable. */
export function providerFromEnvVar(variable: string): string | null {
  const m = /^KEYWARDEN_PROVIDER_([A-Z0-9]+(?:_[A-Z0-9]+)*)_BASE_URL$/.exec(variable);
  return m ? m[1]! : null;
}
