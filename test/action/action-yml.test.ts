// action.yml, the composite wrapper a workflow `uses:`: its inputs, outputs and steps against the
// contract, then run step by step as the runner would (expressions evaluated, `if:` honoured, each
// step's GITHUB_OUTPUT read, caches emulated with a directory) from a copy of the Action's directory,
// against the fake GitHub API. What cannot run here: the `uses:` steps themselves (setup-node and
// the cache actions), and `npm ci` from the registry (opt in with KEYWARDEN_TEST_ACTION_INSTALL=1).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FakeGitHub } from './fake-github.js';
import {
  checkout,
  commentableLines,
  githubPat,
  Origin,
  OWNER,
  parseOutputs,
  pullRequestPayload,
  REPO,
  REPO_ID,
  runnerEnv,
  spawnAsync,
  TOKEN,
  tempDir,
} from './fixture.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface ActionYml {
  name: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: Step[] };
}

const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as ActionYml;

describe('action.yml against the contract', () => {
  it('has exactly the inputs of the issue, with their defaults', () => {
    expect(Object.keys(action.inputs)).toEqual(['config', 'baseline', 'fail-on', 'comment', 'sarif', 'github-token']);
    const defaults = Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, v.default]));
    expect(defaults).toEqual({
      config: '',
      baseline: '',
      'fail-on': 'new',
      comment: 'both',
      sarif: 'keywarden.sarif',
      'github-token': '${{ github.token }}',
    });
    for (const i of Object.values(action.inputs)) expect(i.required ?? false).toBe(false);
  });

  it('has the outputs findings and sarif, from the scan step', () => {
    expect(action.outputs).toEqual({
      findings: { description: expect.any(String), value: '${{ steps.scan.outputs.findings }}' },
      sarif: { description: expect.any(String), value: '${{ steps.scan.outputs.sarif }}' },
    });
  });

  it('is a composite action whose scan step passes every input as the INPUT_ variable @actions/core reads', () => {
    expect(action.runs.using).toBe('composite');
    const scan = action.runs.steps.find((s) => s.id === 'scan')!;
    expect(scan.run).toBe('node "$GITHUB_ACTION_PATH/bin/keywarden.js" action');
    const expected = Object.fromEntries(
      Object.keys(action.inputs).map((k) => [`INPUT_${k.toUpperCase()}`, `\${{ inputs.${k} }}`]),
    );
    expect(scan.env).toEqual(expected);
  });

  it('runs every shell step with bash, never puts an expression inside a script, and pins actions by major version', () => {
    for (const s of action.runs.steps) {
      if (s.run !== undefined) {
        expect(s.shell).toBe('bash');
        expect(s.run).not.toContain('${{'); // script injection: values go through env
      } else {
        expect(s.uses).toMatch(/^actions\/(setup-node|cache\/restore|cache\/save)@v\d+$/);
      }
    }
  });
});

// ---- a runner for composite steps ------------------------------------------------------------

type Value = string | number | boolean | null;

/** GitHub's expression syntax, the subset action.yml uses: paths, literals, == != ! && || ( ), always() success(). */
function evaluate(expr: string, ctx: (path: string) => Value, status: { failed: boolean }): Value {
  const tokens = expr.match(/'(?:[^']|'')*'|==|!=|&&|\|\||[()!]|[A-Za-z_][\w.-]*(?:\(\))?|\d+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++]!;
  const truthy = (v: Value) => v !== null && v !== false && v !== '' && v !== 0;
  const primary = (): Value => {
    const t = next();
    if (t === '(') {
      const v = or();
      if (next() !== ')') throw new Error(`unbalanced ( in ${expr}`);
      return v;
    }
    if (t === '!') return !truthy(primary());
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (/^\d+$/.test(t)) return Number(t);
    if (t === 'true' || t === 'false') return t === 'true';
    if (t === 'always()') return true;
    if (t === 'success()') return !status.failed;
    if (t === 'failure()') return status.failed;
    if (/^[A-Za-z_][\w.-]*$/.test(t)) return ctx(t);
    throw new Error(`unsupported token ${t} in ${expr}`);
  };
  const cmp = (): Value => {
    const a = primary();
    const op = peek();
    if (op === '==' || op === '!=') {
      next();
      const b = primary();
      const eq = String(a ?? '').toLowerCase() === String(b ?? '').toLowerCase();
      return op === '==' ? eq : !eq;
    }
    return a;
  };
  const and = (): Value => {
    let v = cmp();
    while (peek() === '&&') {
      next();
      const r = cmp();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  const or = (): Value => {
    let v = and();
    while (peek() === '||') {
      next();
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  };
  const v = or();
  if (i !== tokens.length) throw new Error(`trailing tokens in ${expr}`);
  return v;
}

function interpolate(text: string, ctx: (path: string) => Value, status: { failed: boolean }): string {
  return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, e: string) => String(evaluate(e, ctx, status) ?? ''));
}

