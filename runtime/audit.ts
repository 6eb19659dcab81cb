// Audit lines of the runtime's endpoints (emergency rotation, rotation receiver): one JSON object per
// event, to the app's sink or to stderr. Events carry names, short keyed hashes and addresses; never
// a value, a token or a signature.

export interface AuditEvent {
  /** ISO 8601. */
  at: string;
  /** `secret.rotated`, `request.rejected`, `rotation.accepted`, `rotation.completed`, ... */
  event: string;
  [field: string]: unknown;
}

export type AuditSink = (event: AuditEvent) => void;

/** The default sink: one JSON line on stderr, so an audit trail exists even when nobody configured one. */
export const stderrAudit: AuditSink = (event) => {
  process.stderr.write(`${JSON.stringify(event)}\n`);
};

/** Emits through `sink`, never throwing into the request that caused the event. */
export function auditor(sink: AuditSink | undefined): (event: string, fields: Record<string, unknown>) => void {
  const out = sink ?? stderrAudit;
  return (event, fields) => {
    try {
      out({ at: new Date().toISOString(), event, ...fields });
    } catch {
      // An audit sink that throws must not turn a rotation into a failed request.
    }
  };
}
