// Finding contexts judged by path: named cases per context, the most specific winning.
import { describe, expect, it } from 'vitest';
import { contextOf, type FindingContext, parseContextList } from '../../scanner/context.js';

const cases: Record<string, FindingContext> = {
  'src/app/settings.py': 'code',
  '.env.production': 'code',
  'config/credentials.txt': 'code',
  'test/app.test.ts': 'test',
  'pkg/client/client_test.go': 'test',
  'tests/test_login.py': 'test',
  'spec/models/user_spec.rb': 'test',
  'src/test/java/com/acme/ClientTest.java': 'test',
  'web/src/__tests__/auth.tsx': 'test',
  'conftest.py': 'test',
  'test/fixtures/users.json': 'fixture',
  'pkg/testdata/kubeconfig': 'fixture',
  'spec/cassettes/login.yml': 'fixture',
  'src/__snapshots__/report.snap': 'fixture',
  'docs/setup.md': 'docs',
  'README.md': 'docs',
  'guides/deploy.rst': 'docs',
  CHANGELOG: 'docs',
  'examples/basic/main.go': 'example',
  '.env.example': 'example',
  'config/settings.sample.yml': 'example',
  'wp-config-sample.php': 'example',
  'phpunit.xml.dist': 'example',
  'docs/examples/client.py': 'example',
};

describe('contextOf', () => {
  it.each(Object.entries(cases))('%s is %s', (path, context) => {
    expect(contextOf(path)).toBe(context);
  });
});

describe('parseContextList', () => {
  it('takes comma-separated names and reports the unknown ones', () => {
    const { contexts, unknown } = parseContextList('test, docs,,fixtures');
    expect([...contexts]).toEqual(['test', 'docs']);
    expect(unknown).toEqual(['fixtures']);
  });
});