interface CompositeRun {
  code: number;
  outputs: Record<string, string>;
  ran: string[];
  skipped: string[];
  stdout: string;
}

/**
 * Runs action.yml's steps in order. `uses:` steps are emulated: setup-node must not be needed here;
 * cache/restore and cache/save copy to and from `cacheStore`, keyed as the real ones are.
 */
async function runComposite(o: {
  actionPath: string;
  env: Record<string, string>;
  context: Record<string, string>;
  with: Record<string, string>;
  cacheStore: string;
  workspace: string;
}): Promise<CompositeRun> {
  const steps: Record<string, Record<string, string>> = {};
  const inputs: Record<string, string> = {};
  const status = { failed: false };
  let code = 0;
  const ran: string[] = [];
  const skipped: string[] = [];
  let stdout = '';
  const ctx = (path: string): Value => {
    const [head, ...rest] = path.split('.');
    if (head === 'inputs') return inputs[rest.join('.')] ?? '';
    if (head === 'steps') return steps[rest[0]!]?.[rest[2]!] ?? '';
    if (head === 'github' || head === 'runner') return o.context[path] ?? '';
    throw new Error(`unknown context ${path}`);
  };
  for (const [k, v] of Object.entries(action.inputs)) inputs[k] = o.with[k] ?? interpolate(v.default ?? '', ctx, status);
  const expandHome = (p: string) => p.replace(/^~(?=\/)/, o.env.HOME!);

  for (const s of action.runs.steps) {
    const name = s.name ?? s.id ?? '?';
    const cond = s.if ? evaluate(s.if.replace(/^\$\{\{\s*|\s*\}\}$/g, ''), ctx, status) : !status.failed;
    if (!cond) {
      skipped.push(name);
      continue;
    }
    ran.push(name);
    const outputs: Record<string, string> = {};
    if (s.uses) {
      const w = Object.fromEntries(Object.entries(s.with ?? {}).map(([k, v]) => [k, interpolate(String(v), ctx, status)]));
      const paths = (w.path ?? '')
        .split('\n')
        .map((p) => expandHome(p.trim()))
        .filter(Boolean);
      const store = (key: string) => join(o.cacheStore, key.replace(/[^\w.-]/g, '_'));
      if (s.uses.startsWith('actions/setup-node')) throw new Error('setup-node ran, but this machine has Node 20+');
      else if (s.uses.startsWith('actions/cache/restore')) {
        let hit = existsSync(store(w.key!)) ? store(w.key!) : null;
        let exact = hit !== null;
        if (!hit && w['restore-keys']) {
          const prefix = w['restore-keys'].trim().replace(/[^\w.-]/g, '_');
          const match = readdirSync(o.cacheStore)
            .filter((d) => d.startsWith(prefix))
            .sort()
            .pop();
          if (match) hit = join(o.cacheStore, match);
          exact = false;
        }
        // The dependency cache: a primed action directory counts as a hit, as after an earlier run.
        if (!hit && paths.every((p) => existsSync(p))) exact = true;
        else if (hit)
          for (const [n, p] of paths.entries()) cpSync(join(hit, String(n)), p, { recursive: true, verbatimSymlinks: true });
        outputs['cache-hit'] = exact ? 'true' : '';
      } else if (s.uses.startsWith('actions/cache/save')) {
        const dir = store(w.key!);
        for (const [n, p] of paths.entries())
          if (existsSync(p)) cpSync(p, join(dir, String(n)), { recursive: true, verbatimSymlinks: true });
      } else throw new Error(`no emulation for ${s.uses}`);
    } else {
      const outFile = join(o.cacheStore, `..`, `out-${Math.random().toString(36).slice(2)}`);
      writeFileSync(outFile, '');
      const stepEnv = Object.fromEntries(Object.entries(s.env ?? {}).map(([k, v]) => [k, interpolate(String(v), ctx, status)]));
      const r = await spawnAsync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', s.run!], {
        cwd: o.workspace,
        env: { ...o.env, ...stepEnv, GITHUB_ACTION_PATH: o.actionPath, GITHUB_OUTPUT: outFile },
      });
      stdout += r.stdout;
      Object.assign(outputs, parseOutputs(outFile));
      if (r.code !== 0) {
        status.failed = true;
        code = r.code ?? 1;
      }
    }
    if (s.id) steps[s.id] = outputs;
  }
  const outputs = Object.fromEntries(Object.entries(action.outputs).map(([k, v]) => [k, interpolate(v.value, ctx, status)]));
  return { code, outputs, ran, skipped, stdout };
}

