import type { DistributionStrategy } from '../store/store.ts';

/** What the distributor knows of an agent who could take a call now. */
export interface Candidate {
  agentId: number;
  /** Priority in this department: 1 is the most preferred. */
  priority: number;
  /** Wall ms since the agent has been ready (idle since). */
  readySince: number;
}

/**
 * Orders ready agents for one department (SPEC §6): the distributor offers
 * the call to the first, and on no answer moves down the list.
 *
 * - longest_idle: the agent ready for the longest time first;
 * - round_robin: the agent after the one offered last, in a fixed (id) order;
 * - priority: the best priority first, then the longest idle.
 */
export function orderCandidates(
  strategy: DistributionStrategy,
  candidates: Candidate[],
  lastOffered: number | undefined,
): Candidate[] {
  const byIdle = (a: Candidate, b: Candidate): number => a.readySince - b.readySince || a.agentId - b.agentId;
  switch (strategy) {
    case 'longest_idle':
      return [...candidates].sort(byIdle);
    case 'priority':
      return [...candidates].sort((a, b) => a.priority - b.priority || byIdle(a, b));
    case 'round_robin': {
      const ring = [...candidates].sort((a, b) => a.agentId - b.agentId);
      if (lastOffered === undefined) return ring;
      const next = ring.findIndex((c) => c.agentId > lastOffered);
      return next < 0 ? ring : [...ring.slice(next), ...ring.slice(0, next)];
    }
  }
}
