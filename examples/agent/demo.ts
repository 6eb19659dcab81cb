// `node dist/examples/agent/demo.js`: a leaked key rotated under a running agent with no restart and no
// failed request. All on 127.0.0.1, in one process, each part on its own port:
//
//   fake LLM provider  <──  agent app (fileSource on key.txt)  <──  clients (steady load on /ask)
//          ▲                          ▲ reads key.txt
//          │ issue / revoke            │ writes key.txt (atomic rename)
//          └──────────────  rotation receiver  <── signed rotation webhook
//                                      └──> callback POST /v1/findings/<fp>/rotated
//
// 1. The agent serves questions with key 1 under steady load.
// 2. Key 1 leaks into a file; `keywarden scan` finds it (the real CLI, rule openai-project-key).
// 3. The rotation webhook for that finding goes to the receiver (see LOOP HOOKUP below).
// 4. The receiver issues key 2, writes it where the agent reads it, waits, revokes key 1, calls back.
// 5. The agent switches to key 2 with no restart; every request succeeds; key 1 is dead at the provider.
// Prints the timeline and request counts; exits 1 if any request failed or key 1 still works.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type AuditEvent, fileWriter, shortHash, signatureHeader } from '../../runtime/index.js';
import { startAgentApp } from './app.js';
import { startFakeProvider } from './fake-provider.js';
import { startAgentReceiver } from './receiver.js';

/** The repository root: two levels up from the source, three from dist/examples/agent/. */
const ROOT = ['../..', '../../..']
  .map((up) => resolve(dirname(fileURLToPath(import.meta.url)), up))
  .find((dir) => existsSync(join(dir, 'bin/keywarden.js')))!;

export interface DemoOptions {
  /** Concurrent clients asking the agent. @defaultValue 8 */
  clients?: number;
  /** The agent's poll interval for its key file. @defaultValue 500 ms */
  refreshInterval?: number;
  /** The receiver's wait between writing key 2 and revoking key 1. @defaultValue 2000 ms */
  revokeDelay?: number;
  /** Load kept up after the callback, to show key 2 serving alone. @defaultValue 1000 ms */
  after?: number;
  /** Print the timeline. @defaultValue true */
  print?: boolean;
  /**
   * Leave the webhook to keywarden's own loop (README, "Hooking up keywarden's loop"): the leak is
   * committed to a git repository for `keywarden enqueue scan-history`, and the demo waits for the
   * webhook instead of sending it. Callbacks go to keywarden at `publicUrl`.
   */
  loop?: {
    webhookSecret: string;
    /** KEYWARDEN_PUBLIC_URL of the keywarden API. */
    publicUrl: string;
    providerPort?: number;
    receiverPort?: number;
    /** Called once everything listens, with what keywarden must be configured with. */
    onReady?: (info: LoopInfo) => void | Promise<void>;
    /** @defaultValue 10 min */
    timeoutMs?: number;
    /** Print how to run keywarden against the demo (not when a script runs it: examples/loop/demo.ts). @defaultValue true */
    instructions?: boolean;
    /**
     * Awaited after the load stops, before the provider and receiver close: keywarden's confirmation
     * asks the provider whether key 1 still works, so it must still be there.
     */
    beforeClose?: () => Promise<void>;
  };
}

/** What keywarden's service needs to drive the demo (printed in loop mode). */
export interface LoopInfo {
  env: { KEYWARDEN_ROTATION_WEBHOOK_URL: string; KEYWARDEN_WEBHOOK_SECRET: string; KEYWARDEN_PROVIDER_OPENAI_BASE_URL: string };
  /** A git repository whose history holds the leak. */
  repo: string;
}

export interface DemoResult {
  requests: number;
  failed: number;
  /** Answered requests per key: 'old' (key 1), 'new' (key 2). */
  byKey: { old: number; new: number };
  /** What `keywarden scan` reported for the leak. */
  detected: { ruleId: string; fingerprint: string } | null;
  callback: { revoked: boolean; note: string } | null;
  oldKeyLive: boolean;
  newKeyLive: boolean;
  timeline: Array<{ ms: number; event: string }>;
  audit: AuditEvent[];
}