/** The Action's directory as `uses:` downloads it (the repository at a ref), primed as after a cached install. */
function actionCopy(): string {
  const dir = tempDir('kw-action-path-');
  for (const f of ['action.yml', 'package.json', 'package-lock.json', 'bin', 'rules', 'action'])
    cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

describe('action.yml run step by step, as the runner runs a composite action', () => {
  let root: string;
  let origin: Origin;
  let api: FakeGitHub;
  let apiUrl: string;
  let actionPath: string;
  let cacheStore: string;
  const secret = githubPat();
  const dirs: string[] = [];

  beforeAll(async () => {
    root = tempDir('kw-yml-');
    origin = new Origin(root);
    const d = origin.dev;
    d.write('README.md', '# x\n');
    d.commit('base');
    origin.push('main');
    d.git('checkout', '-q', '-b', 'pr');
    d.write('app.env', `A=1\nGITHUB_TOKEN=${secret}\n`);
    d.commit('add app.env');
    origin.push('pr');
    api = new FakeGitHub({
      owner: OWNER,
      repo: REPO,
      token: TOKEN,
      prefix: '',
      diffLines: (_n, head) => commentableLines(origin.bare, origin.sha('main'), head),
    });
    apiUrl = await api.start();
    actionPath = actionCopy();
    cacheStore = join(tempDir('kw-cache-'), 'store');
    mkdirSync(cacheStore);
    dirs.push(root, actionPath, join(cacheStore, '..'));
  });
  afterAll(async () => {
    await api.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function context(event: string): Record<string, string> {
    return {
      'github.action_path': actionPath,
      'github.event_name': event,
      'github.repository_id': String(REPO_ID),
      'github.run_id': String(Date.now()),
      'github.run_attempt': '1',
      'github.token': TOKEN,
    };
  }

  /** The runner's environment for a step of a composite action: no INPUT_* of its own. */
  function stepEnv(env: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('INPUT_')));
  }

  it('a pull request: install skipped on a cache hit, the scan fails the check, outputs set, comment posted', async () => {
    const head = origin.sha('pr');
    const merge = origin.openPull(11, head);
    api.heads.set(11, head);
    const ws = checkout(origin, 'refs/pull/11/merge', 'refs/remotes/pull/11/merge');
    const home = tempDir('kw-home-');
    dirs.push(ws, home);
    const { env, files } = runnerEnv({
      event: 'pull_request',
      payload: pullRequestPayload({ number: 11, baseSha: origin.sha('main'), headSha: head, headRef: 'pr', commits: 1 }),
      workspace: ws,
      apiUrl,
      sha: merge,
      ref: 'refs/pull/11/merge',
      home,
    });
    const r = await runComposite({
      actionPath,
      env: stepEnv(env),
      context: context('pull_request'),
      with: {},
      cacheStore,
      workspace: ws,
    });
    expect(r.skipped).toEqual([
      'Set up Node.js 20',
      'Install keywarden',
      "Save keywarden's dependencies",
      'Restore the history scan state',
      'Save the history scan state',
    ]);
    expect(r.code).toBe(1);
    expect(r.outputs).toEqual({ findings: '1', sarif: join(ws, 'keywarden.sarif') });
    expect(api.reviewComments.filter((c) => c.pull_number === 11).map((c) => `${c.path}:${c.line}`)).toEqual(['app.env:2']);
    expect(readFileSync(files.summary, 'utf8')).toContain('| `github-pat` | `app.env` | 2 |');
    expect(r.stdout).not.toContain(secret);
  });

  it('with: inputs reach the command (fail-on: none, comment: none, another sarif path)', async () => {
    const head = origin.sha('pr');
    const merge = origin.openPull(11, head);
    const ws = checkout(origin, 'refs/pull/11/merge', 'refs/remotes/pull/11/merge');
    const home = tempDir('kw-home-');
    dirs.push(ws, home);
    const before = api.requests.length;
    const { env } = runnerEnv({
      event: 'pull_request',
      payload: pullRequestPayload({ number: 11, baseSha: origin.sha('main'), headSha: head, headRef: 'pr', commits: 1 }),
      workspace: ws,
      apiUrl,
      sha: merge,
      ref: 'refs/pull/11/merge',
      home,
    });
    const r = await runComposite({
      actionPath,
      env: stepEnv(env),
      context: context('pull_request'),
      with: { 'fail-on': 'none', comment: 'none', sarif: 'reports/kw.sarif' },
      cacheStore,
      workspace: ws,
    });
    expect(r.code).toBe(0);
    expect(r.outputs).toEqual({ findings: '1', sarif: join(ws, 'reports/kw.sarif') });
    expect(existsSync(join(ws, 'reports/kw.sarif'))).toBe(true);
    expect(api.requests.length).toBe(before);
  });

  it('schedule: the history state is restored and saved by the cache steps, so the second night is incremental', async () => {
    const home = tempDir('kw-home-');
    dirs.push(home);
    const night = async (n: number) => {
      const ws = checkout(origin, 'refs/heads/main', 'refs/remotes/origin/main', { fetchDepth: 0 });
      // A fresh runner each night: nothing in HOME but what the cache brings back.
      rmSync(join(home, '.local'), { recursive: true, force: true });
      dirs.push(ws);
      const { env } = runnerEnv({
        event: 'schedule',
        payload: { schedule: '0 3 * * *' },
        workspace: ws,
        apiUrl,
        sha: origin.sha('main'),
        ref: 'refs/heads/main',
        home,
      });
      const ctx = { ...context('schedule'), 'github.run_id': String(1000 + n) };
      return runComposite({ actionPath, env: stepEnv(env), context: ctx, with: {}, cacheStore, workspace: ws });
    };
    const first = await night(1);
    expect(first.ran).toContain('Save the history scan state');
    expect(first.code).toBe(1);
    expect(first.outputs.findings).toBe('1');
    const second = await night(2);
    expect(second.code).toBe(0);
    expect(second.outputs.findings).toBe('0');
  });
});

describe('action/setup scripts', () => {
  it('cache-key.sh: one key per Action ref (file contents), Node ABI and runner', () => {
    const dir = actionCopy();
    try {
      const key = () => {
        const out = join(dir, '..', `${Math.random()}`);
        writeFileSync(out, '');
        execFileSync('bash', [join(dir, 'action/setup/cache-key.sh')], {
          env: { PATH: process.env.PATH, GITHUB_ACTION_PATH: dir, GITHUB_OUTPUT: out, RUNNER_OS: 'Linux', RUNNER_ARCH: 'X64' },
        });
        const k = parseOutputs(out).key!;
        rmSync(out);
        return k;
      };
      const a = key();
      expect(a).toMatch(new RegExp(`^keywarden-deps-Linux-X64-node-abi${process.versions.modules}-[0-9a-f]{24}$`));
      expect(key()).toBe(a);
      writeFileSync(join(dir, 'dist', 'touched.js'), '// built output does not change the key\n');
      expect(key()).toBe(a);
      writeFileSync(join(dir, 'rules', 'README.md'), 'changed\n');
      expect(key()).not.toBe(a);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Downloads every dependency from the npm registry and builds: minutes, and the network.
  it.runIf(process.env.KEYWARDEN_TEST_ACTION_INSTALL === '1')(
    'install.sh: installs and builds keywarden in a pristine copy of the Action (git archive HEAD)',
    () => {
      const dir = tempDir('kw-install-');
      try {
        execFileSync('bash', ['-c', `git -C "${ROOT}" archive HEAD | tar -x -C "${dir}"`]);
        const out = execFileSync('bash', [join(dir, 'action/setup/install.sh')], {
          env: { ...process.env, GITHUB_ACTION_PATH: dir },
          encoding: 'utf8',
          timeout: 900_000,
        });
        expect(out.trim().split('\n').pop()).toMatch(/^\d+\.\d+\.\d+$/);
        expect(existsSync(join(dir, 'node_modules', 'typescript'))).toBe(false); // dev dependencies pruned
        expect(existsSync(join(dir, 'dist', 'rules', 'builtin.json'))).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    900_000,
  );
});

describe('the workflows', () => {
  const load = (p: string) =>
    parse(readFileSync(join(ROOT, p), 'utf8')) as { on: unknown; jobs: Record<string, { steps: Step[] }> };
  const keywardenSteps = (w: ReturnType<typeof load>) =>
    Object.values(w.jobs).flatMap((j) => j.steps.filter((s) => s.uses === './' || s.uses?.startsWith('keywarden/keywarden@')));

  it('the examples a user copies use only inputs action.yml declares, and upload SARIF on pull requests', () => {
    for (const file of ['examples/workflows/keywarden-pull-request.yml', 'examples/workflows/keywarden-nightly.yml']) {
      const w = load(file);
      const steps = keywardenSteps(w);
      expect(steps).toHaveLength(1);
      for (const k of Object.keys(steps[0]!.with ?? {})) expect(Object.keys(action.inputs)).toContain(k);
      const checkoutStep = Object.values(w.jobs)[0]!.steps.find((s) => s.uses?.startsWith('actions/checkout@'))!;
      expect(checkoutStep.with).toEqual({ 'fetch-depth': 0 });
    }
    const pr = load('examples/workflows/keywarden-pull-request.yml');
    expect(pr.on).toHaveProperty('pull_request');
    const upload = pr.jobs.secrets!.steps.find((s) => s.uses?.startsWith('github/codeql-action/upload-sarif@'))!;
    expect(upload.with?.sarif_file).toContain('steps.keywarden.outputs.sarif');
    expect(upload.if).toContain('always()');
    const nightly = load('examples/workflows/keywarden-nightly.yml');
    expect(nightly.on).toMatchObject({ schedule: [{ cron: expect.any(String) }] });
  });

  it("the project's own CI keeps its test job, and runs lint, typecheck and keywarden on itself", () => {
    const ci = load('.github/workflows/ci.yml');
    expect(ci.jobs.test!.steps.map((s) => s.run).filter(Boolean)).toEqual(['bash .ci/run']);
    expect(ci.jobs.lint!.steps.some((s) => s.run?.includes('biome'))).toBe(true);
    expect(ci.jobs.typecheck!.steps.some((s) => s.run?.includes('tsc'))).toBe(true);
    expect(keywardenSteps(ci)).toHaveLength(1);
    const runs = ci.jobs.secrets!.steps.map((s) => s.run ?? '');
    expect(runs.some((r) => r.includes('keywarden.js history'))).toBe(true);
    expect(runs.some((r) => r.includes('keywarden.js scan'))).toBe(true);
  });
});
