// `keywarden redact`: stdin → stdout log filter (plain lines or NDJSON), findings to a side file.
// `keywarden intake`: the HTTP intake for log shippers (intake/server.ts). Both are entry points:
// they resolve config, rules and the fingerprint key once, then hand off to the pure parts.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { type ConfigDocument, loadConfigDocument } from '../../config/file.js';
import type { Environment } from '../../config/section.js';
import type { ServiceConfig } from '../../config/service.js';
import { KeywardenError } from '../../errors/error.js';
import { startIntake } from '../../intake/server.js';
import { createLogger } from '../../logging/logger.js';
import type { Finding } from '../../model/finding.js';
import { configFromDocument, resolveRules } from '../../scanner/config.js';
import { createRedactor, type Redactor } from '../../scanner/redact-spans.js';
import { DEFAULT_MAX_LINE_LENGTH, RedactTransform } from '../../scanner/redact-stream.js';
import { reportEntries } from '../../scanner/reporters/entries.js';
import { fingerprintKeyFor, serviceFingerprintKey, serviceStartup } from '../startup.js';
import { parseSize } from './scan.js';

interface RedactFlags {
  json?: boolean;
  findings?: string;
  record?: boolean;
  config?: string;
  maxLineLength?: string;
  stream?: string;
}

interface IntakeFlags {
  config?: string;
  host: string;
  port: string;
  downstream?: string;
  spool: string;
  findings?: string;
  tokenEnv: string;
  bodyLimit: string;
}

/** Rules, allowlist and key exactly as `keywarden scan` resolves them, so markers match scan fingerprints. */
async function buildRedactor(document: ConfigDocument | null, key: Buffer, stream: string): Promise<Redactor> {
  const config = await configFromDocument(document);
  const rules = await resolveRules(config);
  return createRedactor({ rules, globalAllow: config.allowlist, fingerprintKey: key, stream });
}

/**
 * `--record`: findings into the finding store in the background (workers/finding-recorder.ts), keyed
 * by stream line within this run. Loaded only with the flag: it brings the Redis client.
 */
