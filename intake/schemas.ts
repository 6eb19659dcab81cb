// The log-shipper intake's request and response schemas: its routes validate and serialize with them,
// and inside `keywarden serve` the API's OpenAPI document (api/document.ts) is generated from them.
// The error responses are both servers' (http/schemas.ts).
import { z } from 'zod';

/** Log-shipper stream names: they become a store index key and a `?stream=` filter value. */
export const STREAM_NAME_MAX = 200;
export const StreamName = z
  .string()
  .max(STREAM_NAME_MAX)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9._-]+)*$/)
  .meta({
    id: 'StreamName',
    description: `Letters, digits and \`. _ -\`, segments joined by \`/\`, at most ${STREAM_NAME_MAX} characters.`,
  });

/** The wildcard under the intake's prefix: the stream name, checked by the intake (intake/server.ts). */
export const IntakeStreamParams = z.object({ '*': z.string() });

export const IntakeAccepted = z.object({
  ok: z.literal(true),
  findings: z.number().int().min(0).describe('Secrets found in this batch, counted per occurrence (each place one was seen).'),
});

export const IntakeHealth = z.object({
  ok: z.literal(true),
  spooled: z.number().int().min(0).describe('Batches waiting in the spool for downstream.'),
});
