import { describe, expect, it } from 'vitest';
import { orderCandidates, type Candidate } from './strategies.ts';

const c = (agentId: number, priority: number, readySince: number): Candidate => ({
  agentId,
  priority,
  readySince,
});
const ids = (list: Candidate[]): number[] => list.map((x) => x.agentId);

describe('orderCandidates', () => {
  const pool = [c(3, 2, 100), c(1, 1, 300), c(2, 1, 200)];

  it('longest_idle puts the agent ready longest first', () => {
    expect(ids(orderCandidates('longest_idle', pool, undefined))).toEqual([3, 2, 1]);
  });

  it('priority puts priority 1 first, then the longest idle', () => {
    expect(ids(orderCandidates('priority', pool, undefined))).toEqual([2, 1, 3]);
  });

  it('round_robin continues after the agent offered last and wraps', () => {
    expect(ids(orderCandidates('round_robin', pool, undefined))).toEqual([1, 2, 3]);
    expect(ids(orderCandidates('round_robin', pool, 1))).toEqual([2, 3, 1]);
    expect(ids(orderCandidates('round_robin', pool, 3))).toEqual([1, 2, 3]);
  });
});
