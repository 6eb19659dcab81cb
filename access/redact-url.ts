// How a URL is stored, logged and shown: never with its userinfo (`https://user:token@host/`), never
// with a credential in its query (`?private_token=`). Pure; every place a repository URL leaves a
// worker or the API (job views, error messages, logs, CLI output) passes through here.

/** Query parameters whose values are credentials (GitLab's `private_token`, signed URLs' `sig`, ...). */
const SECRET_PARAM =
  /^(.*token.*|.*secret.*|.*passw(or)?d.*|.*key|sig|signature|x-amz-[a-z-]+|auth|authorization|access_token|code)$/i;

/** `scheme://userinfo@` anywhere in a text. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi;
/** A credential-named query parameter's value anywhere in a text. */
const QUERY_VALUE = /([?&])([^=&#\s]+)=([^&#\s]*)/g;

/** Marks what was cut out. */
export const REDACTED = '***';

/** True when a URL carries credentials: userinfo, or a credential-named query parameter. */
export function urlHasCredentials(url: string): boolean {
  USERINFO.lastIndex = 0;
  if (USERINFO.test(url)) return true;
  for (const m of url.matchAll(QUERY_VALUE)) if (SECRET_PARAM.test(m[2]!) && m[3] !== '') return true;
  return false;
}

/**
 * The text with every URL's userinfo replaced by `***` (`https://***@github.com/o/r.git`) and every
 * credential-named query value by `***`. Anything that is not a URL is left as it is, so this applies
 * to whole error messages and log lines as well as to one URL.
 */
export function redactUrl(text: string): string {
  return text
    .replace(USERINFO, `$1${REDACTED}@`)
    .replace(QUERY_VALUE, (all, sep: string, name: string, value: string) =>
      SECRET_PARAM.test(name) && value !== '' ? `${sep}${name}=${REDACTED}` : all,
    );
}

/** The URL without its userinfo at all (what a job stores once credentials are moved out of it). */
export function withoutUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/i, '$1');
}
