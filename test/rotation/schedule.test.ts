import { describe, expect, it } from 'vitest';
import type { RevocationSchedule } from '../../config/sections/rotation.js';
import {
  callbackOverdue,
  nextRevocationCheck,
  pollDelay,
  type RevocationProgress,
  slaDeadline,
} from '../../rotation/schedule.js';
import { settings } from './fixtures.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const defaults = settings().revocation;

describe('revocation poll schedule', () => {
  it('defaults: first check 30 s after the callback, then 1 m, 2 m, 4 m ... up to 1 h', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => pollDelay(n, defaults))).toEqual([
      30 * S,
      1 * M,
      2 * M,
      4 * M,
      8 * M,
      16 * M,
      32 * M,
      H,
      H,
      H,
    ]);
  });

  it('never overflows to Infinity with a huge count', () => {
    expect(pollDelay(100_000, defaults)).toBe(H);
  });

  const s: RevocationSchedule = { firstPollMs: 30 * S, pollIntervalMs: M, maxPollIntervalMs: 10 * M, backoffFactor: 2, slaMs: H };
  const requestedAt = 1_000_000;
  const deadline = requestedAt + H;
  const cases: Record<string, { p: RevocationProgress; want: { escalate: boolean; at: number; check: number } }> = {
    'first check: first-poll delay after the callback': {
      p: { requestedAt, rotatedAt: requestedAt + 5 * M, checksDone: 0, escalated: false },
      want: { escalate: false, at: requestedAt + 5 * M + 30 * S, check: 1 },
    },
    'second check: the poll interval after the first': {
      p: { requestedAt, rotatedAt: requestedAt, checksDone: 1, lastCheckAt: requestedAt + 30 * S, escalated: false },
      want: { escalate: false, at: requestedAt + 90 * S, check: 2 },
    },
    'backoff doubles the wait': {
      p: { requestedAt, rotatedAt: requestedAt, checksDone: 3, lastCheckAt: requestedAt + 10 * M, escalated: false },
      want: { escalate: false, at: requestedAt + 14 * M, check: 4 },
    },
    'up to the cap': {
      p: { requestedAt, rotatedAt: requestedAt, checksDone: 9, lastCheckAt: requestedAt + 20 * M, escalated: false },
      want: { escalate: false, at: requestedAt + 30 * M, check: 10 },
    },
    'the last check before the deadline lands on the deadline': {
      p: { requestedAt, rotatedAt: requestedAt, checksDone: 9, lastCheckAt: deadline - 2 * M, escalated: false },
      want: { escalate: false, at: deadline, check: 10 },
    },
    'a check at the deadline that found the key alive escalates; checks go on at the cap': {
      p: { requestedAt, rotatedAt: requestedAt, checksDone: 10, lastCheckAt: deadline, escalated: false },
      want: { escalate: true, at: deadline + 10 * M, check: 11 },
    },
    'once escalated, never again; checks go on at the cap': {
      p: { requestedAt, rotatedAt: requestedAt, checksDone: 11, lastCheckAt: deadline + 10 * M, escalated: true },
      want: { escalate: false, at: deadline + 20 * M, check: 12 },
    },
    'a callback after the deadline is checked at once, then escalates': {
      p: { requestedAt, rotatedAt: deadline + M, checksDone: 0, escalated: false },
      want: { escalate: false, at: deadline + M, check: 1 },
    },
    'a callback just before the deadline: first check not later than the deadline': {
      p: { requestedAt, rotatedAt: deadline - 10 * S, checksDone: 0, escalated: false },
      want: { escalate: false, at: deadline, check: 1 },
    },
    'a rotation after an escalation keeps the first-poll delay': {
      p: { requestedAt, rotatedAt: deadline + H, checksDone: 0, escalated: true },
      want: { escalate: false, at: deadline + H + 30 * S, check: 1 },
    },
  };
  for (const [name, c] of Object.entries(cases)) it(name, () => expect(nextRevocationCheck(c.p, s)).toEqual(c.want));

  it('a first poll of 0 s checks at once (tests, bench:loop)', () => {
    const fast = { ...s, firstPollMs: 0 };
    expect(nextRevocationCheck({ requestedAt, rotatedAt: requestedAt + 7, checksDone: 0, escalated: false }, fast).at).toBe(
      requestedAt + 7,
    );
  });

  it('walking the whole schedule with a key that never dies: one escalation, at the deadline, then the cap', () => {
    let p: RevocationProgress = { requestedAt, rotatedAt: requestedAt + M, checksDone: 0, escalated: false };
    const times: number[] = [];
    let escalatedAt: number | null = null;
    for (let i = 0; i < 20; i++) {
      const step = nextRevocationCheck(p, s);
      if (step.escalate) {
        expect(escalatedAt).toBeNull();
        escalatedAt = p.lastCheckAt ?? null;
      }
      times.push(step.at);
      p = { ...p, checksDone: step.check, lastCheckAt: step.at, escalated: p.escalated || step.escalate };
    }
    expect(escalatedAt).toBe(deadline);
    expect(times.filter((t) => t <= deadline).at(-1)).toBe(deadline);
    expect(times.every((t, i) => i === 0 || t > (times[i - 1] as number))).toBe(true);
  });
});

describe('SLA', () => {
  it('the deadline is the request plus the SLA; the callback wait is overdue from then on', () => {
    expect(slaDeadline(1000, { slaMs: 24 * H })).toBe(1000 + 24 * H);
    expect(callbackOverdue(1000, 1000 + 24 * H - 1, { slaMs: 24 * H })).toBe(false);
    expect(callbackOverdue(1000, 1000 + 24 * H, { slaMs: 24 * H })).toBe(true);
  });
});
