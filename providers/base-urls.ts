// Where each provider's API lives: one table of default base URLs, and the pure resolver that applies
// `KEYWARDEN_PROVIDER_<NAME>_BASE_URL` overrides (GitHub Enterprise, self-managed GitLab, a proxy, or
// 127.0.0.1 in tests). The service config passes its environment record in; nothing here reads
// process.env. A liveness request may only go under the resolved base URL (providers/runner.ts).
import { KeywardenError } from '../errors/error.js';
import { baseUrlEnvVar, providerEnvName, providerFromEnvVar } from './names.js';

export interface ProviderEndpoint {
  /** Base URL; `{{parts.<name>}}` may stand for one DNS label (Shopify's shop). */
  baseUrl: string;
  /** The provider's API reference for that base URL (the twenty providers checked against their docs). */
  docs?: string;
}

/**
 * Default base URLs by NAME (providers/names.ts). Paths in rule checks are under these. Only https;
 * an override may use http (tests, a local proxy), which is why `overridden` travels with the URL.
 */
export const DEFAULT_BASE_URLS: Readonly<Record<string, ProviderEndpoint>> = Object.freeze({
  ANTHROPIC: { baseUrl: 'https://api.anthropic.com', docs: 'https://docs.anthropic.com/en/api/overview' },
  AWS: { baseUrl: 'https://sts.amazonaws.com', docs: 'https://docs.aws.amazon.com/STS/latest/APIReference/welcome.html' },
  CLOUDFLARE: {
    baseUrl: 'https://api.cloudflare.com/client/v4',
    docs: 'https://developers.cloudflare.com/fundamentals/api/how-to/make-api-calls/',
  },
  DATADOG: { baseUrl: 'https://api.datadoghq.com', docs: 'https://docs.datadoghq.com/getting_started/site/' },
  DIGITALOCEAN: { baseUrl: 'https://api.digitalocean.com', docs: 'https://docs.digitalocean.com/reference/api/' },
  GITHUB: {
    baseUrl: 'https://api.github.com',
    docs: 'https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api',
  },
  GITLAB: { baseUrl: 'https://gitlab.com/api/v4', docs: 'https://docs.gitlab.com/api/rest/' },
  HEROKU: { baseUrl: 'https://api.heroku.com', docs: 'https://devcenter.heroku.com/articles/platform-api-reference' },
  HUGGING_FACE: { baseUrl: 'https://huggingface.co', docs: 'https://huggingface.co/docs/hub/api' },
  LINEAR: { baseUrl: 'https://api.linear.app', docs: 'https://linear.app/developers/graphql' },
  MAILGUN: {
    baseUrl: 'https://api.mailgun.net',
    docs: 'https://documentation.mailgun.com/docs/mailgun/api-reference/authentication',
  },
  NPM: { baseUrl: 'https://registry.npmjs.org', docs: 'https://docs.npmjs.com/cli/v10/commands/npm-whoami' },
  OPENAI: { baseUrl: 'https://api.openai.com', docs: 'https://platform.openai.com/docs/api-reference/authentication' },
  POSTMAN: { baseUrl: 'https://api.getpostman.com', docs: 'https://learning.postman.com/docs/developer/postman-api/intro-api/' },
  PYPI: { baseUrl: 'https://upload.pypi.org', docs: 'https://docs.pypi.org/api/upload/' },
  SENDGRID: {
    baseUrl: 'https://api.sendgrid.com',
    docs: 'https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/authentication',
  },
  SHOPIFY: { baseUrl: 'https://{{parts.shop}}.myshopify.com', docs: 'https://shopify.dev/docs/api/admin-rest' },
  SLACK: { baseUrl: 'https://slack.com/api', docs: 'https://api.slack.com/web' },
  STRIPE: { baseUrl: 'https://api.stripe.com', docs: 'https://docs.stripe.com/api/authentication' },
  TWILIO: { baseUrl: 'https://api.twilio.com', docs: 'https://www.twilio.com/docs/iam/api' },
  // Providers whose checks came with the earlier rule pack (not re-verified; their checks are
  // `after-live`). Databricks and HashiCorp Vault have no default: every deployment has its own host.
  AIRTABLE: { baseUrl: 'https://api.airtable.com' },
  BREVO: { baseUrl: 'https://api.brevo.com' },
  BUILDKITE: { baseUrl: 'https://api.buildkite.com' },
  CIRCLECI: { baseUrl: 'https://circleci.com' },
  COHERE: { baseUrl: 'https://api.cohere.com' },
  CRATES_IO: { baseUrl: 'https://crates.io' },
  DEEPSEEK: { baseUrl: 'https://api.deepseek.com' },
  DISCORD: { baseUrl: 'https://discord.com' },
  DOPPLER: { baseUrl: 'https://api.doppler.com' },
  DROPBOX: { baseUrl: 'https://api.dropboxapi.com' },
  FIGMA: { baseUrl: 'https://api.figma.com' },
  FLY_IO: { baseUrl: 'https://api.fly.io' },
  GOOGLE: { baseUrl: 'https://www.googleapis.com' },
  GOOGLE_CLOUD: { baseUrl: 'https://generativelanguage.googleapis.com' },
  GRAFANA: { baseUrl: 'https://grafana.com' },
  GROQ: { baseUrl: 'https://api.groq.com' },
  HASHICORP_TERRAFORM: { baseUrl: 'https://app.terraform.io' },
  HETZNER: { baseUrl: 'https://api.hetzner.cloud' },
  HONEYCOMB: { baseUrl: 'https://api.honeycomb.io' },
  HUBSPOT: { baseUrl: 'https://api.hubapi.com' },
  INTERCOM: { baseUrl: 'https://api.intercom.io' },
  MAILCHIMP: { baseUrl: 'https://{{parts.dc}}.api.mailchimp.com' },
  MAPBOX: { baseUrl: 'https://api.mapbox.com' },
  MICROSOFT_AZURE: { baseUrl: 'https://login.microsoftonline.com' },
  MISTRAL_AI: { baseUrl: 'https://api.mistral.ai' },
  NETLIFY: { baseUrl: 'https://api.netlify.com' },
  NEW_RELIC: { baseUrl: 'https://api.newrelic.com' },
  NOTION: { baseUrl: 'https://api.notion.com' },
  OKTA: { baseUrl: 'https://{{parts.org}}.okta.com' },
  PAGERDUTY: { baseUrl: 'https://api.pagerduty.com' },
  PAYPAL: { baseUrl: 'https://api-m.paypal.com' },
  PULUMI: { baseUrl: 'https://api.pulumi.com' },
  RENDER: { baseUrl: 'https://api.render.com' },
  REPLICATE: { baseUrl: 'https://api.replicate.com' },
  SENTRY: { baseUrl: 'https://sentry.io' },
  SONARSOURCE: { baseUrl: 'https://sonarcloud.io' },
  SQUARE: { baseUrl: 'https://connect.squareup.com' },
  SUPABASE: { baseUrl: 'https://api.supabase.com' },
  TELEGRAM: { baseUrl: 'https://api.telegram.org' },
  VERCEL: { baseUrl: 'https://api.vercel.com' },
  XAI: { baseUrl: 'https://api.x.ai' },
});

