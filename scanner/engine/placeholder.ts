// Placeholder filter for generic `name = value` rules: the engine calls it only on matches of rules
// with `placeholderFilter: true` (after their entropy floor), to drop values that are templates, env
// references, documentation markers, masks or code rather than a credential. Pure and allocation-light.

/** Template and interpolation syntax of the usual config/templating languages, anywhere in the value. */
const TEMPLATE =
  /\$\{|\$\(|\{\{|\}\}|\{%|%\}|<%|%>|#\{|^\$[A-Za-z_]|^%[A-Za-z_][A-Za-z0-9_]*%$|^__[A-Za-z0-9_]+__$|^@[A-Za-z_][A-Za-z0-9_]*@$/;

/** References to an environment or secret store instead of a value. */
const ENV_REF =
  /process\.env|import\.meta\.env|os\.environ|getenv|System\.getenv|GetEnvironmentVariable|\bENV\s*[[.]|\bsecrets\.|\bvars\.|\bvar\.|\blocal\.|\bdata\./i;

/** `<TOKEN>`, `[REDACTED]`, `(your key)`: bracketed prose. */
const BRACKETED = /<[^<>]*>|^\[.*\]$|^\(.*\)$/;

/** Masks and fillers: xxxx, ****, ####, ..., ____, and any character repeated six times. */
const MASK = /[xX]{4,}|\*{3,}|#{4,}|\.{3,}|…|_{4,}|-{4,}/;

/**
 * The longest run of one repeated UTF-16 unit in `s` (`aaaaaa`): by hand, since a back-reference
 * (`(.)\1{5,}`) cost V8's regular expressions ~8% of the placeholder filter.
 */
function longestRepeat(s: string): number {
  let best = s.length > 0 ? 1 : 0;
  let run = 1;
  for (let i = 1; i < s.length; i++) {
    run = s.charCodeAt(i) === s.charCodeAt(i - 1) ? run + 1 : 1;
    if (run > best) best = run;
  }
  return best;
}

/** Values that are a URL or a hash naming its own algorithm (SRI `sha512-…`, digest `sha256:…`, ARN). */
const SELF_DESCRIBED = /^[a-z][a-z0-9+.-]{1,15}:\/\/|^(?:sha1|sha224|sha256|sha384|sha512|md5)[-:]|^arn:/i;

/**
 * Password hashes that name their scheme: crypt(5) `$id$…` and Django's `algorithm$…` (seen as
 * `"password": "md5$seasalt$…"` in wagtail's user fixtures). A hash must be cracked before it logs
 * anyone in: the hash rules report it at `info`, the password rules not at all.
 */
const PASSWORD_HASH =
  /^\$(?:2[abxy]|1|5|6|y|gy|7|apr1|argon2(?:id|i|d))\$|^(?:pbkdf2_sha(?:1|256|512)|argon2|bcrypt(?:_sha256)?|sha1|md5|scrypt|unsalted_(?:md5|sha1)|crypt)\$/;

/**
 * The host part of a URL whose userinfo is an angle-bracket placeholder: in
 * `https://<user_id>:<password>@logs.example.net/push` the `<password>` reads as an XML element
 * whose text is `@logs.example.net/push` (seen in grafana/loki docs).
 */
const URL_TAIL = /^@[A-Za-z0-9-]+(?:(?:\.[A-Za-z0-9-]+)+(?::[0-9]+)?(?:[/?#]|$)|(?::[0-9]+)?\/)/;

/**
 * Substrings that mark documentation, tests and defaults (matched on the lower-cased value with
 * leetspeak undone). Each has 4+ letters: a random 32-char token holds a given 4-letter word with
 * probability ~3e-5, so real keys are not lost to chance.
 */
const MARKER_WORDS = [
  'example',
  'sample',
  'dummy',
  'placeholder',
  'changeme',
  'changeit',
  'redacted',
  'replace',
  'insert',
  'fixme',
  'todo',
  'test',
  'fake',
  'mock',
  'demo',
  'your',
  'password',
  'passwd',
  'secret',
  'qwerty',
  'qwer',
  'asdf',
  'zxcv',
  'letmein',
  'foobar',
  'lorem',
  'ipsum',
  'notreal',
  'invalid',
  'abc123',
  'hunter2',
  'default',
  'sensitive',
  'not-a-real',
  'not_a_real',
  'must_never',
  'must-never',
];

/** Whole values (after dropping punctuation) that are keywords or types, not credentials. */
const LITERALS = new Set([
  'null',
  'none',
  'nil',
  'undefined',
  'true',
  'false',
  'empty',
  'string',
  'str',
  'bool',
  'boolean',
  'number',
  'int',
  'object',
  'any',
  'required',
  'optional',
  'hidden',
  'masked',
  'unknown',
  'notset',
  'tbd',
  'na',
]);

/** Default passwords docs show in examples; as values they are misconfiguration, not leaked keys. */
const COMMON_DEFAULTS = new Set(['admin', 'root', 'postgres', 'mysql', 'guest', 'test', 'user', 'demo']);

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' };

/**
 * True when the value holds 6+ consecutive ascending or descending digits or letters (123456,
 * abcdef), or its letters or its digits alone do (`A1B2C3D4E5F6` is a sequence twice over). One
 * pass over the value, no copies: this runs on every generic candidate.
 */
function hasSequence(s: string): boolean {
  // Runs up/down over the whole value (a), its letters alone (l) and its digits alone (d).
  let pa = -1;
  let upA = 1;
  let downA = 1;
  let pl = -1;
  let upL = 1;
  let downL = 1;
  let runL = false;
  let nl = 0;
  let pd = -1;
  let upD = 1;
  let downD = 1;
  let runD = false;
  let nd = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    const lower = isLower(c);
    const digit = isDigit(c);
    const same = (digit && isDigit(pa)) || (lower && isLower(pa));
    upA = same && c === pa + 1 ? upA + 1 : 1;
    downA = same && c === pa - 1 ? downA + 1 : 1;
    if (upA >= 6 || downA >= 6) return true;
    pa = c;
    if (lower) {
      nl++;
      upL = c === pl + 1 ? upL + 1 : 1;
      downL = c === pl - 1 && pl >= 0 ? downL + 1 : 1;
      if (upL >= 6 || downL >= 6) runL = true;
      pl = c;
    } else if (digit) {
      nd++;
      upD = c === pd + 1 ? upD + 1 : 1;
      downD = c === pd - 1 && pd >= 0 ? downD + 1 : 1;
      if (upD >= 6 || downD >= 6) runD = true;
      pd = c;
    }
  }
  // The letters (digits) alone count only when something else was taken out between them.
  return (runL && nl < s.length) || (runD && nd < s.length);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isLower(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

/**
 * The marker words by their first two letters: a 128x128 table says which pairs start one, so a
 * value is searched with one table load per position (a regular expression of the 37 words cost
 * ~1 us per value; this runs on every generic candidate).
 */
const MARKER_START = new Uint8Array(128 * 128);
const MARKERS_BY_START = new Map<number, string[]>();
for (const w of MARKER_WORDS) {
  const k = w.charCodeAt(0) * 128 + w.charCodeAt(1);
  MARKER_START[k] = 1;
  MARKERS_BY_START.set(k, [...(MARKERS_BY_START.get(k) ?? []), w]);
}

/** True when `text` (lower case) holds a marker word, of at least `minLength` letters. */
function holdsMarker(text: string, minLength: number): boolean {
  for (let i = 0; i + 1 < text.length; i++) {
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    if (a > 0x7f || b > 0x7f || MARKER_START[a * 128 + b] === 0) continue;
    for (const w of MARKERS_BY_START.get(a * 128 + b)!) if (w.length >= minLength && text.startsWith(w, i)) return true;
  }
  return false;
}

const LEET_CHAR = /[013457@$]/;

function hasMarkerWord(s: string): boolean {
  const lower = s.toLowerCase();
  if (holdsMarker(lower, 0)) return true;
  const squashed = lower.replace(/[^a-z0-9]/g, '');
  if (squashed.length !== lower.length && holdsMarker(squashed, 0)) return true;
  // Leetspeak only for long words: hex alone spells `7e57` (test) every few thousand keys.
  if (
    LEET_CHAR.test(lower) &&
    holdsMarker(
      lower.replace(/[013457@$]/g, (ch) => LEET[ch]!),
      6,
    )
  )
    return true;
  return /^my[_-]|^my(?:api|secret|token|key|pass|app)/i.test(s);
}

/** Short consonant-only parts that are common abbreviations in names (`db_pwd`, `cfg.tls`). */
const ABBREVIATIONS = new Set([
  // `partitionByToken`, `sortBy`: `y` is the vowel of these short words.
  'by',
  'my',
  // `cloudflare-crc32`: an algorithm id in this repository's own history.
  'crc',
  'html',
  'xhtml',
  'http',
  'https',
  'smtp',
  'ldap',
  'ntlm',
  'sts',
  'dcos',
  'db',
  'pg',
  'js',
  'ts',
  'py',
  'rb',
  'cfg',
  'pwd',
  'src',
  'dst',
  'tls',
  'ssl',
  'ssh',
  'str',
  'msg',
  'ctx',
  'tmp',
  'pkg',
  'lib',
  'bin',
  'cmd',
  'dns',
  'jwt',
  'xml',
  'sql',
  'psql',
  'grpc',
  'crm',
  'cms',
  'gcp',
  'mfa',
  'smtp',
  'http',
  'https',
  'html',
  'ftp',
  'sftp',
  'ldap',
  'mysql',
  'kv',
  'svc',
  'prd',
  'stg',
  'k8s',
  'npm',
  'gh',
  'ci',
  'cd',
  'id',
  'ms',
]);

/** Upper-case runs that camelCase names embed (`userID`, `apiURL`); other runs mark random text. */
const ACRONYMS = new Set([
  'id',
  'ids',
  'url',
  'uri',
  'api',
  'http',
  'https',
  'json',
  'xml',
  'db',
  'sql',
  'aws',
  'gcp',
  'jwt',
  'ssh',
  'tls',
  'ssl',
  'ui',
  'io',
  'os',
  'ci',
  'ip',
  'dns',
  'smtp',
  'oauth',
  'uuid',
  'html',
  'css',
  'js',
  'ts',
  'sdk',
  'cli',
  'kms',
  'iam',
]);

/**
 * A word as people write them in names: at most `maxLength` letters, a vowel unless a known
 * abbreviation, no five consonants or three vowels in a row. Random strings split at case changes
 * fail one of these almost always (the unit test holds random 12-char passwords to 99.5% kept).
 */
function isWordPart(letters: string, maxLength = 16): boolean {
  // By hand, one pass (this runs on every word of every candidate name): lower case, `oauth` read
  // as `oath`, and `ph`, `sh`, `ch`, `gh`, `th`, `ck` as one consonant (`passphrase`, `checksum`).
  let w = '';
  const n = letters.length;
  for (let i = 0; i < n; i++) {
    const c = letters.charCodeAt(i) | 0x20;
    if (c === 0x6f && n - i >= 5 && letters.slice(i, i + 5).toLowerCase() === 'oauth') {
      w += 'oah';
      i += 4;
      continue;
    }
    const next = i + 1 < n ? letters.charCodeAt(i + 1) | 0x20 : 0;
    if (
      (next === 0x68 && (c === 0x70 || c === 0x73 || c === 0x63 || c === 0x67 || c === 0x74)) ||
      (c === 0x63 && next === 0x6b)
    ) {
      w += 'h';
      i++;
      continue;
    }
    w += String.fromCharCode(c);
  }
  if (ABBREVIATIONS.has(w)) return true;
  if (w.length > maxLength) return false;
  // A vowel (not `y`); five consonants in a row fail, not four (`length`, `langchain`, `handshake`
  // are words), and three vowels in a row.
  let hasVowel = false;
  let consonants = 0;
  let vowels = 0;
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    const vowel = c === 0x61 || c === 0x65 || c === 0x69 || c === 0x6f || c === 0x75;
    if (vowel) hasVowel = true;
    consonants = vowel || c === 0x79 ? 0 : consonants + 1;
    vowels = vowel ? vowels + 1 : 0;
    if (consonants >= 5 || vowels >= 3) return false;
  }
  return hasVowel;
}

/** A name's parts between runs of `_ . : $ -` (none empty); by hand: `split` with a regex costs ~250 ns. */
function chunksOf(s: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x5f || c === 0x2e || c === 0x3a || c === 0x24 || c === 0x2d) {
      if (i > from) out.push(s.slice(from, i));
      from = i + 1;
    }
  }
  return out;
}

/** A chunk as alternating runs of digits and of other characters (`Scram256Auth` → Scram, 256, Auth). */
function digitRuns(chunk: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 1; i <= chunk.length; i++) {
    if (i === chunk.length || isDigit(chunk.charCodeAt(i)) !== isDigit(chunk.charCodeAt(i - 1))) {
      out.push(chunk.slice(from, i));
      from = i;
    }
  }
  return out;
}

/**
 * True when `name` splits into name-like words: chunks separated by `_ . - : $`, each chunk a single
 * letter (`e.password` in minified code) or camel/snake words, digits at a chunk's end or before a
 * capitalised word, at most two numbers in all.
 */
function isIdentifier(name: string): boolean {
  // `OAuth2Application`: one brand's casing, not a case change between words. A trailing `*` is a
  // wildcard (`bedrock-agentcore-identity*`).
  let s = name.includes('OAuth') ? name.replace(/OAuth/g, 'Oauth') : name;
  if (s.endsWith('*')) s = s.replace(/\*+$/, '');
  if (!/^[A-Za-z0-9_.:$-]+$/.test(s)) return false;
  const mixedCase = /[a-z]/.test(s) && /[A-Z]/.test(s);
  let words = 0;
  let withDigits = 0;
  for (const chunk of chunksOf(s)) {
    // Numbers inside a name split it (`SaslScram256Auth`, `id_ed25519`, `accessKeyV1`).
    const segments = digitRuns(chunk);
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      if (/^[0-9]+$/.test(seg)) {
        // At the end, or before a capitalised word (`Scram256Auth`): random text puts digits anywhere.
        const next = segments[i + 1];
        if (seg.length > 5 || (next !== undefined && !/^[A-Z]/.test(next))) return false;
        withDigits++;
        continue;
      }
      // A single letter: a whole chunk only (`e.password` in minified code), a version (`key-v2`,
      // `v4Internal`), or a letter and a short number as a whole chunk (`s3_disable_auth`).
      if (seg.length === 1) {
        const number = segments[1] ?? '';
        const version =
          i === 0 &&
          /^[0-9]{1,3}$/.test(number) &&
          (segments.length === 2 || ((seg === 'v' || seg === 'V') && /^[A-Z]/.test(segments[2] ?? '')));
        if (segments.length > 1 && !version) return false;
        words++;
        continue;
      }
      if (seg === seg.toUpperCase() || seg === seg.toLowerCase()) {
        // A whole chunk in one case is a word or an abbreviation as C and shell constants write them
        // (`RD_KAFKAP_Produce`, `md_principal_name`): up to three consonants pass as an abbreviation,
        // and run-together words (`somethingtotallyrandom`) may run longer.
        const whole = segments.length === 1;
        if (!(isWordPart(seg, 24) || (whole && /^[A-Za-z]{2,3}$/.test(seg)))) return false;
        words++;
        continue;
      }
      const parts = seg.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+/g) ?? [];
      if (parts.join('') !== seg) return false;
      for (let k = 0; k < parts.length; k++) {
        const p = parts[k]!;
        // `accessKeyV1`: a one-letter part only as a version letter before its number, or as a
        // lower-case type prefix before a word (`bPrefix`, `xToken`, `pConfig`: Hungarian notation, C ports).
        const prefix = k === 0 && i === 0 && parts.length > 1 && p >= 'a' && p <= 'z';
        if (p.length < 2 && !prefix && !(k === parts.length - 1 && /^[0-9]+$/.test(segments[i + 1] ?? ''))) return false;
        if (p.length < 2) continue;
        if (mixedCase && p === p.toUpperCase() && !ACRONYMS.has(p.toLowerCase())) return false;
        if (!isWordPart(p)) return false;
        words++;
      }
    }
  }
  // Names carry a number once or twice (`password2`, `user2:pwd2`); random strings scatter digits.
  // Up to 12 words: generated SDK constants run long (`UserAgentFeatureCredentialsEnvVarsStsWebIDToken`).
  return words > 0 && words <= 12 && withDigits <= 2;
}

/**
 * A C or shell constant: an upper-case prefix, then `_`-separated names, no digits but a final
 * number (`RD_KAFKAP_SaslHandshake`, `WITH_SASL_OAUTHBEARER`, `AWS_SESSION_TOKEN_2`). Random keys
 * almost never take this shape; a macro assigned to an `ApiKey` field in C code often does.
 */
const CONSTANT_NAME = /^[A-Z]{2,}(?:_[A-Za-z]{2,})+(?:_?[0-9]{1,3})?$/;
/** A dotted option name or key path: `providers.kubernetesCRD.token`, `users.*.profile.apiKey`. */
const CONFIG_KEY_PATH = /^[a-z][A-Za-z]*(?:\.(?:[A-Za-z][A-Za-z]*|\*))+$/;
/** A path under a system or home directory (`/home/miniouser/.ssh/id_rsa`): where a key lives, not a key. */
const SYSTEM_PATH =
  /^(?:~|\/(?:home|Users|etc|var|usr|opt|tmp|root|srv|mnt|run)|[A-Za-z]:\\(?:Users|Windows|Program Files))[\\/][\w .@~+-]*(?:[\\/][\w .@~+-]*)*$/;
/** A name that ends in what it names: `dbtc_platform_token`, `optional_passphrase_of_private_key`. */
const CREDENTIAL_NAME =
  /^[A-Za-z][A-Za-z0-9]*(?:[_.-][A-Za-z0-9]+)*[_.-](?:token|key|secret|password|passwd|pwd|passphrase|apikey|credentials?)$/i;
/** An HTTP header's name: `X-DNSimple-Token`. */
const HEADER_NAME = /^X-[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z][A-Za-z0-9]*)*$/;
/**
 * The right-hand side of a string concatenation: `"token=" + rc.config.DCOSToken`. A member access
 * (`+cfg.Dir`) or a spaced operator (`+ token`) only: `+TN8…` alone is base64.
 */
