// Keyword-hit prefilters: each must let through every hit its rule's pattern could match (the pack
// and accuracy tests hold that on every example), and reject the common shapes that cannot.
import { describe, expect, it } from 'vitest';
import type { PrefilterName } from '../../../rules/schema.js';
import { prefilters } from '../../../scanner/engine/prefilters.js';

/** `text` with the keyword marked [like this]; true when the prefilter must pass the hit. */
const cases: Record<PrefilterName, Array<[string, boolean]>> = {
  userinfo: [
    ['[https://]u:p@host/x', true],
    ['[postgresql+]psycopg2://u:p@db/app', true],
    ['[https://]github.com/a@b', false],
    ['see [https://]example.org/docs', false],
  ],
  'assignment-password': [
    ['db_[password] = "hunter22xyz"', true],
    ['<[password]>s3cretValue</password>', true],
    ["define('DB_[PASSWORD]', 'x9Kq2mVz7')", true],
    ['[password]: str = "x9Kq2mVz7"', true],
    // A value that reads as a name (`abcdefgh1`) the placeholder filter drops: rejected here already.
    ["define('DB_[PASSWORD]', 'abcdefgh1')", false],
    // Non-ASCII is not judged as code here (the engine reads UTF-8).
    ['db_[password] = "pässwörtVerwaltung";', true],
    ['[password]Confirm = "abcdefgh1"', false],
    ['[password] = getPassword()', false],
    ['db_[password] = config.database.password;', false],
    ['if ([password]) {', false],
  ],
  'assignment-secret': [
    ['[secret]_key_base: abcdef0123456789', true],
    ['[secret]Name: db-credentials-x', false],
    ['[secret]s = load()', false],
    ['[secret] = settings.SECRET_KEY_BASE', false],
  ],
  'assignment-token': [
    ['access_[token]=abcdefghijklmnop1234', true],
    ['[token]izer = load("bert")', false],
    ['[token]: string | undefined', false],
    ['[token] = this.next()', false],
    // Values that read as code, which generic-token's placeholder filter drops after an RE2 run.
    ['[Token]: ssoToken.refreshToken,', false],
    ['[TOKEN] = "AWS_CONTAINER_AUTHORIZATION_TOKEN";', false],
    ['[token] = generateIdempotencyToken;', false],
    ['[Token]: "aorvJYubGpU6i91YnH7Mfo-AT2fIVa1zCfA",', true],
    // Not judged as code: a value cut off at the prefilter's reach.
    [`[token]=${'abcdEfgh.'.repeat(40)}`, true],
  ],
  'assignment-api-key': [
    ['[api_key] = "0123456789abcdef0123"', true],
    ['[api_key]_id: 1234', false],
  ],
  'assignment-aws-secret': [
    [`export [AWS]_SECRET_ACCESS_KEY=${'a'.repeat(40)}`, true],
    ['import [aws] from "aws-sdk"', false],
  ],
  'env-name': [
    ['- name: DB_[PASSWORD]\n', true],
    ['{"name": "API_[TOKEN]", "value": "x"}', true],
    ['DB_[PASSWORD]=x', false],
  ],
  'cli-flag': [
    ['mysql --[password] x', true],
    ['cli --db-admin-[password] x', true],
    ['--[password]-stdin', false],
    ['use a [password] here', false],
  ],
  'key-value-attribute': [
    ['<add key="Smtp:[Password]" value="x"/>', true],
    ['<add key="Stripe[Secret]Key" value="x"/>', true],
    ['<add key="[Token]Endpoint" value="x"/>', false],
    ['[token] = 1', false],
  ],
};

describe('prefilters', () => {
  for (const [name, list] of Object.entries(cases) as Array<[PrefilterName, Array<[string, boolean]>]>) {
    it.each(list)(`${name}: %s -> %s`, (marked, pass) => {
      const start = marked.indexOf('[');
      const end = marked.indexOf(']') - 1;
      const buf = Buffer.from(marked.slice(0, start) + marked.slice(start + 1, end + 1) + marked.slice(end + 2));
      expect(prefilters[name](buf, start, end)).toBe(pass);
    });
  }
});

describe('the userinfo prefilter on a buffer refilled between scans', () => {
  it('finds an @ the buffer gained since its last scan (the engine forgets its search first)', async () => {
    const { builtinRules } = await import('../../../rules/builtin.js');
    const { compilePack } = await import('../../../scanner/engine/compile.js');
    const { scanBuffer } = await import('../../../scanner/engine/engine.js');
    const pack = compilePack((await builtinRules()).filter((r) => r.id === 'basic-auth-url'));
    const buf = Buffer.alloc(400, 0x20);
    buf.write('see https://a.example/ ', 0);
    buf.write('see https://b.example/ ', 100);
    expect(scanBuffer(pack, buf)).toEqual([]);
    // The same Buffer object, new text (a source reusing its read buffer): a hit past the last one.
    buf.fill(0x20);
    const password = `Zq${Date.now().toString(36)}Xy7`;
    buf.write(`git clone https://deploy:${password}@git.example.com/r.git\n`, 200);
    const found = scanBuffer(pack, buf);
    expect(found.map((m) => m.secret)).toEqual([password]);
  });
});