/** A provider's base URL after overrides: what plan() builds on and the runner holds requests to. */
export interface ResolvedBaseUrl {
  /** NAME, as in the setting. */
  provider: string;
  /** The base URL, possibly with `{{parts.<name>}}` labels; no trailing slash. */
  url: string;
  /** True when `KEYWARDEN_PROVIDER_<NAME>_BASE_URL` set it: only then may it be plain http. */
  overridden: boolean;
  /** The setting that would override it, for messages. */
  envVar: string;
}

export interface ProviderBaseUrls {
  /** The base URL for a rule's `provider` (any spelling that maps to the same NAME), or undefined. */
  get(provider: string): ResolvedBaseUrl | undefined;
  /** Every NAME with a base URL (defaults and overrides). */
  names(): string[];
}

/** Problems with one base URL (default or override); empty when it is usable. */
export function baseUrlProblems(url: string, { allowHttp }: { allowHttp: boolean }): string[] {
  // Part placeholders stand for one DNS label; validate the shape with a stand-in label.
  const probe = url.replace(/\{\{\s*parts\.[a-zA-Z][a-zA-Z0-9]*\s*\}\}/g, 'part');
  if (/\{\{|\}\}/.test(probe)) return ['only {{parts.<name>}} placeholders may appear in a base URL'];
  let parsed: URL;
  try {
    parsed = new URL(probe);
  } catch {
    return ['not an absolute URL'];
  }
  const problems: string[] = [];
  if (parsed.protocol !== 'https:' && !(allowHttp && parsed.protocol === 'http:')) {
    problems.push(allowHttp ? 'must be http:// or https://' : 'must be https://');
  }
  if (parsed.username || parsed.password) problems.push('must not carry credentials');
  if (parsed.search || parsed.hash || probe.includes('?') || probe.includes('#'))
    problems.push('must not have a query or fragment');
  return problems;
}

function normalise(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * Resolves base URLs from the defaults and the `KEYWARDEN_PROVIDER_<NAME>_BASE_URL` entries of `env`
 * (an empty value means "not set"). Throws KW_CONFIG_INVALID listing every malformed override at
 * once, so `serve`/`worker` stop at start-up instead of failing checks later.
 */
export function resolveProviderBaseUrls(
  env: Readonly<Record<string, string | undefined>>,
  defaults: Readonly<Record<string, ProviderEndpoint>> = DEFAULT_BASE_URLS,
): ProviderBaseUrls {
  const table = new Map<string, ResolvedBaseUrl>();
  for (const [name, endpoint] of Object.entries(defaults)) {
    table.set(name, { provider: name, url: normalise(endpoint.baseUrl), overridden: false, envVar: baseUrlEnvVar(name) });
  }
  const problems: string[] = [];
  for (const [variable, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    const name = providerFromEnvVar(variable);
    if (name === null || value === undefined || value.trim() === '') continue;
    const url = value.trim();
    const why = baseUrlProblems(url, { allowHttp: true });
    if (why.length > 0) {
      // The value is config, not a secret, but it may be long or odd: show the variable, not the value.
      problems.push(`${variable}: ${why.join('; ')}`);
      continue;
    }
    table.set(name, { provider: name, url: normalise(url), overridden: true, envVar: variable });
  }
  if (problems.length > 0) {
    throw new KeywardenError('KW_CONFIG_INVALID', `${problems.length} invalid provider base URL setting(s)`, problems);
  }
  const frozen = new Map([...table].map(([k, v]) => [k, Object.freeze(v)]));
  return Object.freeze({
    get: (provider: string) => frozen.get(providerEnvName(provider)),
    names: () => [...frozen.keys()].sort(),
  });
}