const CONCATENATED = /^\+(?:\s*[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+|\s+[A-Za-z_$][\w$]*)$/;
/**
 * `key=value` pairs of names, as flags take them: `--secret id=npm_token,src=token.txt`, and keyword
 * arguments after a quoted label: `("password", models.CharField(verbose_name="Password",
 * max_length=255))` leaves `max_length=255` (an ORM field definition, seen in wagtail's migrations).
 */
const KEY_VALUE_LIST = /^[A-Za-z_][\w]*=(?:[A-Za-z0-9_][\w.-]*)?(?:,[A-Za-z_][\w]*=[\w./-]+)*$/;
/** Minified assignments to members: `t.preAuthorizeImplicit=t.CONFIGURE_AUTH=…`. */
const MEMBER_ASSIGNMENT = /^[A-Za-z_$][\w$]*\.[A-Za-z_$][\w$]*=[A-Za-z_$]/;

/**
 * True for values that read as code or a name rather than a credential: `getPassword()`,
 * `config.db.password`, `tokenValue`, `DB_PASSWORD`, `bert-base-uncased`, `src/secrets/db.yaml`.
 */
export function looksLikeIdentifierOrCode(secret: string): boolean {
  const s = secret.trim();
  if (/^[A-Za-z_$][\w$.]*\(.*\)$/.test(s)) return true; // a call
  if (CONSTANT_NAME.test(s) || CONFIG_KEY_PATH.test(s) || HEADER_NAME.test(s) || CREDENTIAL_NAME.test(s)) return true;
  // Keys must read as names: base64 ending in `=` has the same shape as `metavar=`.
  if (KEY_VALUE_LIST.test(s) && s.split(',').every((kv) => isIdentifier(kv.slice(0, kv.indexOf('='))))) return true;
  if (CONCATENATED.test(s) || MEMBER_ASSIGNMENT.test(s)) return true;
  if (/^urn:[a-z0-9][a-z0-9-]*:/i.test(s)) return true; // a URN names a thing (`urn:uuid:…` lock tokens)
  // Numbers joined by dots are versions, OIDs and addresses (`1.2.840.113549.1.9.7`), not keys.
  if (/^[0-9]+(?:\.[0-9]+)+$/.test(s)) return true;
  // The left side of a concatenation (`description+"…"`): a name, then the operator.
  if (/^[A-Za-z_$][\w$.]*[ \t]*\+$/.test(s)) return isIdentifier(s.replace(/[ \t]*\+$/, ''));
  // A Ruby predicate method (`environment_specified?`); not `!`, which ends passwords (`Welcome1!`).
  if (/^[a-z_][\w.]*\?$/.test(s)) return isIdentifier(s.slice(0, -1));
  // Optional chaining is code (`rawSecret = stored?.status === 'ok' ? …`): a member path of names.
  if (/^[A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*)+$/.test(s) && s.includes('?.')) return isIdentifier(s.replace(/\?\./g, '.'));
  if (/[\\/]/.test(s)) return looksLikePath(s);
  return isIdentifier(s);
}

/** A file path: every segment a name, optionally dotted (`.aws`) or with an extension. */
function looksLikePath(s: string): boolean {
  const body = s.replace(/^(?:[A-Za-z]:)?(?:~|\.{1,2})?/, '');
  const segments = body.split(/[\\/]+/).filter((x) => x !== '');
  return segments.every((seg) => {
    const base = seg.replace(/^\.+/, '').replace(/\.[A-Za-z0-9]{1,6}$/, '');
    return base === '' || isIdentifier(base);
  });
}

/** `s` decoded, when it is base64 (8 to 512 characters) of printable ASCII; else null. */
function decodedPrintable(s: string): string | null {
  if (s.length < 8 || s.length > 512 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return null;
  let bytes = Buffer.from(s, 'base64');
  // `echo user:pass | base64` encodes the newline too (wagtail's tests): judged without it.
  if (bytes.length > 1 && bytes[bytes.length - 1] === 0x0a) bytes = bytes.subarray(0, bytes[bytes.length - 2] === 0x0d ? -2 : -1);
  // Random keys decode to binary: the byte check rejects them without building a string.
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! < 0x20 || bytes[i]! > 0x7e) return null;
  return bytes.length > 0 ? bytes.toString('latin1') : null;
}

/**
 * What printable base64 decodes to, judged: `Basic` credentials are base64 of `user:password`, so
 * `dXNlcjpwYXNzd29yZA==` (user:password) is a placeholder while a random password is not; short
 * base64 of a placeholder word (`cGFzc3dvcmQ=` is `password`, `YWRtaW4=` is `admin`), as Kubernetes
 * Secret manifests and docs carry them, is one too.
 */
function decodedPlaceholder(s: string, depth: number): boolean {
  const decoded = decodedPrintable(s);
  if (decoded === null) return false;
  const colon = decoded.indexOf(':');
  if (colon >= 0) {
    const pass = decoded.slice(colon + 1);
    return pass.length < 4 || placeholderAt(pass, depth + 1) || looksLikeIdentifierOrCode(pass);
  }
  return s.length <= 64 && (placeholderAt(decoded, depth + 1) || COMMON_DEFAULTS.has(decoded.toLowerCase()));
}

function placeholderAt(secret: string, depth: number): boolean {
  const s = secret.trim();
  if (s.length === 0) return true;
  if (TEMPLATE.test(s) || ENV_REF.test(s) || BRACKETED.test(s) || MASK.test(s) || SELF_DESCRIBED.test(s)) return true;
  const repeat = longestRepeat(s);
  if (repeat >= 6) return true; // a mask of one character (`000000`, `zzzzzz`)
  if (PASSWORD_HASH.test(s) || URL_TAIL.test(s)) return true;
  if (LITERALS.has(s.toLowerCase().replace(/[^a-z0-9]/g, ''))) return true;
  // Code is what the generic rules meet most (`token = options.authToken`): judged before the words.
  if (looksLikeIdentifierOrCode(s)) return true;
  if (hasMarkerWord(s) || hasSequence(s)) return true;
  if (repeat === s.length) return true; // one character repeated (`bbbb`)
  if (SYSTEM_PATH.test(s)) return true;
  // `pa%24%24word` is `pa$$word`: judge what a URL's percent-encoding hides.
  if (depth === 0 && /%[0-9A-Fa-f]{2}/.test(s)) {
    let decoded: string | null = null;
    try {
      decoded = decodeURIComponent(s);
    } catch {
      // Not valid percent-encoding (`nota%hex`): judged as it is.
    }
    if (decoded !== null && decoded !== s && placeholderAt(decoded, depth + 1)) return true;
  }
  // Prose in a script without letter case (`password:` then Japanese in translated docs): keys are
  // ASCII. Accented Latin (`pässwörd…`) is still judged as a possible password.
  if (/\p{Lo}/u.test(s)) return true;
  return depth === 0 && decodedPlaceholder(s, depth);
}

/**
 * True when a matched value is a placeholder, template, reference, mask or identifier rather than
 * a credential. Called only for rules with `placeholderFilter: true`; never sees provider-prefixed
 * keys, whose rules do not opt in.
 */
export function looksLikePlaceholder(secret: string): boolean {
  return placeholderAt(secret, 0);
}
