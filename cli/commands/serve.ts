// `keywarden serve`: the HTTP API (api/server.ts) over REDIS_URL, and the nightly schedule synced into
// BullMQ job schedulers at start-up. Settings are read once here: flags, then KEYWARDEN_API_* env.
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { createApiServer } from '../../api/server.js';
import { createLogger, LOG_LEVEL_ENV, LOG_LEVELS } from '../../logging/logger.js';
import { KeywardenError } from '../../scanner/errors.js';
import { JobQueues } from '../../workers/queue.js';
import { createRedis, safeRedisUrl, serviceConfigFromEnv } from '../../workers/redis.js';
import { loadSchedule, syncSchedules } from '../../workers/scheduler.js';

interface ServeFlags {
  host: string;
  port: number;
  schedule?: string;
  logLevel: string;
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
    .action(async (flags: ServeFlags) => {
      const cfg = serviceConfigFromEnv(process.env);
      const token = process.env.KEYWARDEN_API_TOKEN;
      const schedule = await loadSchedule(process.cwd(), flags.schedule !== undefined ? resolve(flags.schedule) : undefined);

      const server = await createApiServer({
        redisUrl: cfg.redisUrl,
        prefix: cfg.prefix,
        token,
        schedule,
        // Secrets censored by path (Authorization and friends); requests logged without query strings.
        loggerInstance: createLogger({ name: 'api', level: flags.logLevel }),
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
