// Functions over the model's occurrences: the path a report shows, the store's dedupe key and target.
// Types only from the schemas: a CLI scan loads this module but not zod (~100 ms of start-up here).
import type { Occurrence, Provenance } from './finding.js';

/** The path a report shows for content from `p`: the file or blob path, `-` for stdin, the stream for logs. */
export function pathOf(p: Provenance): string {
  switch (p.kind) {
    case 'file':
      return p.path;
    case 'git':
      // Commit metadata has no path: `<message>`, `<author>`, `<ref>` (no git path holds `<` and `>` here).
      return p.location === undefined ? p.path : `<${p.location}>`;
    case 'stdin':
      return '-';
    case 'dump':
      return p.path ?? '-';
    case 'log':
      return p.stream;
    case 'github-alert':
      return p.path ?? p.locationUrl ?? p.url;
    default: {
      const never: never = p;
      return (never as { kind: string }).kind;
    }
  }
}

/** `|` separates a key's fields, so free text in them (paths, stream names) has it escaped. */
function field(s: string): string {
  return s.replace(/[%|]/g, (c) => (c === '%' ? '%25' : '%7C'));
}

/**
 * The occurrence's dedupe key in the store: the same place seen again (a job retried, a batch re-sent,
 * a repository rescanned) has the same key, so it is recorded once. One switch over every kind.
 */
export function occurrenceKey(o: Occurrence): string {
  const p = o.provenance;
  const at = `${o.span.line}|${o.span.column}`;
  switch (p.kind) {
    case 'file':
      return `file|${field(p.path)}|${at}`;
    case 'stdin':
      return `stdin|${at}`;
    case 'git':
      // Metadata keys add where in the commit (blob keys are as they were before metadata was scanned).
      return p.location === undefined
        ? `git|${field(p.repo ?? '')}|${p.commit}|${field(p.path)}|${at}`
        : `git|${field(p.repo ?? '')}|${p.commit}|<${p.location}>${field(p.ref ?? '')}|${at}`;
    case 'dump':
      return `dump|${field(p.path ?? '')}|${p.offset}`;
    case 'log': {
      // Stream lines within a run, or batch-relative lines within that batch (model/provenance.ts).
      const where = p.batch !== undefined ? `#${p.batch}` : `@${field(p.run ?? '')}`;
      return `log|${field(p.stream)}|${where}|${at}`;
    }
    case 'github-alert':
      // One alert's locations: a commit location by its blob place, any other by its own page.
      return `github-alert|${field(p.repo)}|${p.alert}|${field(p.location)}|${p.commit ?? ''}|${field(p.path ?? p.locationUrl ?? '')}|${at}`;
    default: {
      const never: never = p;
      throw new Error(`unknown provenance kind ${(never as { kind: string }).kind}`);
    }
  }
}

/**
 * What was scanned, as the store indexes it (`findings list --repo/--dump/--stream`): the repository
 * (`targetOf`, scanner/target.ts), the dump path, the log stream, or a tree file's path.
 */
export function occurrenceTarget(o: Occurrence): string {
  const p = o.provenance;
  switch (p.kind) {
    case 'git':
    case 'github-alert':
      return p.repo ?? '-';
    case 'file':
    case 'stdin':
    case 'dump':
    case 'log':
      return pathOf(p);
    default: {
      const never: never = p;
      throw new Error(`unknown provenance kind ${(never as { kind: string }).kind}`);
    }
  }
}
