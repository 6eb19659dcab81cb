// Every response any in-process fastify server sends during the tests is checked against the API's
// OpenAPI document (test/helpers/openapi.ts); a mismatch fails the test that caused it. fastify
// announces each new instance on the `fastify.initialization` diagnostics channel, before any route
// or hook of its own, so the check reaches every server without the code under test knowing.
// Instances without the document (the standalone `keywarden intake`) are held to their routes' zod
// schemas, the ones the document is generated from; an instance with neither (an app's own server, as
// in the runtime's tests) has nothing to be held to.
import { subscribe } from 'node:diagnostics_channel';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { afterAll, afterEach } from 'vitest';
import type { z } from 'zod';
import type { ResponseSpec } from '../../http/schemas.js';

const problems: string[] = [];
let checked = 0;

/** Responses checked so far in this test file (a test asserts the check is in place). */
export function checkedResponses(): number {
  return checked;
}

function headersOf(reply: FastifyReply): Record<string, string | string[] | number | undefined> {
  return reply.getHeaders() as Record<string, string | string[] | number | undefined>;
}

/** The route's zod schema for this status and media type, for instances that serve no document. */
function zodProblems(req: FastifyRequest, reply: FastifyReply, body: string): string[] {
  const where = `${req.method} ${req.url} → ${reply.statusCode}`;
  const responses = req.routeOptions.schema?.response as Record<string, ResponseSpec> | undefined;
  if (!responses) return [];
  const spec = responses[String(reply.statusCode)];
  if (!spec) return [`${where}: status ${reply.statusCode} is not declared by the route`];
  const mt = String(reply.getHeader('content-type') ?? '')
    .split(';')[0]!
    .trim();
  const schema = spec.content[mt]?.schema as z.ZodType | undefined;
  if (!schema) return [`${where}: content-type ${mt} is not declared by the route`];
  const r = schema.safeParse(mt.endsWith('json') ? JSON.parse(body) : body);
  return r.success ? [] : r.error.issues.map((i) => `${where}: ${i.path.join('.')}: ${i.message}`);
}

async function checkResponse(req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> {
  if (req.method === 'HEAD') return;
  // Child scopes (the intake's) see the root's decorators, the document among them.
  const server = req.server;
  const documented = typeof (server as Partial<FastifyInstance>).swagger === 'function';
  // Neither a document nor response schemas: not one of keywarden's servers but an app's own (the
  // runtime's output guard is tested inside one), with nothing to hold its responses to.
  if (!documented && !req.routeOptions.schema?.response) return;
  const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
  if (body === null) {
    problems.push(`${req.method} ${req.url}: a streamed body cannot be checked`);
    return;
  }
  checked++;
  if (!documented) {
    problems.push(...zodProblems(req, reply, body));
    return;
  }
  // Loaded on the first response: most test files start no server and need no ajv.
  const { responseProblems } = await import('../helpers/openapi.js');
  const route = req.routeOptions.url;
  const operationPath = route === undefined ? null : (req.routeOptions.config.openapi?.url ?? route.replace(/:(\w+)/g, '{$1}'));
  problems.push(
    ...responseProblems(server.swagger(), {
      method: req.method,
      path: req.url.split('?')[0]!,
      operationPath,
      status: reply.statusCode,
      headers: headersOf(reply),
      body,
    }),
  );
}

async function check(req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> {
  try {
    await checkResponse(req, reply, payload);
  } catch (err) {
    problems.push(`${req.method} ${req.url}: the check itself failed: ${(err as Error).stack ?? String(err)}`);
  }
}

// One subscription per process; each test file's copy of this module takes the reports.
const hook = Symbol.for('keywarden.test.api-responses');
const g = globalThis as { [hook]?: { check: typeof check } };
if (!g[hook]) {
  const holder = { check };
  g[hook] = holder;
  subscribe('fastify.initialization', (message) => {
    const app = (message as { fastify: FastifyInstance }).fastify;
    app.addHook('onSend', async (req, reply, payload) => {
      await holder.check(req, reply, payload);
      return payload;
    });
  });
} else {
  g[hook].check = check;
}

function flush(): void {
  if (problems.length === 0) return;
  const found = problems.splice(0);
  throw new Error(`responses that do not match the OpenAPI document:\n${found.join('\n')}`);
}

afterEach(flush);
afterAll(flush);
