// What a bearer token or shared secret must look like before keywarden starts with it. One rule for
// every token setting (KEYWARDEN_API_TOKEN, KEYWARDEN_INTAKE_TOKEN, and those later issues add) and
// for http/auth.ts, which checks tokens handed to the servers directly.
import { z } from 'zod';

/** Shorter tokens are refused at start-up: a guessable token is worse than none. */
export const MIN_TOKEN_LENGTH = 16;

/** Why `token` is not usable, or null when it is. The message never contains the token. */
export function tokenProblem(token: string): string | null {
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    return `must be at least ${MIN_TOKEN_LENGTH} characters with no whitespace`;
  }
  return null;
}

/** A token setting. */
export const Token = z.string().superRefine((t, ctx) => {
  const problem = tokenProblem(t);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** How to make one, for messages. */
export const TOKEN_HINT =
  "generate one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\"";
