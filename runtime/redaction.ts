// The runtime's one door into keywarden's redaction (scanner/redact-spans.ts, scanner/redact-lines.ts): the built-in rule pack
// compiled into a redactor, and text in, redacted text and findings out. Everything is loaded on the
// first use (dynamic imports), because the engine, RE2 and the pack cost ~100-150 ms that an app
// importing `keywarden/runtime` for rotation alone must not pay (docs/runtime.md, "Load time").
import type { Rule } from '../rules/schema.js';

/** One secret the guard found: where, which rule, its keyed fingerprint and preview; never the secret. */
export interface GuardFinding {
  ruleId: string;
  description: string;
  /** `kw1:` + 32 hex: keyed HMAC of (rule, secret), as `keywarden scan` reports it with the same key. */
  fingerprint: string;
  /** A redacted preview (first and last characters). */
  redacted: string;
  /** `info`: a password hash or a key public by design: redacted all the same, but it blocks nothing. */
  confidence: 'high' | 'medium' | 'low' | 'info';
  /** 1-based, in the checked text. */
  line: number;
  column: number;
}

export interface TextRedactor {
  /** `json`: each line that is a JSON document stays valid JSON (escaped secrets are found too). */
  redact(text: Buffer, json: boolean): { out: Buffer; findings: GuardFinding[] };
}

export interface TextRedactorOptions {
  /** @defaultValue the built-in pack */
  rules?: readonly Rule[];
  fingerprintKey: Buffer;
}

export async function loadTextRedactor(opts: TextRedactorOptions): Promise<TextRedactor> {
  const [{ createRedactor }, { redactLines }, rules] = await Promise.all([
    import('../scanner/redact-spans.js'),
    import('../scanner/redact-lines.js'),
    opts.rules ?? import('../rules/builtin.js').then((m) => m.builtinRules()),
  ]);
  const redactor = createRedactor({ rules, fingerprintKey: opts.fingerprintKey, stream: 'runtime' });
  return {
    redact(text, json) {
      const { out, findings } = redactLines(redactor, text, json);
      // One GuardFinding per occurrence (the model groups occurrences by fingerprint), in text order.
      const flat: GuardFinding[] = [];
      for (const f of findings) {
        for (const o of f.occurrences) {
          flat.push({
            ruleId: f.ruleId,
            description: f.description,
            fingerprint: f.fingerprint,
            redacted: f.redacted,
            confidence: f.confidence,
            line: o.span.line,
            column: o.span.column,
          });
        }
      }
      flat.sort((a, b) => a.line - b.line || a.column - b.column);
      return { out, findings: flat };
    },
  };
}
