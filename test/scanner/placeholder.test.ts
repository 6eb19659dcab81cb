// The placeholder filter generic rules rely on: named cases of values it must drop, and of
// random-looking values (generated here, never stored) it must keep.
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../rules/examples.js';
import { looksLikeIdentifierOrCode, looksLikePlaceholder } from '../../scanner/engine/placeholder.js';

const placeholders: Record<string, string> = {
  'shell/compose interpolation': '${DB_PASSWORD}',
  'URL userinfo tail with a dotless host': '@us-east-0/',
  'Basic of a word pair with its newline encoded': Buffer.from('Wagtail:Wagtail\n').toString('base64'),
  'GitHub Actions expression': '${{ secrets.API_TOKEN }}',
  'Helm/Go template': '{{ .Values.db.password }}',
  'Jinja expression': '{{password}}',
  'ERB tag': '<%= ENV["TOKEN"] %>',
  'Ruby interpolation': '#{api_key}',
  'shell command substitution': '$(cat /run/secrets/token)',
  'bare shell variable': '$API_TOKEN',
  'Windows env var': '%API_TOKEN%',
  'dunder marker': '__API_TOKEN__',
  'process.env reference': 'process.env.API_TOKEN',
  'import.meta.env reference': 'import.meta.env.VITE_API_KEY',
  'os.environ lookup': 'os.environ.get',
  'Terraform variable': 'var.db_password',
  'Ruby ENV fetch': "ENV.fetch('X')",
  'angle-bracket token': '<TOKEN>',
  'angle-bracket prose': '<your-api-key>',
  'bracketed redaction': '[REDACTED]',
  'x mask': 'xxxxxxxxxxxxxxxx',
  'X mask with prefix': 'sk-XXXXXXXXXXXXXXXXXXXX',
  'star mask': '********',
  zeros: '0000000000000000',
  ellipsis: 'abc...xyz1234',
  'one character repeated': 'bbbb',
  'percent-encoded placeholder': 'pa%24%24word',
  'path under a home directory': '/home/miniouser/.ssh/id_rsa',
  'interleaved sequence': 'A1B2C3D4E5F6G7H8I9J0',
  'keyboard walk (asdf, qwer)': 'asdfqwer1234asdf',
  'prose in another script': '次のいくつかの章では、その例を紹介します。',
  'base64 of a placeholder word (k8s Secret)': 'cGFzc3dvcmQ=',
  'base64 of a default password': 'YWRtaW4=',
  null: 'null',
  None: 'None',
  undefined: 'undefined',
  boolean: 'false',
  'type name': 'string',
  'your_ marker': 'your_api_key_here',
  'YOUR marker upper case': 'YOUR-TOKEN-GOES-HERE',
  'my_ prefix': 'my_super_token',
  REPLACE_ME: 'REPLACE_ME',
  TODO: 'TODO',
  'example word': 'exampleKey1234567',
  'AWS documented example': 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  dummy: 'dummy-token-value',
  test: 'test1234test',
  changeme: 'changeme',
  'the word secret': 'supersecretvalue',
  password123: 'password123',
  'leetspeak password': 'P@ssw0rd!',
  'ascending digits': 'abc1234567890',
  'alphabet run': 'abcdefghijkl',
  'keyboard walk': 'qwerty12345',
  'function call': 'getPassword()',
  'method call with args': 'vault.read("secret/db")',
  'dotted property': 'config.password',
  'minified property': 'e.password',
  'camelCase variable': 'tokenValue',
  'snake_case variable': 'db_password_value',
  'SCREAMING_SNAKE env name': 'DB_PASSWORD',
  'model name': 'bert-base-uncased',
  'numbered name': 'password2',
  'absolute path': '/run/secrets/db_password',
  'home path': '~/.aws/credentials',
  'relative path': './config/secrets.yaml',
  'Windows path': 'C:\\secrets\\api.key',
  URL: 'https://oauth2.googleapis.com/token',
  'SRI integrity hash': 'sha512-Aq3BQ5VZ9Wf0QvKkY0Z1Q8x7n+2Yc/4hT0m2pGmB6oQ9xTWk1fI5rB0sQ0hHc8f3uV0Y1k2Z3a4b5c6d7e8f9g==',
  'docker digest': 'sha256:5e1f3b2a9c8d7e6f',
  ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db',
  'basic auth of user:password': 'dXNlcjpwYXNzd29yZA==',
  'basic auth of admin:admin': 'YWRtaW46YWRtaW4=',
  // False-positive classes met on real repositories (the accuracy corpus holds them too).
  'Django password hash (wagtail fixtures)': 'md5$seasalt$1e9bf2bf5606aa5c39852cc30f0f6f22',
  'Django PBKDF2 hash': 'pbkdf2_sha256$600000$abcdefghij$ZmFrZWhhc2g=',
  'crypt(5) bcrypt hash': '$2b$12$KIXQ4bX1mQ9v0x2y3z4a5uAbCdEfGhIjKlMnOpQrStUvWxYz012',
  'ORM keyword argument after a quoted label (wagtail migrations)': 'max_length=255',
  'URL tail after an angle-bracket password (loki docs)': '@logs-prod-us-central1.grafana.net/loki/api/v1/push',
};

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const B64 = `${B62.slice(10)}${B62.slice(0, 10)}+/`;
function random(alphabet: string, n: number, rng: () => number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rng() * alphabet.length)];
  return s;
}

