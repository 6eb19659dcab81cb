// What kind of file a finding sits in, judged by its path and file kind alone: a test, a fixture,
// documentation or an example. A key in a test can be live, so these findings are still reported;
// the context lets a report rank them and `--exclude-context test,docs` drop them. Pure. Set on each
// occurrence where it is placed (scanner/pipeline.ts `placed`), so git history judges every path a
// blob appeared at, not only the first.

import { FINDING_CONTEXTS, type FindingContext } from '../model/context.js';
import type { Finding, Occurrence, Provenance } from '../model/finding.js';

export { FINDING_CONTEXTS, type FindingContext } from '../model/context.js';

/** Directory names, matched as whole path segments (lower-cased). */
const FIXTURE_DIRS = new Set([
  'fixture',
  'fixtures',
  '__fixtures__',
  'testdata',
  'test-data',
  'test_data',
  'testfixtures',
  'cassettes',
  'vcr_cassettes',
  '__snapshots__',
  'snapshots',
  '__mocks__',
  'mocks',
  'mock_data',
  'stubs',
]);
const TEST_DIRS = new Set(['test', 'tests', '__tests__', 'spec', 'specs', 'testing', 'e2e', 'integration-tests', 'unittests']);
const EXAMPLE_DIRS = new Set([
  'example',
  'examples',
  'sample',
  'samples',
  'demo',
  'demos',
  'tutorial',
  'tutorials',
  'quickstart',
]);
const DOCS_DIRS = new Set(['doc', 'docs', 'documentation', 'guides', 'man']);

/** File names (lower-cased) that say what they are. */
const FIXTURE_FILE = /\.(?:snap|golden|cassette\.ya?ml|har)$/;
const TEST_FILE =
  /(?:^test_.+\.py$|_test\.(?:go|py|rb|rs|exs?|dart|cpp|cc|c)$|_spec\.rb$|\.(?:test|spec)\.[cm]?[jt]sx?$|(?:test|tests|spec)\.(?:java|kt|kts|scala|groovy|cs|php|swift)$|^conftest\.py$)/;
const EXAMPLE_FILE =
  /(?:\.(?:example|sample|dist|template|tmpl|tpl)$|[._-](?:example|sample)\.[a-z0-9]+$|^(?:example|sample)[._-])/;
const DOCS_FILE =
  /(?:\.(?:md|mdx|markdown|rst|adoc|asciidoc|textile|pod)$|^(?:readme|changelog|changes|history|contributing)(?:\.|$))/;

/**
 * The context of a `/`-separated relative path. The most specific wins: a fixture under a test
 * folder is a fixture, an example in the docs an example. `-` (stdin) is `code`.
 */
export function contextOf(path: string): FindingContext {
  const lower = path.toLowerCase();
  const segments = lower.split('/');
  const file = segments.pop() ?? '';
  let test = false;
  let example = false;
  let docs = false;
  for (const s of segments) {
    if (FIXTURE_DIRS.has(s)) return 'fixture';
    if (TEST_DIRS.has(s)) test = true;
    else if (EXAMPLE_DIRS.has(s)) example = true;
    else if (DOCS_DIRS.has(s)) docs = true;
  }
  if (FIXTURE_FILE.test(file)) return 'fixture';
  if (test || TEST_FILE.test(file)) return 'test';
  if (example || EXAMPLE_FILE.test(file)) return 'example';
  if (docs || DOCS_FILE.test(file)) return 'docs';
  return 'code';
}

/** Parses `--exclude-context test,docs`: the listed contexts, or the names that are not contexts. */
export function parseContextList(text: string): { contexts: Set<FindingContext>; unknown: string[] } {
  const contexts = new Set<FindingContext>();
  const unknown: string[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (!name) continue;
    if ((FINDING_CONTEXTS as readonly string[]).includes(name)) contexts.add(name as FindingContext);
    else unknown.push(name);
  }
  return { contexts, unknown };
}

/** The context of content from `p`: by its path for files, blobs and named dumps; none for stdin and logs. */
export function contextOfProvenance(p: Provenance): FindingContext | undefined {
  switch (p.kind) {
    case 'file':
      return contextOf(p.path);
    case 'git': // commit metadata has no path that says what it is
      return p.location === undefined ? contextOf(p.path) : undefined;
    case 'dump':
    case 'github-alert': // a commit location has a path; an issue comment or PR body has none
      return p.path === undefined || p.path === '-' ? undefined : contextOf(p.path);
    case 'stdin':
    case 'log':
      return undefined;
    default: {
      const never: never = p;
      return never;
    }
  }
}

/**
 * Findings without the occurrences whose context is in `exclude`; a finding left with none is
 * dropped. The inputs are not modified.
 */
export function excludeContexts(findings: readonly Finding[], exclude: ReadonlySet<FindingContext>): Finding[] {
  const out: Finding[] = [];
  for (const f of findings) {
    const kept = f.occurrences.filter((o: Occurrence) => o.context === undefined || !exclude.has(o.context));
    if (kept.length === f.occurrences.length) out.push(f);
    else if (kept.length > 0) out.push({ ...f, occurrences: kept });
  }
  return out;
}
