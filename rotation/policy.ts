// The rotation policy as a pure decision: finding (+ whether its rule has a liveness check) -> the
// action (rotate | notify | none), the configured targets it goes to, and the self-revoke mode.
// The worker that records a new finding calls `decideRotation`; `keywarden rotate` uses `targetsFor`.
import {
  providerKey,
  type RotationSettings,
  type RotationTarget,
  type Selector,
  type SelfRevokeMode,
} from '../config/sections/rotation.js';
import type { RotationFindingView } from './finding-view.js';

export type RotationAction = 'rotate' | 'notify' | 'none';

export interface RotationDecision {
  action: RotationAction;
  /** Get `rotation.requested` (empty unless `action` is `rotate`). */
  rotationTargets: RotationTarget[];
  /** Get a text notification (empty when `action` is `none`). */
  notifyTargets: RotationTarget[];
  /** Whether keywarden revokes the key itself through the provider's API, and when. */
  selfRevoke: SelfRevokeMode;
  /** Why, for the audit trail: which policy entry or default decided, and any downgrade. */
  reason: string;
}

/** What the decision needs to know of the finding's rule beyond the finding itself. */
export interface RuleFacts {
  hasLivenessCheck: boolean;
}

export type PolicySettings = Pick<RotationSettings, 'targets' | 'defaultTarget' | 'policy' | 'defaultAction' | 'selfRevoke'>;

/**
 * The decision for a new finding. Policy entries are tried in order and the first whose selector
 * matches decides; otherwise `defaultAction` (`auto`: rotate when the rule has a liveness check,
 * else notify, since closing such a finding needs a human's confirm_revoked anyway). A `rotate` with
 * no rotation target becomes `notify`, a `notify` with no notification target becomes `none`; the
 * reason says so.
 */
export function decideRotation(finding: RotationFindingView, rule: RuleFacts, settings: PolicySettings): RotationDecision {
  let action: RotationAction;
  let reason: string;
  const i = settings.policy.findIndex((p) => selects(p, finding));
  const entry = settings.policy[i];
  if (entry) {
    action = entry.action;
    reason = `rotation.policy[${i}] (${describeSelector(entry)}): ${action}`;
  } else if (settings.defaultAction === 'auto') {
    action = rule.hasLivenessCheck ? 'rotate' : 'notify';
    reason = rule.hasLivenessCheck
      ? `default: rule ${finding.ruleId} has a liveness check: rotate`
      : `default: rule ${finding.ruleId} has no liveness check: notify (closing needs a human's confirm_revoked)`;
  } else {
    action = settings.defaultAction;
    reason = `rotation.defaultAction: ${action}`;
  }

  const { rotation, notify } = targetsFor(finding, settings);
  if (action === 'rotate' && rotation.length === 0) {
    action = 'notify';
    reason += '; no rotation target matches (set KEYWARDEN_ROTATION_WEBHOOK_URL or rotation.targets): notify';
  }
  if (action === 'notify' && notify.length === 0) {
    action = 'none';
    reason += '; no notification target matches: none';
  }
  return {
    action,
    rotationTargets: action === 'rotate' ? rotation : [],
    notifyTargets: action === 'none' ? [] : notify,
    selfRevoke: selfRevokeFor(finding, settings),
    reason,
  };
}

/**
 * Every configured target for the finding, whatever the policy says (the emergency `keywarden rotate`
 * path). Rotation targets whose selector matches; the default target when none does. Notification
 * targets whose selector matches.
 */
export function targetsFor(
  finding: RotationFindingView,
  settings: Pick<RotationSettings, 'targets' | 'defaultTarget'>,
): { rotation: RotationTarget[]; notify: RotationTarget[] } {
  const rotation = settings.targets.filter(
    (t) => t.type === 'rotation' && t !== settings.defaultTarget && selects(t.match, finding),
  );
  if (rotation.length === 0 && settings.defaultTarget) rotation.push(settings.defaultTarget);
  const notify = settings.targets.filter((t) => t.type === 'notify' && selects(t.match, finding));
  return { rotation, notify };
}

/** A rule entry beats a provider entry beats the default. */
export function selfRevokeFor(
  finding: Pick<RotationFindingView, 'ruleId' | 'provider'>,
  settings: Pick<RotationSettings, 'selfRevoke'>,
): SelfRevokeMode {
  const s = settings.selfRevoke;
  return s.rules[finding.ruleId] ?? s.providers[providerKey(finding.provider)] ?? s.default;
}

/** Every field the selector lists must match; within a field any value may. An empty selector matches all. */
export function selects(s: Selector, finding: RotationFindingView): boolean {
  if (s.providers && !s.providers.includes(providerKey(finding.provider))) return false;
  if (s.rules && !s.rules.some((r) => globMatch(r, finding.ruleId))) return false;
  if (s.sources && !finding.locations.some((l) => (s.sources as readonly string[]).includes(l.kind))) return false;
  if (s.repositories) {
    const repos = s.repositories;
    // The store names a remote repository `https://github.com/acme/app` (`targetOf`); a selector may
    // leave the scheme out (`github.com/acme/**`), as the docs write them.
    const matchesRepo = (repo: string) =>
      repos.some((p) => globMatch(p, repo) || globMatch(p, repo.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')));
    if (!finding.locations.some((l) => l.repo !== undefined && matchesRepo(l.repo))) return false;
  }
  return true;
}

function describeSelector(s: Selector): string {
  const parts: string[] = [];
  if (s.providers) parts.push(`providers: ${s.providers.join(', ')}`);
  if (s.rules) parts.push(`rules: ${s.rules.join(', ')}`);
  if (s.sources) parts.push(`sources: ${s.sources.join(', ')}`);
  if (s.repositories) parts.push(`repositories: ${s.repositories.join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : 'every finding';
}

type GlobToken = { t: 'char'; c: string } | { t: 'star' } | { t: 'globstar' } | { t: 'globstar-slash' };

/**
 * Case-insensitive glob: `*` is any run without `/`, `**` any run, `**\/` zero or more whole parts.
 * Matched by walking a set of pattern positions (no backtracking), so a long hostile path costs
 * O(length x pattern) at most.
 */
export function globMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const tokens: GlobToken[] = [];
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '*' && p[i + 1] === '*') {
      if (p[i + 2] === '/') {
        tokens.push({ t: 'globstar-slash' });
        i += 2;
      } else {
        tokens.push({ t: 'globstar' });
        i += 1;
      }
    } else if (p[i] === '*') tokens.push({ t: 'star' });
    else tokens.push({ t: 'char', c: p[i] as string });
  }
  // A state is a token index; `-1 - i` is "inside token i" for `**/`, which may only be skipped
  // (match zero parts) before it has consumed anything.
  const closure = (states: Set<number>): Set<number> => {
    for (const i of states) if (i >= 0 && tokens[i] && tokens[i].t !== 'char') states.add(i + 1);
    return states;
  };
  let states = closure(new Set([0]));
  for (const ch of text.toLowerCase()) {
    const next = new Set<number>();
    for (const s of states) {
      const i = s >= 0 ? s : -1 - s;
      const tok = tokens[i];
      if (!tok) continue;
      if (tok.t === 'char') {
        if (tok.c === ch) next.add(i + 1);
      } else if (tok.t === 'star') {
        if (ch !== '/') next.add(i);
      } else if (tok.t === 'globstar') next.add(i);
      else {
        next.add(-1 - i);
        if (ch === '/') next.add(i + 1);
      }
    }
    if (next.size === 0) return false;
    states = closure(next);
  }
  return states.has(tokens.length);
}
