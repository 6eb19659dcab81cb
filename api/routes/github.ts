// GitHub secret scanning alerts in: `POST /v1/github/webhook` takes `secret_scanning_alert` events
// (verified with KEYWARDEN_GITHUB_WEBHOOK_SECRET by @octokit/webhooks over the raw bytes), reads the
// alert's secret and locations through the GitHub API, records it as a finding with its locations and
// hands it to the same loop as any scan. When the key is confirmed revoked the worker resolves the
// alert (workers/processors/confirm-revocation.ts). A forged or unsigned delivery changes nothing and
// is audited (the service audit stream; no finding to hang it on).
import { Webhooks } from '@octokit/webhooks';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sendError } from '../../http/errors.js';
import { errorResponses, json } from '../../http/schemas.js';
import type { CompiledPack } from '../../scanner/engine/compile.js';
import { alertFinding } from '../../workers/github-alerts.js';
import type { Loop } from '../../workers/loop.js';
import { handOver } from '../../workers/loop-actions.js';
import { BODY_ERRORS, GitHubPong, GitHubWebhookBody, GitHubWebhookResult, GUARDED_ERRORS } from '../schemas.js';

export const GITHUB_WEBHOOK_PATH = '/v1/github/webhook';

/** Actions that mean "this secret is leaked and open"; the others (resolved, validated) are acknowledged only. */
const OPEN_ACTIONS = new Set(['created', 'reopened', 'publicly_leaked']);

/** What keywarden reads of the event body; the rest is GitHub's. */
const AlertEvent = z.object({
  action: z.string(),
  alert: z.object({ number: z.number().int().min(1), html_url: z.string().optional() }).passthrough(),
  repository: z
    .object({ full_name: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/), html_url: z.string().optional() })
    .passthrough(),
});

export interface GitHubRouteOptions {
  loop: Loop;
  /** KEYWARDEN_GITHUB_WEBHOOK_SECRET. */
  webhookSecret: string;
  /** The rule pack the alert's secret is recognised with (the workers' pack: same fingerprints). */
  pack: CompiledPack;
  fingerprintKey: Buffer;
  /** `GITHUB_API_URL`: names the host of repositories when the event does not. */
  apiUrl: string;
}

/** `api.github.com` -> `github.com`; an Enterprise Server API URL names its own host. */
function hostOf(apiUrl: string, repoUrl: string | undefined): string {
  try {
    if (repoUrl) return new URL(repoUrl).host;
  } catch {
    // fall through
  }
  const host = new URL(apiUrl).host;
  return host === 'api.github.com' ? 'github.com' : host;
}

export async function registerGitHubRoutes(app: FastifyInstance, opts: GitHubRouteOptions): Promise<void> {
  const webhooks = new Webhooks({ secret: opts.webhookSecret });
  const { loop } = opts;
  await app.register(async (scope) => {
    // The signature covers the bytes GitHub sent: parse only after verifying them.
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post(
      GITHUB_WEBHOOK_PATH,
      {
        config: {
          ownToken: true,
          openapi: { security: [{ githubSignature: [] }], body: { 'application/json': GitHubWebhookBody } },
        },
        schema: {
          operationId: 'receiveGitHubWebhook',
          summary: 'GitHub secret scanning alerts in: the alert’s secret becomes a finding and enters the rotation loop',
          response: {
            200: json('A `ping` event.', GitHubPong),
            202: json('Recorded (the loop runs), or acknowledged and ignored.', GitHubWebhookResult),
            ...errorResponses({
              KW_WEBHOOK_REJECTED: 'X-Hub-Signature-256 missing or wrong (audited in the service audit stream).',
              ...BODY_ERRORS,
              KW_REQUEST_INVALID: 'not a secret_scanning_alert event body.',
              KW_CONFIG_INVALID: 'KEYWARDEN_GITHUB_TOKEN is not set.',
              KW_PROVIDER_UNAVAILABLE: 'the GitHub API did not answer (GitHub shows the delivery failed; redeliver it).',
              KW_REDIS: GUARDED_ERRORS.KW_REDIS,
              KW_INTERNAL: GUARDED_ERRORS.KW_INTERNAL,
            }),
          },
        },
      },
      async (req, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const signature = req.headers['x-hub-signature-256'];
        const delivery = String(req.headers['x-github-delivery'] ?? '').slice(0, 80);
        const event = String(req.headers['x-github-event'] ?? '');
        const ok =
          typeof signature === 'string' &&
          signature !== '' &&
          (await webhooks.verify(raw.toString('utf8'), signature).catch(() => false));
        if (!ok) {
          await loop.store.serviceNote('github_webhook_rejected', {
            actor: `github:${delivery || 'unknown delivery'}`,
            reason: `${event || 'unknown'} event rejected: ${typeof signature === 'string' && signature !== '' ? 'X-Hub-Signature-256 does not verify' : 'no X-Hub-Signature-256'} (from ${req.ip})`,
          });
          return sendError(reply, 'KW_WEBHOOK_REJECTED', 'X-Hub-Signature-256 missing or wrong');
        }
        if (event === 'ping') return { status: 'pong' };
        if (event !== 'secret_scanning_alert') return reply.code(202).send({ status: 'ignored', event });
        let json: unknown;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch {
          return sendError(reply, 'KW_JSON_INVALID', 'the event body is not JSON');
        }
        const parsed = AlertEvent.safeParse(json);
        if (!parsed.success) return sendError(reply, 'KW_REQUEST_INVALID', 'not a secret_scanning_alert event body');
        const { action, alert, repository } = parsed.data;
        if (!OPEN_ACTIONS.has(action)) return reply.code(202).send({ status: 'ignored', action });
        if (!loop.github) return sendError(reply, 'KW_CONFIG_INVALID', 'KEYWARDEN_GITHUB_TOKEN is not set');

        // Fetched from GitHub, not taken from the event: the secret is only in the API's answer.
        const details = await loop.github.fetch(repository.full_name, alert.number);
        const finding = alertFinding(details, {
          pack: opts.pack,
          fingerprintKey: opts.fingerprintKey,
          host: hostOf(opts.apiUrl, repository.html_url),
        });
        const actor = `github:${delivery || 'delivery'}`;
        const recorded = await loop.store.record([finding], { actor });
        await loop.rotation.linkAlert(finding.fingerprint, {
          repository: repository.full_name,
          number: alert.number,
          url: details.url || alert.html_url || '',
        });
        const handed = await handOver(loop, [finding]);
        return reply.code(202).send({
          status: 'recorded',
          fingerprint: finding.fingerprint,
          ruleId: finding.ruleId,
          newFinding: recorded.newFindings === 1,
          locations: finding.occurrences.length,
          loop: handed > 0 ? 'started' : 'already running',
        });
      },
    );
  });
}
