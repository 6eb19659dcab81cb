// Generates the accuracy corpus in memory at test time: every built-in rule's examples planted in
// realistic files (several languages, YAML, JSON, .env, Dockerfile, Terraform, a notebook, logs),
// and hard negatives (documented example keys, placeholders, hashes, lockfiles, data URIs, minified
// code, public keys, wrong-checksum tokens). Seeded, so a failure reproduces; nothing is stored.
import { expandTemplate, seededRng } from '../../rules/examples.js';
import type { Rule } from '../../rules/schema.js';

export interface CorpusFile {
  path: string;
  /** What kind of context the file shows (for failure reports). */
  context: string;
  text: string;
}

export interface PlantedFile extends CorpusFile {
  ruleIndex: number;
  secret: string;
  /** Byte offsets of the planted secret in `text`. */
  start: number;
  end: number;
  /** 1-based line of `start`. */
  line: number;
  /** Byte range of the planted example text: findings inside it but off the secret are incidental. */
  blockStart: number;
  blockEnd: number;
}

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const _B64 = `${B62.slice(10)}${B62.slice(0, 10)}+/`;
const HEX = '0123456789abcdef';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';

/** Seeded random text for generated corpora (test/accuracy, test/redact). */
export class Gen {
  readonly rng: () => number;
  constructor(seed: number) {
    this.rng = seededRng(seed);
  }
  int(n: number): number {
    return Math.floor(this.rng() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  str(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  hex(n: number): string {
    return this.str(HEX, n);
  }
  b64(bytes: number): string {
    const raw = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) raw[i] = this.int(256);
    return raw.toString('base64');
  }
  uuid(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${this.pick(['8', '9', 'a', 'b'])}${this.hex(3)}-${this.hex(12)}`;
  }
  word(): string {
    return this.pick(WORDS);
  }
}

const WORDS = [
  'user',
  'order',
  'item',
  'cart',
  'price',
  'total',
  'name',
  'email',
  'status',
  'count',
  'list',
  'page',
  'query',
  'result',
  'data',
  'value',
  'index',
  'node',
  'event',
  'handler',
  'config',
  'client',
  'server',
  'request',
  'response',
];

/** Hash of a string to a seed, so each rule's corpus is stable when other rules are added. */
function seedOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function byteLen(s: string): number {
  return Buffer.byteLength(s);
}

function lineOf(text: string, charIndex: number): number {
  let n = 1;
  for (let i = 0; i < charIndex; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

function jsonInner(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

// ---- filler: plausible code around a planted line -----------------------------------------------

const FILLER: Record<string, (g: Gen) => [string, string]> = {
  py: (g) => [
    `import logging\nimport os\n\nlog = logging.getLogger(__name__)\n\n\ndef load_${g.word()}(path):\n    with open(path) as fh:\n        return fh.read()\n\n`,
    `\n\nif __name__ == "__main__":\n    log.info("started %s", os.getpid())\n`,
  ],
  js: (g) => [
    `'use strict';\nconst express = require('express');\nconst app = express();\n\nfunction ${g.word()}Handler(req, res) {\n  res.json({ ok: true });\n}\n\n`,
    `\n\napp.listen(process.env.PORT || 3000);\nmodule.exports = app;\n`,
  ],
  ts: (g) => [
    `import { readFile } from 'node:fs/promises';\n\nexport interface ${g.word()}Options {\n  retries: number;\n}\n\n`,
    `\n\nexport async function main(): Promise<void> {\n  await readFile('package.json', 'utf8');\n}\n`,
  ],
  go: (g) => [
    `package main\n\nimport (\n\t"fmt"\n\t"net/http"\n)\n\nfunc ${g.word()}Handler(w http.ResponseWriter, r *http.Request) {\n\tfmt.Fprintln(w, "ok")\n}\n\n`,
    `\n\nfunc main() {\n\thttp.ListenAndServe(":8080", nil)\n}\n`,
  ],
  java: (g) => [
    `package com.acme.${g.word()};\n\nimport java.util.List;\n\npublic final class Settings {\n    private Settings() {}\n\n`,
    `\n\n    public static List<String> names() {\n        return List.of("a", "b");\n    }\n}\n`,
  ],
  rb: (g) => [
    `require 'json'\n\nmodule Acme\n  class ${g.word()}Job\n    def perform(id)\n      puts id\n    end\n\n`,
    `\n  end\nend\n`,
  ],
  yaml: (g) => [
    `version: 2\nservices:\n  ${g.word()}:\n    image: acme/app:1.4.2\n    ports: ["8080:8080"]\n`,
    `\n    restart: unless-stopped\n`,
  ],
  env: () => [`NODE_ENV=production\nPORT=8080\nLOG_LEVEL=info\n`, `\nFEATURE_FLAGS=search,checkout\n`],
  docker: () => [
    `FROM node:20-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci --omit=dev\n`,
    `\nCOPY . .\nCMD ["node", "server.js"]\n`,
  ],
  tf: () => [
    `terraform {\n  required_version = ">= 1.5"\n}\n\nresource "aws_instance" "web" {\n  ami           = "ami-0c55b159cbfafe1f0"\n  instance_type = "t3.micro"\n`,
    `\n}\n`,
  ],
  log: () => [
    `2024-05-01T12:00:00.120Z INFO  [main] starting worker pool size=4\n2024-05-01T12:00:00.200Z INFO  [main] connected to queue\n`,
    `\n2024-05-01T12:00:01.002Z INFO  [worker-2] job done in 812ms\n`,
  ],
};

interface Placement {
  context: string;
  path: string;
  /** Text before the example, the example as it appears in the file, text after. */
  build: (g: Gen, example: string) => { before: string; shown: string; after: string } | null;
  /** How the secret appears once placed (JSON escaping), or null to skip. */
  escape?: (s: string) => string;
  multiline: boolean;
}

function wrap(kind: string, pre: string, post: string): Placement['build'] {
  return (g, example) => {
    const [a, b] = FILLER[kind]!(g);
    return { before: a + pre, shown: example, after: post + b };
  };
}

/** Contexts for an example template's expanded text (it carries its own keyword context). */
const EXAMPLE_PLACEMENTS: Placement[] = [
  { context: 'python comment', path: 'src/app/settings.py', build: wrap('py', '# ', ''), multiline: false },
  { context: 'python docstring', path: 'src/app/setup_notes.py', build: wrap('py', 'NOTES = """\n', '\n"""'), multiline: true },
  { context: 'js comment', path: 'web/server.js', build: wrap('js', '// ', ''), multiline: false },
  {
    context: 'ts template literal',
    path: 'web/src/fixtures.ts',
    build: wrap('ts', 'export const SNIPPET = `\n', '\n`;'),
    multiline: true,
  },
  { context: 'go raw string', path: 'cmd/api/main.go', build: wrap('go', 'const snippet = `\n', '\n`'), multiline: true },
  { context: 'java comment', path: 'src/main/java/com/acme/Settings.java', build: wrap('java', '    // ', ''), multiline: false },
  {
    context: 'ruby heredoc',
    path: 'app/jobs/sync_job.rb',
    build: wrap('rb', '    NOTE = <<~TXT\n', '\n    TXT'),
    multiline: true,
  },
  {
    context: 'yaml block scalar',
    path: 'deploy/docker-compose.yml',
    build: wrap('yaml', '    command: |\n      ', ''),
    multiline: false,
  },
  { context: '.env line', path: 'services/api/.env', build: wrap('env', '', ''), multiline: true },
  { context: 'Dockerfile RUN', path: 'services/api/Dockerfile', build: wrap('docker', 'RUN ', ''), multiline: false },
  { context: 'terraform heredoc', path: 'infra/main.tf', build: wrap('tf', '  user_data = <<EOT\n', '\nEOT'), multiline: true },
  {
    context: 'log line',
    path: 'logs/worker.log',
    build: wrap('log', '2024-05-01T12:00:00.731Z DEBUG [worker-1] loaded config: ', ''),
    multiline: false,
  },
  {
    context: 'JSON string',
    path: 'config/app.json',
    build: (g, example) => ({
      before: `{\n  "name": "${g.word()}-service",\n  "version": "2.3.1",\n  "setup": "`,
      shown: jsonInner(example),
      after: `",\n  "private": true\n}\n`,
    }),
    escape: jsonInner,
    multiline: false,
  },
  {
    context: 'Jupyter notebook cell',
    path: 'notebooks/explore.ipynb',
    build: (_g, example) => ({
      before: `{\n "cells": [\n  {\n   "cell_type": "code",\n   "execution_count": 3,\n   "metadata": {},\n   "outputs": [],\n   "source": [\n    "import requests\\n",\n    "`,
      shown: jsonInner(example),
      after: `\\n",\n    "resp = requests.get(url, timeout=10)\\n"\n   ]\n  }\n ],\n "metadata": {"kernelspec": {"name": "python3"}},\n "nbformat": 4,\n "nbformat_minor": 5\n}\n`,
    }),
    escape: jsonInner,
    multiline: false,
  },
];

/** Contexts for a bare secret of a self-anchored rule (its format alone identifies it). */
const BARE_PLACEMENTS: Array<{
  context: string;
  path: string;
  kind: string;
  line: (s: string) => string;
  escape?: (s: string) => string;
}> = [
  { context: 'python assignment', path: 'src/client.py', kind: 'py', line: (s) => `CREDENTIAL = "${s}"` },
  {
    context: 'js object',
    path: 'web/client.js',
    kind: 'js',
    line: (s) => `const client = createClient({ credential: '${s}' });`,
  },
  { context: 'ts const', path: 'web/src/client.ts', kind: 'ts', line: (s) => `export const credential = "${s}";` },
  { context: 'go const', path: 'internal/client/client.go', kind: 'go', line: (s) => `const credential = "${s}"` },
  {
    context: 'java field',
    path: 'src/main/java/com/acme/Client.java',
    kind: 'java',
    line: (s) => `    private static final String CREDENTIAL = "${s}";`,
  },
  { context: 'ruby constant', path: 'lib/acme/client.rb', kind: 'rb', line: (s) => `    CREDENTIAL = '${s}'.freeze` },
  { context: 'yaml value', path: 'deploy/values.yaml', kind: 'yaml', line: (s) => `    credential: ${s}` },
  { context: '.env value', path: '.env.production', kind: 'env', line: (s) => `CREDENTIAL=${s}` },
  { context: 'Dockerfile ENV', path: 'Dockerfile', kind: 'docker', line: (s) => `ENV CREDENTIAL=${s}` },
  { context: 'terraform attribute', path: 'infra/provider.tf', kind: 'tf', line: (s) => `  credential    = "${s}"` },
  {
    context: 'log line',
    path: 'logs/app.log',
    kind: 'log',
    line: (s) => `2024-05-01T12:00:00.731Z WARN  [http] retrying with credential=${s} attempt=2`,
  },
  {
    context: 'JSON value',
    path: 'config/creds.json',
    kind: 'json',
    line: (s) => `{"credential": "${jsonInner(s)}", "region": "eu-west-1"}`,
    escape: jsonInner,
  },
  {
    context: 'notebook cell',
    path: 'notebooks/demo.ipynb',
    kind: 'ipynb',
    line: (s) => `    "client = Client(credential=\\"${jsonInner(s)}\\")\\n",`,
    escape: jsonInner,
  },
];

function assemble(
  path: string,
  context: string,
  ruleIndex: number,
  before: string,
  shown: string,
  after: string,
  secretInShown: number,
  secret: string,
): PlantedFile {
  const text = before + shown + after;
  const charStart = before.length + secretInShown;
  const start = byteLen(text.slice(0, charStart));
  return {
    path,
    context,
    text,
    ruleIndex,
    secret,
    start,
    end: start + byteLen(secret),
    line: lineOf(text, charStart),
    blockStart: byteLen(before),
    blockEnd: byteLen(before) + byteLen(shown),
  };
}

/**
 * Planted positives. `isSelfAnchored(ruleIndex, secret)` says whether the rule finds the bare secret
 * with no context (then it is also planted as a plain value in each language).
 */
export function plantPositives(
  rules: readonly Rule[],
  isSelfAnchored: (ruleIndex: number, secret: string) => boolean,
): PlantedFile[] {
  const out: PlantedFile[] = [];
  rules.forEach((rule, ruleIndex) => {
    const g = new Gen(seedOf(rule.id));
    rule.examples.forEach((template, n) => {
      const ex = expandTemplate(template, { checksum: rule.checksum, rng: seededRng(seedOf(`${rule.id}#${n}`)) });
      if (ex.secret === undefined || ex.secretStart === undefined) return;
      const example = ex.text.replace(/\n+$/, '');
      const isMultiline = example.includes('\n');
      for (const p of EXAMPLE_PLACEMENTS) {
        if (isMultiline && !p.multiline) continue;
        if (p.context.startsWith('ts template') && /[`$]/.test(example)) continue;
        if (p.context.startsWith('go raw') && example.includes('`')) continue;
        if (p.escape && example.includes('\\')) continue; // already JSON-escaped: escaping twice is not realistic
        const built = p.build(g, example);
        if (built === null) continue;
        const shownSecret: string = p.escape ? p.escape(ex.secret) : ex.secret;
        if (shownSecret !== ex.secret) continue; // escaping changed the secret: not comparable
        const offset = p.escape ? p.escape(example.slice(0, ex.secretStart)).length : ex.secretStart;
        out.push(
          assemble(
            `${rule.id}/${n}/${p.path}`,
            `${p.context} (example ${n})`,
            ruleIndex,
            built.before,
            built.shown,
            built.after,
            offset,
            ex.secret,
          ),
        );
      }
      if (n === 0 && !ex.secret.includes('\n') && !/["'`\\]/.test(ex.secret) && isSelfAnchored(ruleIndex, ex.secret)) {
        for (const b of BARE_PLACEMENTS) {
          const line = b.line(ex.secret);
          const offset = line.indexOf(b.escape ? b.escape(ex.secret) : ex.secret);
          const [before, after] = b.kind === 'json' || b.kind === 'ipynb' ? ['', '\n'] : FILLER[b.kind]!(g);
          out.push(assemble(`${rule.id}/bare/${b.path}`, b.context, ruleIndex, before, line, after, offset, ex.secret));
        }
      }
    });
  });
  return out;
}

// ---- hard negatives ------------------------------------------------------------------------------

function pemBlock(g: Gen, label: string, bytes: number): string {
  const body = g
    .b64(bytes)
    .match(/.{1,64}/g)!
    .join('\n');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----`;
}

function minifiedJs(g: Gen, size: number): string {
  const id = () => g.pick(['e', 't', 'n', 'r', 'i', 'o', 's', 'a', 'u', 'c', 'l', 'f', 'd', 'p', 'h']);
  const snippets: Array<() => string> = [
    () => `function ${id()}(${id()},${id()}){return ${id()}.${g.word()}?${id()}.${g.word()}:null}`,
    () => `var ${id()}=${id()}(${g.int(999)}),${id()}=${id()}.n(${id()});`,
    () => `${id()}.headers.Authorization="Bearer "+${id()}.token;`,
    () => `${id()}={password:${id()}.password,token:${id()}.token,apiKey:${id()}.apiKey};`,
    () => `this.secret=${id()}.secret||"",this.accessToken=${id()}.access_token;`,
    () => `if(!${id()}.password)throw new Error("Password is required");`,
    () => `${id()}.setItem("token",${id()});`,
    () => `${id()}.${g.word()}=function(${id()}){return ${id()}.map(function(${id()}){return ${id()}*${g.int(100)}})};`,
    () => `"static/js/${g.word()}.${g.hex(8)}.chunk.js",`,
    () => `${id()}.exports={${g.word()}:"${g.word()}",${g.word()}:${g.int(10000)}};`,
    () => `return"password"===${id()}.type?"password":"text"}`,
    () => `const ${id()}=new URLSearchParams({grant_type:"refresh_token",refresh_token:${id()}.refreshToken});`,
    () => `${id()}("${g.hex(32)}",function(){});`,
  ];
  let out = '!function(){"use strict";';
  while (out.length < size) out += g.pick(snippets)();
  return `${out}}();\n`;
}

/** Every file here must produce zero findings of any rule. */
export function hardNegatives(rules: readonly Rule[]): CorpusFile[] {
  const g = new Gen(20240501);
  const files: CorpusFile[] = [];
  const add = (path: string, context: string, text: string) => files.push({ path, context, text });

  add(
    'docs/aws-credentials.md',
    'AWS documented example keys',
    [
      '# Configure the CLI',
      '```ini',
      '[default]',
      'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      '```',
      'export AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE',
      'export AWS_SECRET_ACCESS_KEY=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
      '{"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}',
      '',
    ].join('\n'),
  );
  add(
    'docs/jwt.md',
    'jwt.io sample token',
    'Example:\n\n    Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n',
  );

  add(
    'config/settings.example.yaml',
    'YAML placeholders',
    [
      'database:',
      '  password: changeme',
      '  user_password: password',
      '  admin_password: ${ADMIN_PASSWORD}',
      '  replica_password: "{{ .Values.db.password }}"',
      'api:',
      '  api_key: <your-api-key>',
      '  token: ${{ secrets.API_TOKEN }}',
      '  secret: xxxxxxxxxxxxxxxxxxxx',
      '  client_secret: "********"',
      '  access_token: null',
      '  auth_token: your_api_key_here',
      '  refresh_token: REPLACE_ME',
      '  signing_secret: TODO',
      '  password_hash: "$2b$12$' + g.str(B62, 53) + '"',
      '  token_type: bearer',
      '  token_uri: https://oauth2.googleapis.com/token',
      '  token_url: https://login.example.com/oauth/token',
      '  secret_name: prod/db/credentials',
      '  password_file: /run/secrets/db_password',
      '',
    ].join('\n'),
  );
  add(
    '.env.example',
    '.env placeholders',
    [
      'DB_PASSWORD=',
      'API_KEY=your_api_key_here',
      'SECRET_KEY=change-me-in-production',
      'GITHUB_TOKEN=<TOKEN>',
      'STRIPE_SECRET_KEY=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX',
      'AWS_SECRET_ACCESS_KEY=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
      'SLACK_TOKEN=xoxb-your-token',
      'JWT_SECRET=dummy',
      'export DEPLOY_TOKEN=${CI_DEPLOY_TOKEN}',
      '',
    ].join('\n'),
  );
  add(
    'src/app/config.py',
    'python references',
    [
      'import os',
      'password = os.environ["DB_PASSWORD"]',
      'api_key = os.getenv("API_KEY")',
      'token = get_token()',
      'secret = settings.SECRET_KEY',
      'password = None',
      'password: str = field(default="")',
      'def login(username, password=DEFAULT_PASSWORD):',
      '    return authenticate(username=username, password=password)',
      'headers = {"Authorization": f"Bearer {token}"}',
      '',
    ].join('\n'),
  );
  add(
    'web/src/auth.ts',
    'TypeScript references and types',
    [
      'export interface Credentials { username: string; password: string; token?: string }',
      'const apiKey = process.env.API_KEY ?? "";',
      'const token: string = tokenValue;',
      'const password = config.password;',
      'const accessToken = await getAccessToken();',
      'headers.Authorization = `Bearer ${accessToken}`;',
      'const auth = { password: hashedPassword, token: undefined };',
      '',
    ].join('\n'),
  );
  add(
    'locales/en.json',
    'i18n strings',
    JSON.stringify(
      {
        password: 'Password',
        password_hint: 'Enter your password',
        passwordTooShort: 'Password must be at least 8 characters',
        token_expired: 'Your session token has expired',
        api_key_label: 'API key',
        secret: 'Secret',
      },
      null,
      2,
    ),
  );
  add(
    'deploy/k8s.yaml',
    'Kubernetes secret references',
    [
      'env:',
      '  - name: DB_PASSWORD',
      '    valueFrom:',
      '      secretKeyRef: { name: db, key: password }',
      '  - name: API_TOKEN',
      '    value: "${API_TOKEN}"',
      'kind: Secret',
      '',
    ].join('\n'),
  );
  add(
    'infra/variables.tf',
    'Terraform variable references',
    [
      'resource "aws_db_instance" "main" {',
      '  password = var.db_password',
      '  username = "admin"',
      '}',
      'provider "github" {',
      '  token = data.vault_generic_secret.github.data["token"]',
      '}',
      '',
    ].join('\n'),
  );

  // Hashes and ids that have their own meaning.
  const gitLog: string[] = [];
  for (let i = 0; i < 20; i++) {
    gitLog.push(
      `commit ${g.hex(40)}`,
      `Merge: ${g.hex(7)} ${g.hex(7)}`,
      `Author: Dev ${i} <dev${i}@acme.io>`,
      `Date:   Mon May 6 10:${10 + i}:00 2024 +0200`,
      '',
      `    Fix ${g.word()} handling`,
      '',
    );
  }
  add('logs/git-log.txt', 'commit SHAs', gitLog.join('\n'));
  const sums: string[] = [];
  for (let i = 0; i < 20; i++) sums.push(`${g.hex(64)}  dist/${g.word()}-${i}.tar.gz`, `${g.hex(40)}  dist/${g.word()}-${i}.zip`);
  add('dist/SHA256SUMS', 'checksum files', sums.join('\n') + '\n');
  const ids: string[] = [];
  for (let i = 0; i < 15; i++) {
    ids.push(
      JSON.stringify({
        id: g.uuid(),
        requestId: g.uuid(),
        tenant_id: g.uuid(),
        client_id: g.uuid(),
        subscription_id: g.uuid(),
        checksum: g.hex(64),
        etag: `"${g.hex(32)}"`,
        commit: g.hex(40),
      }),
    );
  }
  add('logs/requests.jsonl', 'UUIDs and hashes in JSON logs', ids.join('\n') + '\n');
  const digests: string[] = [];
  for (let i = 0; i < 10; i++) digests.push(`image: ghcr.io/acme/${g.word()}@sha256:${g.hex(64)}`, `x-request-id: ${g.uuid()}`);
  add('deploy/images.yaml', 'image digests', digests.join('\n') + '\n');
  const goSum: string[] = [];
  for (let i = 0; i < 20; i++)
    goSum.push(
      `github.com/acme/${g.word()}${i} v1.${i}.0 h1:${g.b64(32)}`,
      `github.com/acme/${g.word()}${i} v1.${i}.0/go.mod h1:${g.b64(32)}`,
    );
  add('go.sum', 'go.sum hashes', goSum.join('\n') + '\n');

  // C and shell code whose credential-named fields and flags hold constants and names, not secrets
  // (seen scanning librdkafka and Fluent Bit: `.ApiKey = RD_KAFKAP_Produce`, `$PWD:/output:rw`).
  const cCode = [
    'static const struct rd_kafka_feature_map feature_map[] = {',
    '        { .ApiKey = RD_KAFKAP_Produce, .MinVer = 0 },',
    '        { .ApiKey = RD_KAFKAP_ConsumerGroupHeartbeat, .MinVer = 1 },',
    '        { .ApiKey = RD_KAFKAP_SaslHandshake, .MinVer = 0 },',
    '        { .ApiKey = RD_KAFKAP_GetTelemetrySubscriptions, .MinVer = 0 },',
    '        { .ApiKey = RD_KAFKAP_SyncGroup, .MinVer = 0 },',
    '    flb_sds_t token = aws_session_token_2;',
    '};',
    '        rd_chariov_t SaslPassword    = RD_ZERO_INIT;',
    '        const char *token = !token_value ? "token_value" : "md_principal_name";',
    '        mkl_allvar_set WITH_SASL_OAUTHBEARER WITH_SASL_OAUTHBEARER y',
    'python3 broker.py --sasl OAUTHBEARER --oauthbearer-method OIDC',
    'docker run --rm -v $PWD:/output:rw -e PWD=/output image',
  ];
  add('src/kafka/feature.c', 'C constants and shell flags in credential-named places', cCode.join('\n') + '\n');
  const docs = [
    '| `providers.kubernetesCRD.token` | Kubernetes bearer token. | "" | No |',
    '| `providers.kubernetesingressnginx.token` | Kubernetes bearer token. | "" | No |',
    'RUN --mount=type=secret,id=npm_token npm ci',
    'docker build --secret id=npm_token,src=.npm_token .',
    'machine example.com login aaaa password bbbb',
    'apiVersion: v1',
    'kind: Secret',
    'data:',
    '  username: YWRtaW4=',
    '  password: cGFzc3dvcmQ=',
    '  secret: c2VjdXJlLXBhc3N3b3Jk',
  ];
  add('docs/configuration.md', 'option names, build-secret flags, base64 of placeholder words', docs.join('\n') + '\n');
  const goCode = [
    'package marathon',
    '',
    'const (',
    '\tdomainTokenHeader = "X-DNSimple-Domain-Token"',
    '\ttokenHeader       = "X-DNSimple-Token"',
    ')',
    '',
    'func (r *client) auth() string {',
    '\treturn "token="+rc.config.DCOSToken',
    '}',
    '',
    'var credentials = map[string]string{"password": "user2:pwd2"}',
    'const accessKeyName = "token: accessKeyStsToken"',
  ];
  add('vendor/marathon/client.go', 'Go header names, concatenations, test credential names', goCode.join('\n') + '\n');
  const misc = [
    'oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token", auto_error=False)',
    'password: 次のいくつかの章では、その例を紹介します。',
    '\t\tAPIKey: "A1B2C3D4E5F6G7H8I9J0",',
    "        'password' => 'asdfqwer1234asdf',",
    'ssh_key_path: /home/.ssh/id_ed25519',
    "    secret = 'bedrock-agentcore-identity*'",
    "  saslScramSecret: 'SaslScram256Auth',",
    '  const token = authenticatedData.accessKeyV1',
    'token = models.ForeignKey(OAuth2Application)',
    '    parser.add_argument("--token", metavar="TOKEN")',
    '    "password": "optional_passphrase_of_private_key",',
    '        let token = "dbtc_platform_token";',
  ];
  add('tests/misc_test.py', 'keyword arguments, translated prose, sequences, keyboard walks', misc.join('\n') + '\n');
  add(
    'integration/compose/k8s.yml',
    'run-together placeholder words',
    'environment:\n  K3S_TOKEN: somethingtotallyrandom\n  secret: somethingtotallyrandom\n',
  );

  // Lockfiles.
  const pkgs: Record<string, unknown> = {};
  for (let i = 0; i < 40; i++) {
    const name = `${g.word()}-${g.str(LOWER, 5)}`;
    pkgs[`node_modules/${name}`] = {
      version: `1.${i}.0`,
      resolved: `https://registry.npmjs.org/${name}/-/${name}-1.${i}.0.tgz`,
      integrity: `sha512-${g.b64(64)}`,
      dev: i % 2 === 0,
    };
  }
  add(
    'package-lock.json',
    'npm lockfile integrity',
    JSON.stringify({ name: 'app', lockfileVersion: 3, packages: pkgs }, null, 2),
  );
  const yarn: string[] = [];
  for (let i = 0; i < 30; i++) {
    const name = `${g.word()}-${g.str(LOWER, 4)}`;
    yarn.push(
      `${name}@^2.${i}.0:`,
      `  version "2.${i}.1"`,
      `  resolved "https://registry.yarnpkg.com/${name}/-/${name}-2.${i}.1.tgz#${g.hex(40)}"`,
      `  integrity sha1-${g.b64(20)}`,
      '',
    );
  }
  add('yarn.lock', 'yarn lockfile', yarn.join('\n'));
  const pnpm: string[] = ['lockfileVersion: 6.0', 'packages:'];
  for (let i = 0; i < 30; i++)
    pnpm.push(
      `  /${g.word()}-${g.str(LOWER, 4)}@3.${i}.0:`,
      `    resolution: {integrity: sha512-${g.b64(64)}}`,
      '    dev: false',
    );
  add('pnpm-lock.yaml', 'pnpm lockfile', pnpm.join('\n') + '\n');

