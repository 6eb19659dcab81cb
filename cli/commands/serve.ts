// `keywarden serve`: the HTTP API (api/server.ts) over REDIS_URL, the nightly schedule synced into
// BullMQ job schedulers at start-up, and with --intake the log-shipper intake at /v1/intake. Settings
// are built once here (config/service.ts): flags over KEYWARDEN_API_* / KEYWARDEN_INTAKE_* env over
// the `api:` / `intake:` sections of ./.keywarden.yaml.
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { type ApiIntakeOptions, createApiServer, INTAKE_PREFIX } from '../../api/server.js';
import { FINGERPRINT_KEY_ENV } from '../../config/fingerprint.js';
import { LOG_LEVELS } from '../../config/log.js';
import type { Environment } from '../../config/section.js';
import { type FlagSetting, loadServiceConfig, type ServiceConfig } from '../../config/service.js';
import { TOKEN_HINT } from '../../config/tokens.js';
import { createLogger } from '../../logging/logger.js';
import { configFromDocument, resolveRules } from '../../scanner/config.js';
import { compilePack } from '../../scanner/engine/compile.js';
import { createRedactor } from '../../scanner/redact-spans.js';
import { JobQueues } from '../../workers/queue.js';
import { createRedis, safeRedisUrl } from '../../workers/redis.js';
import { loadSchedule, scheduleFromDocument, syncSchedules } from '../../workers/scheduler.js';
import { serviceFingerprintKey, serviceStartup } from '../startup.js';
import { loopOptions, rotationStartupWarnings } from './rotation.js';

/** The flags of `serve`; each one left out falls back to its environment variable, the config file, the default. */
export interface ServeFlags {
  host?: string;
  port?: number | string;
  schedule?: string;
  logLevel?: string;
  intake?: boolean;
  intakeSpool?: string;
  intakeDownstream?: string;
  intakeBodyLimit?: string;
}

/** The flags as service settings, named as typed (`--port`) in messages. */
function flagSettings(flags: ServeFlags): Record<string, FlagSetting | undefined> {
  const set = (value: unknown, name: string): FlagSetting | undefined => (value === undefined ? undefined : { value, name });
  return {
    'api.host': set(flags.host, '--host'),
    'api.port': set(flags.port, '--port'),
    'log.level': set(flags.logLevel, '--log-level'),
    'intake.enabled': set(flags.intake === true ? true : undefined, '--intake'),
    'intake.spoolDir': set(flags.intakeSpool, '--intake-spool'),
    'intake.downstreamUrl': set(flags.intakeDownstream || undefined, '--intake-downstream'),
    'intake.bodyLimit': set(flags.intakeBodyLimit, '--intake-body-limit'),
  };
}

/** The intake's settings, or null when it is off. */
export interface IntakeSettings {
  token: string;
  spoolDir: string;
  downstreamUrl?: string;
  bodyLimit: number;
}

function intakeOf(cfg: ServiceConfig): IntakeSettings | null {
  const i = cfg.intake;
  if (!i.enabled || i.token === undefined) return null;
  return {
    token: i.token,
    spoolDir: i.spoolDir,
    ...(i.downstreamUrl ? { downstreamUrl: i.downstreamUrl } : {}),
    bodyLimit: i.bodyLimit,
  };
}

/**
 * `--intake` or KEYWARDEN_INTAKE=1 turns the intake on (`0`, `false` or unset is off). Its token is
 * KEYWARDEN_INTAKE_TOKEN, never the API's. Everything is checked here, before any connection.
 */
export function intakeSettings(flags: ServeFlags, env: Environment): IntakeSettings | null {
  return intakeOf(loadServiceConfig({ env, flags: flagSettings(flags) }));
}

function log(entry: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}

