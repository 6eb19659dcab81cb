// The credential-file parsers: named cases per format, each stating the (key, value) pairs a file
// yields, with offsets that point at the value's bytes.
import { describe, expect, it } from 'vitest';
import type { FormatParser } from '../../../rules/schema.js';
import { parseFormat } from '../../../scanner/engine/formats.js';

type Parser = Exclude<FormatParser, 'path'>;

const cases: Record<string, [Parser, string, Array<[string, string]>]> = {
  'netrc: entries over lines, quoted password, macdef skipped': [
    'netrc',
    'machine a.example\n  login u1\n  password p1\nmacdef init\npassword inmacro\n\nmachine b login u2 password "p 2"\n', // keywarden:allow (a made-up entry)
    [
      ['login', 'u1'],
      ['password', 'p1'],
      ['login', 'u2'],
      ['password', 'p 2'],
    ],
  ],
  'pgpass: fifth field, escaped colon, comments': [
    'pgpass',
    '# h:p:d:u:pw\nh:5432:db:u:s3\\:cret\n',
    [['password', 's3\\:cret']],
  ],
  'passwd: second field': ['passwd', 'root:$6$salt$hash:19700::\n# c\nbad\n', [['password', '$6$salt$hash']]],
  'line-pairs: every second line': [
    'line-pairs',
    'u1\np1\n\nu2\np2\n',
    [
      ['password', 'p1'],
      ['password', 'p2'],
    ],
  ],
  'ini: sections, quotes, npm keys with colons, configparser colon': [
    'ini',
    '[client]\npassword = "q1"\n//reg.example/:_authToken=t1\n[pypi]\npassword: a=b\n; c\n',
    [
      ['client.password', 'q1'],
      ['client.//reg.example/:_authToken', 't1'],
      ['pypi.password', 'a=b'],
    ],
  ],
  'properties: = : and blank separators': [
    'properties',
    'a.b=1\nc: 2\nd 3\n# e=4\n',
    [
      ['a.b', '1'],
      ['c', '2'],
      ['d', '3'],
    ],
  ],
  'json: nested keys, arrays, comments, trailing commas': [
    'json',
    '{\n // c\n "a": {"b": "v1", "n": 3},\n "l": [{"c": "v2"}],\n}',
    [
      ['a.b', 'v1'],
      ['l.c', 'v2'],
    ],
  ],
  'yaml: nesting, list items, quotes, comments, block scalars skipped': [
    'yaml',
    'users:\n- name: ci\n  user:\n    token: "t1" # c\nx: |\n  skipped: s\ny: v2\n',
    [
      ['users.name', 'ci'],
      ['users.user.token', 't1'],
      ['y', 'v2'],
    ],
  ],
  'xml: leaf text, attributes, name/value options, comments': [
    'xml',
    '<a><!-- <b>no</b> --><b x="1">t</b><option name="password" value="pw"/></a>',
    [
      ['a.b@x', '1'],
      ['a.b', 't'],
      ['a.password', 'pw'],
      ['a.option@name', 'password'],
      ['a.option@value', 'pw'],
    ],
  ],
};

describe('parseFormat', () => {
  it.each(Object.entries(cases))('%s', (_name, [parser, text, expected]) => {
    const buf = Buffer.from(text);
    const got = parseFormat(parser, buf).map((v) => [v.key, buf.toString('utf8', v.start, v.end)]);
    expect(got).toEqual(expect.arrayContaining(expected));
    expect(got).toHaveLength(expected.length);
  });

  it('stops quietly on text that is not the format', () => {
    for (const parser of ['json', 'yaml', 'xml', 'ini'] as const) {
      expect(() => parseFormat(parser, Buffer.from('{"a": [1, <<<\n\t:: ]]] "unterminated'))).not.toThrow();
    }
  });
});