async function storeRecorder(
  stream: string,
  cfg: ServiceConfig,
): Promise<{ add: (f: Finding) => void; close: () => Promise<number> }> {
  const [{ createRedis, safeRedisUrl }, { FindingStore }, { FindingRecorder }, { logBatchFindings }] = await Promise.all([
    import('../../workers/redis.js'),
    import('../../workers/store.js'),
    import('../../workers/finding-recorder.js'),
    import('../../workers/log-occurrences.js'),
  ]);
  // Fail each attempt fast while Redis is away; the recorder retries (the stream does not wait).
  const redis = createRedis(cfg.redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', () => {}); // reported once, at close, with the count
  const actor = `redact:${hostname()}:${process.pid}`;
  const recorder = new FindingRecorder(new FindingStore(redis, cfg.redis.prefix), { actor });
  const run = `${Date.now().toString(36)}:${process.pid}`;
  return {
    add: (f) => recorder.add(logBatchFindings([f], { stream, body: Buffer.alloc(0), firstLine: 1, run })),
    close: async () => {
      const r = await recorder.close(5000);
      redis.disconnect();
      if (r.unrecorded > 0) {
        process.stderr.write(
          `keywarden: ${r.unrecorded} finding occurrence(s) could not be recorded in the finding store at ${safeRedisUrl(cfg.redis.url)}` +
            `${r.lastError ? ` (${r.lastError})` : ''}; every line was still redacted${r.recorded > 0 ? `; ${r.recorded} recorded` : ''}\n`,
        );
      }
      return r.unrecorded;
    },
  };
}

/** Appends JSONL to a file; a write error fails the command (findings must not vanish silently). */
function findingsSink(path: string | undefined): { write: (obj: unknown) => void; close: () => Promise<void> } {
  if (!path) return { write: () => {}, close: async () => {} };
  const out: WriteStream = createWriteStream(path, { flags: 'a' });
  let failed: Error | null = null;
  out.on('error', (err) => {
    failed = err;
  });
  return {
    write: (obj) => {
      out.write(`${JSON.stringify(obj)}\n`);
    },
    close: () =>
      new Promise((res, rej) => {
        out.end(() => (failed ? rej(failed) : res()));
      }),
  };
}

export function registerRedactCommand(program: Command, setExit: (code: number) => void, env: Environment): void {
  program
    .command('redact')
    .description('redact secrets in a log stream: stdin to stdout, one line out per line in')
    .option('--json', 'input is NDJSON: redact inside string values, keep every line valid JSON')
    .option('--findings <file>', 'append findings (redacted, JSONL) to this file; never to stdout')
    .option('-c, --config <file>', 'config file (default: .keywarden.yaml in the working directory)')
    .option('--max-line-length <size>', 'longer lines are redacted as plain text in pieces of this size (default 1MiB)')
    .option('--stream <name>', 'stream name recorded in findings', '-')
    .option(
      '--record',
      'also record findings in the finding store (REDIS_URL, KEYWARDEN_PREFIX, as `serve` and workers); the stream never waits on Redis',
    )
    .action(async (flags: RedactFlags) => {
      const maxLineLength = flags.maxLineLength ? parseSize(flags.maxLineLength, '--max-line-length') : DEFAULT_MAX_LINE_LENGTH;
      if (maxLineLength < 1024) throw new KeywardenError('KW_USAGE', '--max-line-length must be at least 1KiB');
      // The config file, read once: scan settings for the redactor, service sections for --record.
      const { config: cfg, document } = flags.record
        ? await serviceStartup(env, { root: resolve('.'), ...(flags.config ? { configPath: flags.config } : {}) })
        : { config: null, document: await loadConfigDocument(resolve('.'), flags.config) };
      const redactor = await buildRedactor(document, fingerprintKeyFor(env), flags.stream ?? '-');
      const sink = findingsSink(flags.findings);
      const recorder = cfg ? await storeRecorder(flags.stream ?? '-', cfg) : null;
      const transform = new RedactTransform(redactor, {
        json: flags.json === true,
        maxLineLength,
        onFinding: (f) => {
          // One JSON line per occurrence, as `--format jsonl` writes them.
          for (const entry of reportEntries([f], 'finding')) sink.write(entry);
          recorder?.add(f);
        },
      });
      // 1 MiB reads: fewer, larger batches for the engine (a pipe still hands over what it has).
      const input = createReadStream('', { fd: 0, highWaterMark: 1 << 20 });
      try {
        await pipeline(input, transform, process.stdout);
      } catch (err) {
        // The reader went away (`| head`): not an error of ours.
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
      }
      await sink.close();
      const unrecorded = recorder ? await recorder.close() : 0;
      // A filter succeeds whether or not it found anything: exit 0 keeps shippers (omprog) running.
      // Findings it could not record are a failure, said once, after every line has gone through.
      setExit(unrecorded > 0 ? 2 : 0);
    });

  program
    .command('intake')
    .description('HTTP intake for log shippers (Fluent Bit http output, Vector http sink): redact, report, forward')
    .option('-c, --config <file>', 'config file (default: .keywarden.yaml in the working directory)')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on', '8686')
    .option('--downstream <url>', 'forward redacted batches here (POST); without it batches stay in the spool')
    .option('--spool <dir>', 'directory for batches not yet delivered', './keywarden-spool')
    .option('--findings <file>', 'append findings (JSONL) to this file')
    .option('--token-env <name>', 'environment variable holding the bearer token', 'KEYWARDEN_INTAKE_TOKEN')
    .option('--body-limit <size>', 'largest accepted request body', '10MiB')
    .action(async (flags: IntakeFlags) => {
      const port = Number.parseInt(flags.port, 10);
      if (!(port >= 0 && port < 65536)) throw new KeywardenError('KW_USAGE', `--port must be 0..65535; got ${flags.port}`);
      const { config: cfg, document } = await serviceStartup(env, {
        root: resolve('.'),
        ...(flags.config ? { configPath: flags.config } : {}),
      });
      const redactor = await buildRedactor(document, serviceFingerprintKey(cfg).key, 'intake');
      const intake = await startIntake({
        redactor,
        host: flags.host,
        port,
        // Checked by startIntake (http/auth.ts, as the API's token): 16+ characters, no whitespace.
        token: env[flags.tokenEnv] ?? '',
        tokenName: flags.tokenEnv,
        spoolDir: resolve(flags.spool),
        ...(flags.downstream ? { downstreamUrl: flags.downstream } : {}),
        ...(flags.findings ? { findingsFile: resolve(flags.findings) } : {}),
        bodyLimit: parseSize(flags.bodyLimit, '--body-limit'),
        // JSON lines on stderr, level from KEYWARDEN_LOG_LEVEL; one per batch, never its content.
        logger: createLogger({ name: 'intake', level: cfg.log.level }),
      });
      process.stderr.write(`keywarden intake listening on ${intake.url}\n`);
      await new Promise<void>((res) => {
        const stop = () => {
          void intake.close().then(res);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      setExit(0);
    });
}
