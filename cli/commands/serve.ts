// `keywarden serve`: the HTTP API (api/server.ts) over REDIS_URL, the nightly schedule synced into
// BullMQ job schedulers at start-up, and with --intake the log-shipper intake at /v1/intake. Settings
// are read once here: flags, then KEYWARDEN_API_* / KEYWARDEN_INTAKE_* env.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { type ApiIntakeOptions, createApiServer, INTAKE_PREFIX } from '../../api/server.js';
import { KeywardenError } from '../../errors/error.js';
import { createLogger, LOG_LEVEL_ENV, LOG_LEVELS } from '../../logging/logger.js';
import { loadConfig, resolveRules } from '../../scanner/config.js';
import { FINGERPRINT_KEY_ENV, resolveFingerprintKey } from '../../scanner/fingerprint.js';
import { createRedactor } from '../../scanner/redact-stream.js';
import { JobQueues } from '../../workers/queue.js';
import { createRedis, safeRedisUrl, serviceConfigFromEnv } from '../../workers/redis.js';
import { loadSchedule, syncSchedules } from '../../workers/scheduler.js';
import { xdgDir } from '../report-options.js';
import { parseSize } from './scan.js';

export interface ServeFlags {
  host: string;
  port: number;
  schedule?: string;
  logLevel: string;
  intake?: boolean;
  intakeSpool?: string;
  intakeDownstream?: string;
  intakeBodyLimit: string;
}

/** Where the intake mounted in `serve` spools by default: state that must survive restarts. */
export function defaultIntakeSpool(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'keywarden', 'intake-spool');
}

/** The intake's settings, or null when it is off. Everything is checked here, before any connection. */
export interface IntakeSettings {
  token: string;
  spoolDir: string;
  downstreamUrl?: string;
  bodyLimit: number;
}

/**
 * `--intake` or KEYWARDEN_INTAKE=1 turns the intake on (commander would take any value of the variable,
 * `0` included, as on: it is read here). Its token is KEYWARDEN_INTAKE_TOKEN, never the API's.
 */
