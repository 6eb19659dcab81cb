// Request signing for checks whose provider authenticates by signature, not by a bearer header:
// AWS SigV4 by @smithy/signature-v4 with @aws-crypto/sha256-js (the AWS SDK's own signer; no
// hand-written crypto). Deterministic given the signing date, which the runner passes from its clock.
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { PlannedRequest } from './plan.js';

/** The request in @smithy's shape (host header included: SigV4 signs it). */
export function toSmithyRequest(req: Pick<PlannedRequest, 'method' | 'url' | 'headers' | 'body'>): HttpRequest {
  const u = new URL(req.url);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of u.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return new HttpRequest({
    method: req.method,
    protocol: u.protocol,
    hostname: u.hostname,
    ...(u.port ? { port: Number(u.port) } : {}),
    path: u.pathname,
    query,
    headers: { ...req.headers, host: u.host },
    ...(req.body !== undefined ? { body: req.body } : {}),
  });
}

/** Returns `req` with SigV4 headers (authorization, x-amz-date, x-amz-content-sha256, token). */
export async function signRequest(req: PlannedRequest, signingDate: Date): Promise<PlannedRequest> {
  const s = req.signing;
  if (!s) return req;
  const signer = new SignatureV4({
    service: s.service,
    region: s.region,
    credentials: {
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secretAccessKey,
      ...(s.sessionToken !== undefined ? { sessionToken: s.sessionToken } : {}),
    },
    sha256: Sha256,
  });
  const signed = await signer.sign(toSmithyRequest(req), { signingDate });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) {
    // fetch sets Host from the URL itself; the signed value is the same string.
    if (k.toLowerCase() !== 'host') headers[k.toLowerCase()] = v;
  }
  return { ...req, headers };
}
