// The base-URL table and the pure resolver of KEYWARDEN_PROVIDER_<NAME>_BASE_URL overrides.
import { describe, expect, it } from 'vitest';
import { DEFAULT_BASE_URLS, resolveProviderBaseUrls } from '../../providers/base-urls.js';
import { providerEnvName } from '../../providers/names.js';
import { builtinRules } from '../../rules/builtin.js';
import { thrown } from '../helpers/thrown.js';

describe('resolveProviderBaseUrls', () => {
  it('gives the documented defaults, https only, none overridden', () => {
    const urls = resolveProviderBaseUrls({});
    expect(urls.get('GitHub')).toEqual({
      provider: 'GITHUB',
      url: 'https://api.github.com',
      overridden: false,
      envVar: 'KEYWARDEN_PROVIDER_GITHUB_BASE_URL',
    });
    expect(urls.get('Hugging Face')?.url).toBe('https://huggingface.co');
    expect(urls.get('Shopify')?.url).toBe('https://{{parts.shop}}.myshopify.com');
    for (const [name, e] of Object.entries(DEFAULT_BASE_URLS)) expect(e.baseUrl, name).toMatch(/^https:\/\//);
  });

  it('has a base URL for the provider of every rule with a check (Databricks and Vault need config)', async () => {
    const urls = resolveProviderBaseUrls({});
    const missing = new Set<string>();
    for (const r of await builtinRules())
      if ((r.liveness || r.revocation) && !urls.get(r.provider)) missing.add(providerEnvName(r.provider));
    expect([...missing].sort()).toEqual(['DATABRICKS', 'HASHICORP_VAULT']);
  });

  it('applies overrides by NAME, trims a trailing slash, and marks them overridden', () => {
    const urls = resolveProviderBaseUrls({
      KEYWARDEN_PROVIDER_GITHUB_BASE_URL: 'https://ghe.example.com/api/v3/',
      KEYWARDEN_PROVIDER_HUGGING_FACE_BASE_URL: 'http://127.0.0.1:8080/hf',
      KEYWARDEN_PROVIDER_HASHICORP_VAULT_BASE_URL: 'https://vault.internal:8200',
      KEYWARDEN_PROVIDER_SHOPIFY_BASE_URL: 'http://127.0.0.1:9/shopify/{{parts.shop}}',
      KEYWARDEN_PROVIDER_STRIPE_BASE_URL: '',
      PATH: '/usr/bin',
    });
    expect(urls.get('GitHub')).toMatchObject({ url: 'https://ghe.example.com/api/v3', overridden: true });
    expect(urls.get('Hugging Face')).toMatchObject({ url: 'http://127.0.0.1:8080/hf', overridden: true });
    expect(urls.get('HashiCorp Vault')).toMatchObject({ url: 'https://vault.internal:8200', overridden: true });
    expect(urls.get('Shopify')?.url).toBe('http://127.0.0.1:9/shopify/{{parts.shop}}');
    expect(urls.get('Stripe')).toMatchObject({ url: 'https://api.stripe.com', overridden: false });
  });

  it('reports every malformed override at once, naming the variable and not the value', () => {
    const err = thrown(() =>
      resolveProviderBaseUrls({
        KEYWARDEN_PROVIDER_GITHUB_BASE_URL: 'ftp://example.com',
        KEYWARDEN_PROVIDER_SLACK_BASE_URL: 'not a url',
        KEYWARDEN_PROVIDER_STRIPE_BASE_URL: 'https://user:pass@proxy.example.com',
        KEYWARDEN_PROVIDER_NPM_BASE_URL: 'https://registry.example.com/?token=x',
        KEYWARDEN_PROVIDER_OPENAI_BASE_URL: 'https://{{secret}}.example.com',
      }),
    );
    expect(err.code).toBe('KW_CONFIG_INVALID');
    expect(err.details).toEqual([
      'KEYWARDEN_PROVIDER_GITHUB_BASE_URL: must be http:// or https://',
      'KEYWARDEN_PROVIDER_NPM_BASE_URL: must not have a query or fragment',
      'KEYWARDEN_PROVIDER_OPENAI_BASE_URL: only {{parts.<name>}} placeholders may appear in a base URL',
      'KEYWARDEN_PROVIDER_SLACK_BASE_URL: not an absolute URL',
      'KEYWARDEN_PROVIDER_STRIPE_BASE_URL: must not carry credentials',
    ]);
    expect(JSON.stringify(err.details)).not.toContain('pass@');
  });

  it('returns frozen entries', () => {
    const gh = resolveProviderBaseUrls({}).get('GITHUB')!;
    expect(Object.isFrozen(gh)).toBe(true);
  });
});
