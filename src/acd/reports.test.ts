import { describe, expect, it } from 'vitest';
import { loggedInTime, summarize } from './reports.ts';
import type { AgentStateHistoryRow, Cdr } from '../store/store.ts';
import { completeCdr } from '../store/rules.ts';

const cdr = (p: Partial<Cdr>): Cdr =>
  completeCdr({
    id: Math.random().toString(),
    startedAt: 0,
    companyId: 1,
    hotline: '+7',
    callerId: '1',
    departmentId: 1,
    queuedAt: 0,
    ...p,
  });
const row = (
  at: number,
  from: AgentStateHistoryRow['from'],
  to: AgentStateHistoryRow['to'],
): AgentStateHistoryRow => ({ id: at, agentId: 7, at, from, to, reason: '', source: 'ivr' });

describe('summarize', () => {
  it('computes service level, ASA, AHT and abandon rate', () => {
    const s = summarize(
      [
        cdr({ queuedAt: 0, answeredAt: 10_000, outcome: 'answered', talkSeconds: 60, agentIds: [7] }),
        cdr({ queuedAt: 0, answeredAt: 30_000, outcome: 'answered', talkSeconds: 120, agentIds: [7] }),
        cdr({ queuedAt: 0, outcome: 'abandoned' }),
        cdr({ queuedAt: null, outcome: 'no_agents' }),
      ],
      [row(0, 'logged_out', 'ready')],
      0,
      600_000,
      [7],
    );
    expect(s.calls).toBe(4);
    expect(s.serviceLevel).toBeCloseTo(1 / 3, 3);
    expect(s.averageSpeedOfAnswer).toBe(20);
    expect(s.averageHandleTime).toBe(90);
    expect(s.abandonRate).toBeCloseTo(1 / 3, 3);
    expect(s.noAgents).toBe(1);
    expect(s.agents[0]).toMatchObject({
      answered: 2,
      talkSeconds: 180,
      loggedInSeconds: 600,
      occupancy: 0.3,
    });
  });

  it("credits each agent with their own talk: the first is not credited with the second's (issue 14)", () => {
    const handed: Partial<Cdr> = { answeredAt: 5000, outcome: 'transferred', agentIds: [7, 8], transfers: 1 };
    const split = cdr({
      ...handed,
      talkSeconds: 40,
      agentTalk: [
        { agentId: 7, talkSeconds: 10 },
        { agentId: 8, talkSeconds: 30 },
      ],
    });
    const s = summarize(
      [
        split,
        split,
        // To an outside number after 15 s: the 25 s after it are nobody's.
        cdr({ ...handed, agentIds: [7], talkSeconds: 40, agentTalk: [{ agentId: 7, talkSeconds: 15 }] }),
        cdr({ answeredAt: 5000, outcome: 'answered', agentIds: [8], talkSeconds: 60 }),
      ],
      [],
      0,
      600_000,
      [7, 8],
    );
    expect(s.agents.map((a) => [a.agentId, a.answered, a.talkSeconds])).toEqual([
      [7, 3, 35],
      [8, 3, 120],
    ]);
  });

  it('counts logged-in time inside the period only', () => {
    const rows = [
      row(-1000, 'logged_out', 'ready'),
      row(5000, 'ready', 'logged_out'),
      row(8000, 'logged_out', 'ready'),
    ];
    expect(loggedInTime(rows, 0, 10_000)).toBe(5000 + 2000);
  });
});
