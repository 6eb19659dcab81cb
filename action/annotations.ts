// Check annotations through workflow commands (`::error file=…,line=…::…` via @actions/core): they
// need no API call and no write permission, so they work on a fork's pull request too. One per
// finding, at its head-side line; a finding with no line in the head is annotated on the job.
import * as core from '@actions/core';
import { ignoreLine } from './comment-body.js';
import type { ActionFinding } from './scan-results.js';

export interface Annotation {
  level: 'error' | 'warning';
  title: string;
  message: string;
  properties: core.AnnotationProperties;
}

/** Pure: what to annotate. `failing` findings are errors, others (fail-on: none, `info`) warnings. */
export function annotationsFor(findings: readonly ActionFinding[], failing: boolean): Annotation[] {
  return findings.map((f) => {
    const at = f.locations[0]!;
    const where =
      f.head === 'present'
        ? ''
        : ` Added in ${at.path} line ${at.line} (commit ${at.commit.slice(0, 7)}) and removed later: still in history.`;
    const title = `keywarden: ${f.ruleId}`;
    const message =
      `${f.description}: ${f.redacted}.${where} Rotate it first (a pushed secret has leaked), then remove it ` +
      `from the code and from history. Not a secret? Add to .keywardenignore: ${ignoreLine(f)}`;
    const properties: core.AnnotationProperties =
      f.head === 'present'
        ? {
            title,
            file: at.path,
            startLine: at.line,
            endLine: at.endLine,
            // Columns only within one line: GitHub ignores them otherwise.
            ...(at.line === at.endLine ? { startColumn: at.column, endColumn: at.endColumn } : {}),
          }
        : { title };
    return { level: failing && f.confidence !== 'info' ? 'error' : 'warning', title, message, properties };
  });
}

export function emitAnnotations(annotations: readonly Annotation[]): void {
  for (const a of annotations) {
    if (a.level === 'error') core.error(a.message, a.properties);
    else core.warning(a.message, a.properties);
  }
}
