// KEYWARDEN_PROVIDER_<NAME>_BASE_URL: NAME is the rule's `provider` upper-cased with every run of
// non-alphanumerics as one `_` (issue #11's settings contract).
import { describe, expect, it } from 'vitest';
import { baseUrlEnvVar, providerEnvName, providerFromEnvVar } from '../../providers/names.js';
import { builtinRules } from '../../rules/builtin.js';

const NAMES: Record<string, string> = {
  GitHub: 'GITHUB',
  Slack: 'SLACK',
  Stripe: 'STRIPE',
  npm: 'NPM',
  OpenAI: 'OPENAI',
  'Hugging Face': 'HUGGING_FACE',
  'crates.io': 'CRATES_IO',
  'Fly.io': 'FLY_IO',
  'Microsoft Azure DevOps': 'MICROSOFT_AZURE_DEVOPS',
  'Microsoft .NET': 'MICROSOFT_NET',
  'HashiCorp  Vault': 'HASHICORP_VAULT',
  '  AWS  ': 'AWS',
  'a--b__c': 'A_B_C',
  xAI: 'XAI',
  '1Password': '1PASSWORD',
};

describe('provider NAME', () => {
  it.each(Object.entries(NAMES))('%j -> %s', (provider, name) => {
    expect(providerEnvName(provider)).toBe(name);
    expect(baseUrlEnvVar(provider)).toBe(`KEYWARDEN_PROVIDER_${name}_BASE_URL`);
    expect(providerFromEnvVar(baseUrlEnvVar(provider))).toBe(name);
  });

  it('reads only KEYWARDEN_PROVIDER_<NAME>_BASE_URL variables', () => {
    expect(providerFromEnvVar('KEYWARDEN_PROVIDER_GITHUB_BASE_URL')).toBe('GITHUB');
    expect(providerFromEnvVar('KEYWARDEN_PROVIDER_HUGGING_FACE_BASE_URL')).toBe('HUGGING_FACE');
    expect(providerFromEnvVar('KEYWARDEN_PROVIDER__BASE_URL')).toBeNull();
    expect(providerFromEnvVar('KEYWARDEN_PROVIDER_github_BASE_URL')).toBeNull();
    expect(providerFromEnvVar('KEYWARDEN_ROTATION_WEBHOOK_URL')).toBeNull();
    expect(providerFromEnvVar('GITHUB_API_URL')).toBeNull();
  });

  it('gives every built-in provider a distinct NAME', async () => {
    const byName = new Map<string, Set<string>>();
    for (const r of await builtinRules()) {
      const n = providerEnvName(r.provider);
      expect(n).toMatch(/^[A-Z0-9]+(?:_[A-Z0-9]+)*$/);
      byName.set(n, (byName.get(n) ?? new Set()).add(r.provider));
    }
    const clashes = [...byName].filter(([, spellings]) => spellings.size > 1);
    expect(clashes).toEqual([]);
  });
});