export function registerServeCommand(program: Command, setExit: (code: number) => void, env: Environment): void {
  program
    .command('serve')
    .description('run the HTTP API (needs KEYWARDEN_API_TOKEN; REDIS_URL as for workers) until SIGTERM')
    .option('--host <addr>', 'address to listen on, or KEYWARDEN_API_HOST (default: 127.0.0.1, loopback)')
    .option('--port <n>', 'TCP port, or KEYWARDEN_API_PORT (default: 8787)')
    .option(
      '--schedule <file>',
      'nightly scans: a YAML file with `schedule: {cron, timezone, repos}` (default: the `schedule` section of ./.keywarden.yaml, if any)',
    )
    .addOption(
      new Option('--log-level <level>', 'request log level (stderr, JSON), or KEYWARDEN_LOG_LEVEL (default: info)').choices(
        LOG_LEVELS,
      ),
    )
    .option(
      '--intake',
      `also take log-shipper batches (Fluent Bit, Vector) at ${INTAKE_PREFIX}, findings into the store; or KEYWARDEN_INTAKE=1 (token: KEYWARDEN_INTAKE_TOKEN)`,
    )
    .option(
      '--intake-spool <dir>',
      'redacted batches not yet delivered downstream, or KEYWARDEN_INTAKE_SPOOL (default: $XDG_STATE_HOME/keywarden/intake-spool)',
    )
    .option(
      '--intake-downstream <url>',
      'forward redacted batches here (POST), or KEYWARDEN_INTAKE_DOWNSTREAM; without it they stay in the spool',
    )
    .option(
      '--intake-body-limit <size>',
      'largest batch, after gzip decompression too, or KEYWARDEN_INTAKE_BODY_LIMIT (default: 10MiB)',
    )
    .action(async (flags: ServeFlags) => {
      // One read of ./.keywarden.yaml: its service sections, its `schedule:`, and (for the intake) its scan settings.
      const { config: cfg, document } = await serviceStartup(env, {
        flags: flagSettings(flags),
        require: { 'api.token': { why: 'the server refuses to start without a token', hint: TOKEN_HINT } },
      });
      const intakeCfg = intakeOf(cfg);
      const schedule =
        flags.schedule !== undefined ? await loadSchedule(resolve(flags.schedule)) : scheduleFromDocument(document);

      let intake: ApiIntakeOptions | undefined;
      if (intakeCfg) {
        // The same rules and key as the workers (built-in pack + ./.keywarden.yaml, KEYWARDEN_FINGERPRINT_KEY),
        // so a secret arriving by the intake and by a scan-log-batch job is one finding.
        const fk = serviceFingerprintKey(cfg);
        if (fk.origin !== 'env') {
          log({
            event: 'fingerprint-key-local',
            message: `${FINGERPRINT_KEY_ENV} is not set: intake fingerprints differ from other machines', so one secret may become several findings`,
          });
        }
        const config = await configFromDocument(document);
        const rules = await resolveRules(config);
        intake = {
          ...intakeCfg,
          // With a vault key, findings keep their raw secret in memory, for the rotation loop's vault only.
          redactor: {
            ...createRedactor({ rules, globalAllow: config.allowlist, fingerprintKey: fk.key, stream: 'intake' }),
            showSecrets: cfg.rotation.rawSecrets.kept,
          },
          // One line per batch (kind, bytes, finding count), never its content.
          logger: createLogger({ name: 'intake', level: cfg.log.level }),
        };
      }

      // The rotation loop's routes use the workers' rules and fingerprint key (a GitHub alert's secret is
      // fingerprinted as a scan of it would be); start-up says what the rotation settings leave out.
      const loopConfig = await configFromDocument(document);
      const loopRules = await resolveRules(loopConfig);
      for (const w of rotationStartupWarnings(cfg, loopRules)) log({ event: 'rotation-settings', message: w });
      const github = cfg.github.webhookSecret
        ? {
            webhookSecret: cfg.github.webhookSecret,
            pack: compilePack(loopRules, loopConfig.allowlist),
            fingerprintKey: serviceFingerprintKey(cfg).key,
            apiUrl: cfg.github.apiUrl,
          }
        : undefined;
      const server = await createApiServer({
        redisUrl: cfg.redis.url,
        prefix: cfg.redis.prefix,
        token: cfg.api.token,
        schedule,
        // Secrets censored by path (Authorization and friends); requests logged without query strings.
        loggerInstance: createLogger({ name: 'api', level: cfg.log.level }),
        ...(intake ? { intake } : {}),
        loop: loopOptions(cfg, loopRules),
        ...(github ? { github } : {}),
      });
      if (schedule) {
        // A schedule that cannot be written (Redis down, bad cron) is reported, and the API serves regardless.
        const redis = createRedis(cfg.redis.url, { maxRetriesPerRequest: 3 });
        const queues = new JobQueues(redis, cfg.redis.prefix);
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
      const url = await server.listen(cfg.api.host, cfg.api.port);
      log({
        event: 'listening',
        url,
        redis: safeRedisUrl(cfg.redis.url),
        schedule: schedule ? `${schedule.repos.length} repositories` : 'none',
        intake: intakeCfg ? `${url}${INTAKE_PREFIX}` : 'off',
        callbacks: `${cfg.rotation.publicUrl}/v1/findings/<fingerprint>/rotated`,
        githubWebhook: github ? `${url}/v1/github/webhook` : 'off',
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