  // Binary data as text.
  add(
    'web/index.html',
    'base64 data: images',
    [
      '<!doctype html><html><body>',
      `<img alt="logo" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA${g.b64(2400)}">`,
      `<img alt="icon" src="data:image/svg+xml;base64,${g.b64(900)}">`,
      '</body></html>',
      '',
    ].join('\n'),
  );
  add(
    'web/fonts.css',
    'base64 font in CSS',
    `@font-face{font-family:Acme;src:url(data:font/woff2;base64,d09GMgABAAAA${g.b64(3000)}) format("woff2")}\n`,
  );
  add('web/dist/app.min.js', 'minified JS (~20 KB)', minifiedJs(g, 20_000));

  // Public material.
  const ssh: string[] = [];
  for (let i = 0; i < 5; i++) {
    ssh.push(`ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ${g.b64(380)} dev${i}@laptop`);
    ssh.push(`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${g.b64(32)} ci${i}@runner`);
    ssh.push(`github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBB${g.b64(64)}`);
  }
  add('.ssh/authorized_keys', 'SSH public keys', ssh.join('\n') + '\n');
  add('certs/server.crt', 'certificate', `${pemBlock(g, 'CERTIFICATE', 900)}\n`);
  add('certs/jwt-public.pem', 'PEM public keys', `${pemBlock(g, 'PUBLIC KEY', 294)}\n${pemBlock(g, 'RSA PUBLIC KEY', 270)}\n`);
  add('certs/request.csr', 'certificate request', `${pemBlock(g, 'CERTIFICATE REQUEST', 700)}\n`);
  add('keys/release.asc', 'PGP public key', `${pemBlock(g, 'PGP PUBLIC KEY BLOCK', 1200)}\n`);
  add(
    'keys/recipients.txt',
    'age recipients',
    Array.from({ length: 5 }, () => `age1${g.str('qpzry9x8gf2tvdw0s3jn54khce6mua7l', 58)}`).join('\n') + '\n',
  );

  // Tokens whose checksum is wrong, in a context without credential keywords.
  const bad: string[] = [];
  rules.forEach((rule) => {
    if (!rule.checksum) return;
    rule.examples.forEach((template, n) => {
      if (!template.includes('{checksum}')) return;
      const ex = expandTemplate(template.replace('{checksum}', '{badchecksum}'), {
        checksum: rule.checksum,
        rng: seededRng(seedOf(`${rule.id}!${n}`)),
      });
      if (ex.secret !== undefined && !ex.secret.includes('\n'))
        bad.push(`fixtures.push(${JSON.stringify(ex.secret)}); // ${rule.id}`);
    });
  });
  add('src/token-samples.js', 'wrong-checksum tokens', `const fixtures = [];\n${bad.join('\n')}\n`);
  return files;
}
