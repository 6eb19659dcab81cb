// The text message for notification-only targets (Slack-compatible incoming webhooks: `{"text": ...}`).
// No secret, no callback token: a chat channel is read by many. Pure.
import type { EscalationStage } from './events.js';
import type { RotationFindingView, RotationLocation } from './finding-view.js';

/** What Slack, Mattermost and Rocket.Chat incoming webhooks accept. */
export interface NotificationBody {
  text: string;
}

export type NotificationSubject =
  /** A new finding the policy only notifies about. */
  | { kind: 'detected' }
  /** Rotation was requested from these targets (names). */
  | { kind: 'rotation-requested'; targets: readonly string[] }
  /** The loop stopped; a human must act. */
  | { kind: 'escalated'; stage: EscalationStage; reason: string };

/** Slack reads text as mrkdwn: `<...>` makes links and mentions, so text from scanned input is escaped. */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack truncates longer messages; leave room. */
const MAX_TEXT = 3000;

export function notification(finding: RotationFindingView, subject: NotificationSubject): NotificationBody {
  const where = finding.locations[0];
  const more = Math.max(finding.occurrences ?? 0, finding.locations.length) - 1;
  const lines: string[] = [];
  const what = `leaked ${finding.provider} credential (rule ${finding.ruleId}, preview ${finding.redacted})`;
  switch (subject.kind) {
    case 'detected':
      lines.push(`keywarden found a ${what}.`);
      break;
    case 'rotation-requested':
      lines.push(`keywarden found a ${what} and requested its rotation from ${subject.targets.join(', ')}.`);
      break;
    case 'escalated':
      lines.push(`ESCALATED (${subject.stage}): keywarden could not close a ${what}: ${subject.reason}`);
      break;
    default: {
      const never: never = subject;
      throw new Error(`unknown notification ${JSON.stringify(never)}`);
    }
  }
  if (where)
    lines.push(`Seen in ${describeLocation(where)}${more > 0 ? ` and ${more} more place${more === 1 ? '' : 's'}` : ''}.`);
  lines.push(`First seen ${finding.firstSeen}. Fingerprint ${finding.fingerprint}.`);
  lines.push(
    subject.kind === 'detected'
      ? `No automatic rotation: rotate the key, then close the finding (keywarden findings show ${finding.fingerprint}).`
      : `Follow it with: keywarden findings show ${finding.fingerprint}`,
  );
  const text = escapeSlack(lines.join('\n'));
  return { text: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text };
}

function describeLocation(l: RotationLocation): string {
  const parts: string[] = [];
  if (l.repo !== undefined) parts.push(l.repo);
  if (l.path !== undefined) parts.push(l.line !== undefined ? `${l.path}:${l.line}` : l.path);
  if (l.commit !== undefined) parts.push(`commit ${l.commit.slice(0, 12)}`);
  if (l.stream !== undefined) parts.push(`log stream ${l.stream}`);
  if (l.offset !== undefined) parts.push(`offset ${l.offset}`);
  if (parts.length === 0) parts.push(l.kind);
  return parts.join(' ');
}
