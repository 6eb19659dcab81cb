// `keywarden/pino`: a pino transport that redacts every log line before it is written. It runs in
// pino's transport worker thread (pino.transport({ target: 'keywarden/pino' })), so rule compilation
// and scanning never block the application's event loop. An entry point: it reads the environment
// once, when pino starts it.
import { once } from 'node:events';
import pino from 'pino';
import build from 'pino-abstract-transport';
import { keywardenPaths } from '../config/paths.js';
import { builtinRules } from '../rules/builtin.js';
import { resolveFingerprintKey } from '../scanner/fingerprint.js';
import { redactLines } from '../scanner/redact-lines.js';
import { createRedactor } from '../scanner/redact-spans.js';

export interface KeywardenPinoOptions {
  /** A file descriptor or a file path. @defaultValue 1 (stdout) */
  destination?: number | string;
  /** Create the destination's directory. @defaultValue false */
  mkdir?: boolean;
  /**
   * Fingerprint key for the markers (16+ characters). @defaultValue `KEYWARDEN_FINGERPRINT_KEY`,
   * else the machine's key file, as `keywarden scan` resolves it.
   */
  fingerprintKey?: string;
  /** Stream name shown in markers' findings. @defaultValue `pino` */
  stream?: string;
}

/** pino's worker imports the default export and awaits the stream it returns. */
export default async function keywardenTransport(opts: KeywardenPinoOptions = {}) {
  const key = opts.fingerprintKey
    ? Buffer.from(opts.fingerprintKey, 'utf8')
    : resolveFingerprintKey(process.env, { configDir: keywardenPaths(process.env).configDir }).key;
  const redactor = createRedactor({ rules: await builtinRules(), fingerprintKey: key, stream: opts.stream ?? 'pino' });
  const dest = pino.destination({ dest: opts.destination ?? 1, sync: false, mkdir: opts.mkdir ?? false });
  await once(dest, 'ready');

  return build(
    async (source) => {
      for await (const first of source) {
        // Whatever else is already buffered joins this batch: one engine pass for many lines.
        const lines: string[] = [first as string];
        for (let next = source.read(); next !== null; next = source.read()) lines.push(next as string);
        const { out } = redactLines(redactor, Buffer.from(`${lines.join('\n')}\n`, 'utf8'), true);
        if (!dest.write(out.toString('utf8'))) await once(dest, 'drain');
      }
    },
    {
      parse: 'lines',
      close: async () => {
        dest.end();
        await once(dest, 'close');
      },
    },
  );
}