export function intakeSettings(flags: ServeFlags, env: NodeJS.ProcessEnv): IntakeSettings | null {
  const fromEnv = /^(1|true|yes|on)$/i.test(env.KEYWARDEN_INTAKE ?? '');
  if (flags.intake !== true && !fromEnv) return null;
  const token = env.KEYWARDEN_INTAKE_TOKEN;
  if (token === undefined || token === '') {
    throw new KeywardenError(
      'KW_CONFIG_INVALID',
      'KEYWARDEN_INTAKE_TOKEN is not set; `serve --intake` needs a token of its own for log shippers',
      ['it must differ from KEYWARDEN_API_TOKEN: every shipper host holds it'],
    );
  }
  let downstreamUrl: string | undefined;
  if (flags.intakeDownstream !== undefined && flags.intakeDownstream !== '') {
    let u: URL | null = null;
    try {
      u = new URL(flags.intakeDownstream);
    } catch {
      // reported below
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:'))
      throw new KeywardenError('KW_USAGE', '--intake-downstream must be an http:// or https:// URL');
    downstreamUrl = u.toString();
  }
  return {
    token,
    spoolDir: resolve(flags.intakeSpool || defaultIntakeSpool(env)),
    ...(downstreamUrl ? { downstreamUrl } : {}),
    bodyLimit: parseSize(flags.intakeBodyLimit, '--intake-body-limit'),
  };
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new KeywardenError('KW_USAGE', `--port must be 0..65535; got ${JSON.stringify(v)}`);
  return n;
}

function log(entry: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}

export function registerServeCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('run the HTTP API (needs KEYWARDEN_API_TOKEN; REDIS_URL as for workers) until SIGTERM')
    .addOption(
      new Option('--host <addr>', 'address to listen on; loopback unless you say otherwise')
        .env('KEYWARDEN_API_HOST')
        .default('127.0.0.1'),
    )
    .addOption(new Option('--port <n>', 'TCP port').env('KEYWARDEN_API_PORT').argParser(port).default(8787))
    .option(
      '--schedule <file>',
      'nightly scans: a YAML file with `schedule: {cron, timezone, repos}` (default: the `schedule` section of ./.keywarden.yaml, if any)',
    )
    .addOption(
      new Option('--log-level <level>', 'request log level (stderr, JSON)')
        .choices(LOG_LEVELS)
        .env(LOG_LEVEL_ENV)
        .default('info'),
    )
    .option(
      '--intake',
      `also take log-shipper batches (Fluent Bit, Vector) at ${INTAKE_PREFIX}, findings into the store; or KEYWARDEN_INTAKE=1 (token: KEYWARDEN_INTAKE_TOKEN)`,
    )
    .addOption(
      new Option(
        '--intake-spool <dir>',
        'redacted batches not yet delivered downstream (default: $XDG_STATE_HOME/keywarden/intake-spool)',
      ).env('KEYWARDEN_INTAKE_SPOOL'),
    )
    .addOption(
      new Option('--intake-downstream <url>', 'forward redacted batches here (POST); without it they stay in the spool').env(
        'KEYWARDEN_INTAKE_DOWNSTREAM',
      ),
    )
    .addOption(
      new Option('--intake-body-limit <size>', 'largest batch, after gzip decompression too')
        .env('KEYWARDEN_INTAKE_BODY_LIMIT')
        .default('10MiB'),
    )
    .action(async (flags: ServeFlags) => {
      const cfg = serviceConfigFromEnv(process.env);
      const token = process.env.KEYWARDEN_API_TOKEN;
      const intakeCfg = intakeSettings(flags, process.env);
      const schedule = await loadSchedule(process.cwd(), flags.schedule !== undefined ? resolve(flags.schedule) : undefined);

      let intake: ApiIntakeOptions | undefined;
      if (intakeCfg) {
        // The same rules and key as the workers (built-in pack + ./.keywarden.yaml, KEYWARDEN_FINGERPRINT_KEY),
        // so a secret arriving by the intake and by a scan-log-batch job is one finding.
        const fk = resolveFingerprintKey(process.env, { configDir: xdgDir('XDG_CONFIG_HOME', '.config') });
        if (fk.origin !== 'env') {
          log({
            event: 'fingerprint-key-local',
            message: `${FINGERPRINT_KEY_ENV} is not set: intake fingerprints differ from other machines', so one secret may become several findings`,
          });
        }
        const config = await loadConfig(process.cwd());
        const rules = await resolveRules(config);
        intake = {
          ...intakeCfg,
          redactor: createRedactor({ rules, globalAllow: config.allowlist, fingerprintKey: fk.key, stream: 'intake' }),
          // One line per batch (kind, bytes, finding count), never its content.
          logger: createLogger({ name: 'intake', level: flags.logLevel }),
        };
      }

      const server = await createApiServer({
        redisUrl: cfg.redisUrl,
        prefix: cfg.prefix,
        token,
        schedule,
        // Secrets censored by path (Authorization and friends); requests logged without query strings.
        loggerInstance: createLogger({ name: 'api', level: flags.logLevel }),
        ...(intake ? { intake } : {}),
      });
      if (schedule) {
        // A schedule that cannot be written (Redis down, bad cron) is reported, and the API serves regardless.
        const redis = createRedis(cfg.redisUrl, { maxRetriesPerRequest: 3 });
        const queues = new JobQueues(redis, cfg.prefix);
        try {
          const report = await syncSchedules(queues.queue('scan-history'), schedule);
          log({ event: 'schedule', file: schedule.file, ...report });
        } catch (err) {
          log({ event: 'schedule-failed', file: schedule.file, error: err instanceof Error ? err.message : String(err) });
        } finally {
          await queues.close();
          redis.disconnect();
        }
      }
      const url = await server.listen(flags.host, flags.port);
      log({
        event: 'listening',
        url,
        redis: safeRedisUrl(cfg.redisUrl),
        schedule: schedule ? `${schedule.repos.length} repositories` : 'none',
        intake: intakeCfg ? `${url}${INTAKE_PREFIX}` : 'off',
        ...(intakeCfg ? { intakeSpool: intakeCfg.spoolDir, intakeSpooled: server.intake?.spool.length ?? 0 } : {}),
      });

      await new Promise<void>((done) => {
        const stop = (signal: string) => {
          log({ event: 'stopping', signal });
          done();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      await server.close();
      setExit(0);
    });
}