/** Runs `keywarden scan` on the directory holding the leak, as a user would, and returns its first finding. */
function scanForLeak(
  dir: string,
  fingerprintKey: string,
): { ruleId: string; fingerprint: string; redacted: string; line: number } | null {
  let out: string;
  try {
    out = execFileSync(process.execPath, [join(ROOT, 'bin/keywarden.js'), 'scan', dir, '--format', 'json'], {
      encoding: 'utf8',
      env: { ...process.env, KEYWARDEN_FINGERPRINT_KEY: fingerprintKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    // Exit code 1 means "findings": the report is still on stdout.
    out = (err as { stdout?: string }).stdout ?? '';
  }
  const report = JSON.parse(out) as { findings: Array<{ ruleId: string; fingerprint: string; redacted: string; line: number }> };
  return report.findings[0] ?? null;
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const clients = opts.clients ?? 8;
  const print = opts.print ?? true;
  const started = performance.now();
  const timeline: DemoResult['timeline'] = [];
  const mark = (event: string) => {
    const ms = Math.round(performance.now() - started);
    timeline.push({ ms, event });
    if (print) console.log(`${String(ms).padStart(6)} ms  ${event}`);
  };
  const dir = mkdtempSync(join(tmpdir(), 'kw-agent-demo-'));
  const closers: Array<() => Promise<unknown>> = [];
  try {
    // --- the pieces ------------------------------------------------------------------------------
    const loop = opts.loop;
    const provider = await startFakeProvider({
      latencyMs: 40,
      ...(loop?.providerPort !== undefined && { port: loop.providerPort }),
    });
    closers.push(() => provider.close());
    const key1 = provider.issueKey();
    const keyFile = join(dir, 'key.txt');
    writeFileSync(keyFile, `${key1.key}\n`, { mode: 0o600 });
    const app = await startAgentApp({ keyFile, providerUrl: provider.url, refreshInterval: opts.refreshInterval ?? 500 });
    closers.push(() => app.close());

    // Stands in for keywarden's callback route until the loop (#11) is hooked up: same path, same
    // one-time bearer token, same body. In loop mode keywarden's API takes the callback.
    const webhookSecret = loop?.webhookSecret ?? randomBytes(24).toString('base64url');
    const callbackToken = randomBytes(24).toString('base64url');
    let callback: DemoResult['callback'] = null;
    let publicUrl = loop?.publicUrl ?? '';
    if (loop === undefined) {
      const callbackServer = createServer(async (req: IncomingMessage, res) => {
        const parts: Buffer[] = [];
        for await (const c of req) parts.push(c as Buffer);
        const ok =
          req.method === 'POST' &&
          /^\/v1\/findings\/[^/]+\/rotated$/.test(req.url ?? '') &&
          req.headers.authorization === `Bearer ${callbackToken}`;
        if (ok) {
          callback = JSON.parse(Buffer.concat(parts).toString('utf8'));
          mark(`keywarden callback received: ${JSON.stringify(callback)}`);
        }
        res
          .writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
          .end(ok ? '{"state":"rotated"}' : '{"error":{"code":"KW_UNAUTHORIZED"}}');
      });
      await new Promise<void>((r) => callbackServer.listen(0, '127.0.0.1', () => r()));
      closers.push(() => new Promise((r) => callbackServer.close(r)));
      publicUrl = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}`;
    }

    const audit: AuditEvent[] = [];
    let completed = false;
    const receiver = await startAgentReceiver({
      webhookSecret,
      providerUrl: provider.url,
      providerAdminKey: provider.adminKey,
      write: fileWriter(keyFile),
      revokeDelay: opts.revokeDelay ?? 2000,
      callbackOrigin: publicUrl,
      path: '/keywarden/rotation',
      ...(loop?.receiverPort !== undefined && { port: loop.receiverPort }),
      onAudit: (e) => {
        audit.push(e);
        if (e.event === 'rotation.written') mark(`receiver: key 2 issued and written to key.txt (${e.from} -> ${e.to})`);
        if (e.event === 'rotation.accepted') mark(`receiver: signed rotation webhook accepted for ${e.fingerprint}`);
        if (e.event === 'rotation.completed') {
          completed = true;
          mark(`receiver: key 1 revoked, keywarden called back (revoked: ${e.revoked})`);
        }
      },
    });
    closers.push(() => receiver.close());
    mark(`agent ${app.url} serving with key 1 (${shortHash(key1.key)}); provider ${provider.url}; receiver ${receiver.url}`);

    // --- steady load -----------------------------------------------------------------------------
    let running = true;
    let requests = 0;
    let failed = 0;
    const load = Array.from({ length: clients }, async (_, c) => {
      while (running) {
        requests++;
        try {
          const r = await fetch(`${app.url}/ask`, {
            method: 'POST',
            body: JSON.stringify({ question: `question ${c}-${requests}` }),
          });
          if (r.status !== 200) failed++;
          await r.body?.cancel();
        } catch {
          failed++;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 500));

    // --- the leak, found by keywarden ------------------------------------------------------------
    const leakDir = join(dir, 'repo');
    mkdirSync(leakDir);
    writeFileSync(join(leakDir, 'config.env'), `# committed by mistake\nOPENAI_API_KEY=${key1.key}\n`);
    if (loop !== undefined) {
      // keywarden's loop finds it the way it finds real leaks: in a repository's history.
      const git = (...a: string[]) => execFileSync('git', a, { cwd: leakDir, stdio: 'ignore' });
      git('init', '-q');
      git('add', 'config.env');
      git('-c', 'user.name=demo', '-c', 'user.email=demo@example.com', 'commit', '-q', '-m', 'add config');
    }
    // With keywarden's own fingerprint key (if set) the fingerprint is the one the service reports.
    const finding = scanForLeak(leakDir, process.env.KEYWARDEN_FINGERPRINT_KEY ?? randomBytes(16).toString('hex'));
    mark(
      finding
        ? `keywarden scan: ${finding.ruleId} ${finding.redacted} at config.env:${finding.line} (${finding.fingerprint})`
        : 'keywarden scan found nothing',
    );

    // --- LOOP HOOKUP (#11) -----------------------------------------------------------------------
    // With `--loop`, keywarden's own loop drives this step: its worker finds the leak in the repo's
    // history and sends the rotation webhook to the receiver (KEYWARDEN_ROTATION_WEBHOOK_URL, signed
    // with KEYWARDEN_WEBHOOK_SECRET); the receiver calls back keywarden's API at KEYWARDEN_PUBLIC_URL,
    // and keywarden confirms the revocation at the fake provider (KEYWARDEN_PROVIDER_OPENAI_BASE_URL).
    // examples/loop/demo.ts (`npm run demo:loop`) runs keywarden serve and worker for it and watches the
    // finding's lifecycle; test/examples/loop-demo.test.ts runs that against the real loop. Without
    // `--loop` the demo signs and sends the webhook itself, byte for byte as the rotation issue defines
    // it, to a stand-in callback route. Steps by hand: examples/agent/README.md, "Hooking up keywarden's loop".
    if (loop !== undefined) {
      const info: LoopInfo = {
        env: {
          KEYWARDEN_ROTATION_WEBHOOK_URL: receiver.url,
          KEYWARDEN_WEBHOOK_SECRET: webhookSecret,
          KEYWARDEN_PROVIDER_OPENAI_BASE_URL: provider.url,
        },
        repo: leakDir,
      };
      if (print && loop.instructions !== false) {
        console.log(`\nwaiting for keywarden's rotation webhook. Run keywarden (serve + worker) with:`);
        for (const [k, v] of Object.entries(info.env))
          console.log(`  ${k}=${k === 'KEYWARDEN_WEBHOOK_SECRET' ? '<as given>' : v}`);
        console.log(`and: keywarden enqueue scan-history --repo ${leakDir}\n`);
      }
      await loop.onReady?.(info);
    } else {
      const fingerprint = finding?.fingerprint ?? 'kw1:00000000000000000000000000000000';
      const body = JSON.stringify({
        type: 'rotation.requested',
        id: `evt_${randomBytes(8).toString('hex')}`,
        idempotencyKey: `rot_${fingerprint.slice(4)}`,
        createdAt: new Date().toISOString(),
        finding: {
          fingerprint,
          ruleId: finding?.ruleId ?? 'openai-project-key',
          provider: 'OpenAI',
          redacted: finding?.redacted ?? '',
          firstSeen: new Date().toISOString(),
          locations: [{ kind: 'file', path: 'config.env', line: finding?.line ?? 2 }],
        },
        callback: { url: `${publicUrl}/v1/findings/${encodeURIComponent(fingerprint)}/rotated`, token: callbackToken },
      });
      const delivery = await fetch(receiver.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'keywarden-signature': signatureHeader(webhookSecret, body, Math.floor(Date.now() / 1000)),
          'idempotency-key': `rot_${fingerprint.slice(4)}`,
        },
        body,
      });
      mark(`rotation webhook delivered: ${delivery.status} ${await delivery.text()}`);
    }

    // --- the switch ------------------------------------------------------------------------------
    const deadline = Date.now() + (loop?.timeoutMs ?? 60_000);
    let switched = false;
    while (Date.now() < deadline && !completed) {
      if (!switched && app.secret.value !== key1.key) {
        switched = true;
        mark(
          `agent switched to key 2 (${shortHash(app.secret.value)}) with no restart; previous key kept for in-flight requests`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, opts.after ?? 1000));
    running = false;
    await Promise.all(load);

    // Stands in for `keywarden verify <fingerprint>`: the rule's liveness check against the provider.
    const check = await fetch(`${provider.url}/v1/models`, { headers: { authorization: `Bearer ${key1.key}` } });
    await check.body?.cancel();
    mark(`liveness check of key 1 (GET /v1/models): ${check.status} -> ${check.status === 401 ? 'revoked' : 'LIVE'}`);

    const newKey = app.secret.value;
    const byKey = { old: app.stats.byKey.get(shortHash(key1.key)) ?? 0, new: app.stats.byKey.get(shortHash(newKey)) ?? 0 };
    const result: DemoResult = {
      requests,
      failed,
      byKey,
      detected: finding ? { ruleId: finding.ruleId, fingerprint: finding.fingerprint } : null,
      callback,
      oldKeyLive: provider.isLive(key1.key),
      newKeyLive: provider.isLive(newKey),
      timeline,
      audit,
    };
    if (print) {
      console.log(
        `\nrequests ${requests}, failed ${failed}; answered with key 1: ${byKey.old}, with key 2: ${byKey.new}; ` +
          `provider refused ${provider.stats.refused}; key 1 live: ${result.oldKeyLive}, key 2 live: ${result.newKeyLive}`,
      );
    }
    await loop?.beforeClose?.();
    return result;
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string' },
      'refresh-interval': { type: 'string' },
      'revoke-delay': { type: 'string' },
      loop: { type: 'boolean' },
      'provider-port': { type: 'string' },
      'receiver-port': { type: 'string' },
    },
  });
  const env = process.env;
  if (values.loop && (env.KEYWARDEN_WEBHOOK_SECRET === undefined || env.KEYWARDEN_PUBLIC_URL === undefined)) {
    console.error(
      '--loop needs KEYWARDEN_WEBHOOK_SECRET and KEYWARDEN_PUBLIC_URL, the values keywarden serve and worker run with',
    );
    process.exit(2);
  }
  const r = await runDemo({
    ...(values.clients !== undefined && { clients: Number(values.clients) }),
    ...(values['refresh-interval'] !== undefined && { refreshInterval: Number(values['refresh-interval']) }),
    ...(values['revoke-delay'] !== undefined && { revokeDelay: Number(values['revoke-delay']) }),
    ...(values.loop && {
      loop: {
        webhookSecret: env.KEYWARDEN_WEBHOOK_SECRET!,
        publicUrl: env.KEYWARDEN_PUBLIC_URL!,
        ...(values['provider-port'] !== undefined && { providerPort: Number(values['provider-port']) }),
        ...(values['receiver-port'] !== undefined && { receiverPort: Number(values['receiver-port']) }),
      },
    }),
  });
  if (values.loop && r.detected)
    console.log(`now: keywarden findings show ${r.detected.fingerprint}   (and keywarden verify ${r.detected.fingerprint})`);
  const calledBack = values.loop ? r.audit.some((e) => e.event === 'rotation.completed') : r.callback?.revoked === true;
  const ok = r.failed === 0 && !r.oldKeyLive && r.newKeyLive && calledBack && r.byKey.new > 0;
  console.log(ok ? 'demo: OK' : 'demo: FAILED');
  process.exit(ok ? 0 : 1);
}
