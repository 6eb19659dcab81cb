// Raw engine matches → report `Finding`s: position, keyed fingerprint, redacted preview. The only
// place a secret turns into something that may leave the process, and only redacted unless asked.

import { contextOf } from './context.js';
import type { CompiledPack } from './engine/compile.js';
import type { RawMatch } from './engine/types.js';
import type { Finding, Provenance } from './finding.js';
import { fingerprint } from './fingerprint.js';
import { locateOffsets } from './locate.js';
import { redactPreview } from './redact.js';

export interface FindingContext {
  /** `/`-separated path relative to the scanned root (`-` for stdin). */
  path: string;
  source: Provenance;
  fingerprintKey: Buffer;
  /** `--show-secrets`: the only way a secret reaches a report. */
  showSecrets?: boolean;
}

export function toFindings(pack: CompiledPack, buf: Buffer, matches: readonly RawMatch[], ctx: FindingContext): Finding[] {
  if (matches.length === 0) return [];
  const offsets: number[] = [];
  for (const m of matches) offsets.push(m.start, m.end);
  const pos = locateOffsets(buf, offsets);
  // Files, blobs and dump files have a path that says what they are; a log stream or stdin has none.
  const kind = ctx.source.kind;
  const withContext = kind !== 'log' && kind !== 'stdin' && ctx.path !== '-';
  const findings = matches.map((m, i): Finding => {
    const rule = pack.rules[m.ruleIndex]!.rule;
    const from = pos[2 * i]!;
    const to = pos[2 * i + 1]!;
    const f: Finding = {
      ruleId: rule.id,
      description: rule.description,
      path: ctx.path,
      line: from.line,
      column: from.column,
      endLine: to.line,
      endColumn: to.column,
      fingerprint: fingerprint(ctx.fingerprintKey, rule.id, m.secret),
      redacted: redactPreview(m.secret),
      // Hashes must be cracked and public keys grant nothing: reported, but as `info`.
      confidence: (rule.kind ?? 'credential') === 'credential' ? rule.confidence : 'info',
      entropy: Math.round(m.entropy * 1000) / 1000,
      source: ctx.source,
    };
    if (withContext) f.context = contextOf(ctx.path);
    if (m.encoding) f.encoding = m.encoding;
    if (ctx.showSecrets) f.secret = m.secret;
    return f;
  });
  findings.sort((a, b) => a.line - b.line || a.column - b.column || a.ruleId.localeCompare(b.ruleId));
  return findings;
}
