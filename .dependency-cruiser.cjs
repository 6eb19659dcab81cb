// keywarden's import directions (docs/architecture.md), checked by test/architecture.test.ts and by
//   npx depcruise --config .dependency-cruiser.cjs errors config rules model scanner workers api http intake cli logging pino bench rotation
// (add providers action runtime dashboard once they exist). A wrong import or a cycle fails the build.

/** Every top-level part of keywarden (paths are relative to the repository root). */
const PARTS = [
  'errors',
  'config',
  'rules',
  'model',
  'scanner',
  'workers',
  'http',
  'intake',
  'api',
  'cli',
  'logging',
  'pino',
  'bench',
  'providers',
  'rotation',
  'action',
  'runtime',
  'dashboard',
  'examples',
];

/** A path regex for these parts' folders. */
const under = (...parts) => `^(${parts.join('|')})/`;
/** Every part but these. */
const except = (...parts) => PARTS.filter((p) => !parts.includes(p));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Imports run one way; a cycle means two modules are one, or one of them is in the wrong place.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'errors-is-a-leaf',
      severity: 'error',
      comment: 'errors/ (the code table and KeywardenError) is imported by everyone and imports nothing of ours.',
      from: { path: under('errors') },
      to: { path: under(...except('errors')) },
    },
    {
      name: 'config-is-a-leaf',
      severity: 'error',
      comment: 'config/ (settings, paths, the config file) imports nothing of ours but errors/.',
      from: { path: under('config') },
      to: { path: under(...except('config', 'errors')) },
    },
    {
      name: 'rules-imports-only-errors',
      severity: 'error',
      comment: 'rules/ is data and its loader: it imports errors/ and nothing else of ours.',
      from: { path: under('rules') },
      to: { path: under(...except('rules', 'errors')) },
    },
    {
      name: 'model-is-a-leaf',
      severity: 'error',
      comment:
        'model/ (Finding, Occurrence, Provenance) is imported by every part above it; it imports errors/ and the rule schema only.',
      from: { path: under('model') },
      to: { path: `${under(...except('model', 'errors', 'rules'))}|^rules/(?!schema\\.ts$)` },
    },
    {
      name: 'engine-is-pure',
      severity: 'error',
      comment: 'scanner/engine/ takes bytes and a compiled pack: rules/, model/ and errors/ only, no other part of the scanner.',
      from: { path: '^scanner/engine/' },
      to: { path: `${under(...except('scanner', 'rules', 'model', 'errors'))}|^scanner/(?!engine/)` },
    },
    {
      name: 'engine-has-no-io',
      severity: 'error',
      comment: 'No file system, network, processes or clock behind the engine: it runs anywhere, threads included.',
      from: { path: '^scanner/engine/' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|dns|child_process|cluster|timers|timers/promises)$',
      },
    },
    {
      name: 're2-behind-one-module',
      severity: 'error',
      comment: 'RE2 is compiled in scanner/engine/re2.ts (and validated by the rule loader); nothing else loads the binding.',
      from: { pathNot: '^(scanner/engine/re2|rules/load)\\.ts$' },
      to: { path: 'node_modules/re2/' },
    },
    {
      name: 'scanner-is-below-the-service',
      severity: 'error',
      comment: 'scanner/ never imports workers/, the HTTP layers, the CLI, providers/, rotation/ or the new rooms.',
      from: { path: under('scanner') },
      to: { path: under(...except('scanner', 'rules', 'model', 'errors', 'config')) },
    },
    {
      name: 'logging-is-below-the-edges',
      severity: 'error',
      comment: 'logging/ (the pino logger) imports model/, config/ and errors/ only.',
      from: { path: under('logging') },
      to: { path: under(...except('logging', 'model', 'config', 'errors')) },
    },
    {
      name: 'workers-never-import-the-edges',
      severity: 'error',
      comment: 'workers/ is called by the API and the CLI; it never imports them (nor intake/, http/, action/, dashboard/).',
      from: { path: under('workers') },
      to: { path: under('api', 'http', 'intake', 'cli', 'action', 'runtime', 'dashboard', 'pino', 'bench', 'examples') },
    },
    {
      name: 'http-is-shared-by-both-servers',
      severity: 'error',
      comment: 'http/ (token check, error answers, request validation) is imported by api/ and intake/, and imports neither.',
      from: { path: under('http') },
      to: { path: under(...except('http', 'model', 'config', 'errors')) },
    },
    {
      name: 'intake-is-mounted-by-the-api',
      severity: 'error',
      comment: 'api/ mounts intake/; intake/ never imports api/ (nor workers/: the API hands it a findings sink).',
      from: { path: under('intake') },
      to: { path: under('api', 'workers', 'cli', 'action', 'runtime', 'dashboard', 'providers', 'rotation', 'pino', 'bench') },
    },
    {
      name: 'api-never-imports-the-cli',
      severity: 'error',
      comment: 'The HTTP API is an entry point beside the CLI, not below it.',
      from: { path: under('api') },
      to: { path: under('cli', 'action', 'runtime', 'dashboard', 'pino', 'bench', 'examples') },
    },
    {
      name: 'nothing-imports-the-cli',
      severity: 'error',
      comment: 'cli/ is an entry point: what another part needs from it belongs in a lower part.',
      from: { pathNot: under('cli') },
      to: { path: under('cli') },
    },
    {
      name: 'providers-and-rotation-are-called-not-calling',
      severity: 'error',
      comment: 'providers/ and rotation/ are imported by workers/, api/ and the CLI; they import none of those.',
      from: { path: under('providers', 'rotation') },
      to: {
        path: under('workers', 'api', 'http', 'intake', 'cli', 'action', 'runtime', 'dashboard', 'pino', 'bench', 'examples'),
      },
    },
    {
      name: 'action-runs-without-the-service',
      severity: 'error',
      comment: 'action/ (the GitHub Action) scans and reports in CI: no queues, store or HTTP servers.',
      from: { path: under('action') },
      to: { path: under('workers', 'api', 'http', 'intake', 'cli', 'runtime', 'dashboard', 'pino', 'bench') },
    },
    {
      name: 'runtime-imports-only-rules-engine-redaction',
      severity: 'error',
      comment:
        'runtime/ (keywarden/runtime, inside apps) imports rules/, model/, the engine, redaction, rotation/signature.ts and errors/ only.',
      from: { path: under('runtime') },
      to: {
        path: under(...PARTS),
        pathNot:
          '^(runtime|rules|model|errors|scanner/engine)/|^scanner/redact[^/]*\\.ts$|^scanner/redact/|^rotation/signature\\.ts$',
      },
    },
    {
      name: 'runtime-pulls-in-none-of-the-service',
      severity: 'error',
      comment:
        'An app that imports keywarden/runtime must not load workers, the API, BullMQ, ioredis or fastify, even indirectly.',
      from: { path: under('runtime') },
      to: {
        reachable: true,
        path: `${under('workers', 'api', 'http', 'intake', 'cli')}|node_modules/(bullmq|ioredis|fastify)/`,
      },
    },
    {
      name: 'dashboard-reaches-the-service-over-http',
      severity: 'error',
      comment: 'dashboard/ is a client of /v1 like any other: it imports nothing of ours outside dashboard/.',
      from: { path: under('dashboard') },
      to: { path: under(...except('dashboard')) },
    },
    {
      name: 'no-test-code-in-the-product',
      severity: 'error',
      comment: "Tests import the product, never the other way round (bench/ may drive the tests' fake peers).",
      from: { path: under(...PARTS), pathNot: '^bench/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|bench/.corpus)/' },
    // Type-only imports count: a type imported from a part is a dependency on that part.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