describe('looksLikePlaceholder', () => {
  it.each(Object.entries(placeholders))('drops %s', (_name, value) => {
    expect(looksLikePlaceholder(value)).toBe(true);
  });

  const rng = seededRng(42);
  const credentials: Record<string, string> = {
    'random base62 (32)': random(B62, 32, rng),
    'random base62 (12)': random(B62, 12, rng),
    'random hex (40)': random('0123456789abcdef', 40, rng),
    'random base64 (40)': random(B64, 40, rng),
    'random password with symbols': `${random(B62, 6, rng)}!${random(B62, 5, rng)}#`,
    'password with $ inside': `Tr0ub${random(B62, 4, rng)}$Q9`,
    'basic auth of a random password': Buffer.from(`deploy:${random(B62, 16, rng)}`).toString('base64'),
    'id:secret pair': `${random('0123456789', 9, rng)}:${random(B62, 35, rng)}`,
    'Laravel app key': `base64:${random(B64, 43, rng)}=`,
    'password starting with @': `@${random(B62, 12, rng)}`,
    'password with = inside': `${random(B62, 6, rng)}=${random(B62, 6, rng)}`,
    'password ending in !': 'Welcome1!',
    'password starting with @ before a slash-free tail': `@${random(B62, 8, rng)}`,
    'basic auth of a random password, newline encoded': Buffer.from(`deploy:${random(B62, 16, rng)}\n`).toString('base64'),
  };
  it.each(Object.entries(credentials))('keeps %s', (_name, value) => {
    expect(looksLikePlaceholder(value)).toBe(false);
  });

  it('keeps 99.5%+ of random 12-char base62 passwords (no word list or shape rule eats real keys)', () => {
    const r = seededRng(7);
    let kept = 0;
    for (let i = 0; i < 2000; i++) if (!looksLikePlaceholder(random(B62, 12, r))) kept++;
    expect(kept / 2000).toBeGreaterThan(0.995);
  });

  it('keeps every one of 2000 random 32-char hex and base62 tokens', () => {
    const r = seededRng(8);
    const dropped: number[] = [];
    for (let i = 0; i < 2000; i++) {
      if (looksLikePlaceholder(random(B62, 32, r))) dropped.push(i);
      if (looksLikePlaceholder(random('0123456789abcdef', 32, r))) dropped.push(i);
    }
    expect(dropped.length).toBeLessThanOrEqual(2);
  });
});

describe('looksLikeIdentifierOrCode', () => {
  const cases: Record<string, [string, boolean]> = {
    camelCase: ['accessTokenValue', true],
    'dotted access': ['state.session.accessToken', true],
    'all-caps env name': ['GITHUB_TOKEN', true],
    call: ['get_token()', true],
    abbreviations: ['cfg.db_pwd', true],
    'C enum constant (librdkafka)': ['RD_KAFKAP_SaslHandshake', true],
    'C macro': ['RD_ZERO_INIT', true],
    'snake_case with a short abbreviation': ['md_principal_name', true],
    'numbered name': ['aws_session_token_2', true],
    'CLI flag': ['--oauthbearer-method', true],
    'volume path': ['/output:rw', true],
    'random base64url with underscores': ['Xk9_mPq2_Lw8Zt', false],
    'dotted option name (docs)': ['providers.kubernetesCRD.token', true],
    // Real-repository classes of issue #14's second round (grafana/loki's vendored Go, rails).
    'a word with y as its vowel': ['partitionByToken', true],
    'Hungarian prefix (C ported to Go)': ['bPrefixInsttoken', true],
    'generated name with a one-letter prefix': ['__ccgo_fp_xToken', true],
    'long generated SDK constant': ['UserAgentFeatureCredentialsEnvVarsStsWebIDToken', true],
    'versioned package member': ['v4Internal.AmzSecurityTokenKey', true],
    'letter-and-digit chunk': ['s3_disable_express_session_auth', true],
    'Ruby predicate': ['environment_specified?', true],
    'left side of a concatenation': ['description+', true],
    OID: ['1.2.840.113549.1.9.7', true],
    'key path with wildcards (redaction config)': ['users.*.profile.preferences.apiKey', true],
    'run-together words': ['somethingtotallyrandom', true],
    'numbered user:password names': ['user2:pwd2', true],
    'concatenated member access (Go)': ['+rc.config.DCOSToken', true],
    'HTTP header name': ['X-DNSimple-Domain-Token', true],
    'camelCase with an abbreviation': ['accessKeyStsToken', true],
    'base64 starting with +': ['+TN8kq2Lw9xZb4Rm7Vt1Yp3Hs6Jd0Nc=', false],
    'flag key=value list': ['id=npm_token', true],
    'keyword argument': ['auto_error=False', true],
    'empty keyword argument': ['metavar=', true],
    'key path to an SSH key': ['/home/.ssh/id_ed25519', true],
    'IAM resource with a wildcard': ['bedrock-agentcore-identity*', true],
    'camelCase with a number inside': ['SaslScram256Auth', true],
    'versioned member': ['auth.accessKeyV1', true],
    'OAuth class name': ['serializers.OAuth2TokenSerializer', true],
    'minified member assignments': ['t.preAuthorizeImplicit=t.CONFIGURE_AUTH=t.VALIDATE', true],
    'base64 ending in =': ['ZGVwbG95Om1BZzg4UmxzYTljZUlaUEo=', false],
    URN: ['urn:uuid:a515cfa4-5da4-22e1-f5b5-00a0451e6bf7', true],
    'masked suffix': ['admin_**', true],
    'a name ending in what it names': ['dbtc_platform_token', true],
    'snake_case with passphrase': ['optional_passphrase_of_private_key', true],
    'package name with a consonant cluster': ['langchain-openai', true],
    'random mixed case': ['qZ8kLm2PxR4t', false],
    'random lower case': ['qhzkfmwpxbnt', false],
    'random hex': ['9f86d081884c7d65', false],
  };
  it.each(Object.entries(cases))('%s', (_name, [value, expected]) => {
    expect(looksLikeIdentifierOrCode(value)).toBe(expected);
  });
});
