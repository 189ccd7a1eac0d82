import type { AgentStateHistoryRow, Cdr } from '../store/store.ts';

/** Answered within this many seconds of entering the queue counts towards the service level. */
export const SERVICE_LEVEL_SECONDS = 20;

export interface AgentFigures {
  agentId: number;
  answered: number;
  talkSeconds: number;
  /** Seconds logged in (any state but logged_out) within the period. */
  loggedInSeconds: number;
  /** talk / logged-in time, 0…1; null when the agent was never logged in. */
  occupancy: number | null;
}

export interface Summary {
  from: number;
  to: number;
  calls: number;
  answered: number;
  abandoned: number;
  overflow: number;
  noAgents: number;
  /** Share of queued calls answered within SERVICE_LEVEL_SECONDS; null with no queued calls. */
  serviceLevel: number | null;
  /** Average seconds from queue entry to answer. */
  averageSpeedOfAnswer: number | null;
  /** Average talk seconds of answered calls. */
  averageHandleTime: number | null;
  /** Abandoned / (answered + abandoned). */
  abandonRate: number | null;
  agents: AgentFigures[];
}

const avg = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const round = (x: number | null, digits = 3): number | null =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * The supervisor's summary (SPEC §8) from the CDRs of calls started in
 * [from, to) and the agent state history. Pure: the same rows give the same figures.
 */
export function summarize(
  cdrs: readonly Cdr[],
  history: readonly AgentStateHistoryRow[],
  from: number,
  to: number,
  agentIds: readonly number[],
): Summary {
  const queued = cdrs.filter((c) => c.queuedAt !== null);
  const answered = cdrs.filter((c) => c.answeredAt !== null);
  const abandoned = cdrs.filter((c) => c.outcome === 'abandoned');
  const waits = answered
    .filter((c) => c.queuedAt !== null)
    .map((c) => ((c.answeredAt as number) - (c.queuedAt as number)) / 1000);
  const withinSl = waits.filter((w) => w <= SERVICE_LEVEL_SECONDS).length;
  const slBase = queued.filter((c) => c.answeredAt !== null || c.outcome === 'abandoned').length;
  const agents = agentIds.map((agentId) => {
    const mine = answered.filter((c) => c.agentIds.includes(agentId));
    const talkSeconds = mine.reduce((s, c) => s + (c.agentIds[0] === agentId ? c.talkSeconds : 0), 0);
    const loggedInSeconds =
      loggedInTime(
        history.filter((h) => h.agentId === agentId),
        from,
        to,
      ) / 1000;
    return {
      agentId,
      answered: mine.length,
      talkSeconds,
      loggedInSeconds: Math.round(loggedInSeconds),
      occupancy: loggedInSeconds > 0 ? round(Math.min(1, talkSeconds / loggedInSeconds)) : null,
    };
  });
  return {
    from,
    to,
    calls: cdrs.length,
    answered: answered.length,
    abandoned: abandoned.length,
    overflow: cdrs.filter((c) => c.outcome === 'overflow').length,
    noAgents: cdrs.filter((c) => c.outcome === 'no_agents').length,
    serviceLevel: slBase ? round(withinSl / slBase) : null,
    averageSpeedOfAnswer: round(avg(waits), 1),
    averageHandleTime: round(avg(answered.map((c) => c.talkSeconds)), 1),
    abandonRate:
      answered.length + abandoned.length
        ? round(abandoned.length / (answered.length + abandoned.length))
        : null,
    agents,
  };
}

/** Milliseconds of [from, to) the agent spent logged in, from their history rows (oldest first). */
export function loggedInTime(rows: readonly AgentStateHistoryRow[], from: number, to: number): number {
  const sorted = [...rows].sort((a, b) => a.at - b.at);
  let total = 0;
  // State at `from`: the `to` of the last row before it, else the `from` of the first row after.
  const before = sorted.filter((r) => r.at < from).pop();
  let state = before ? before.to : (sorted.find((r) => r.at >= from)?.from ?? 'logged_out');
  let since = from;
  for (const r of sorted) {
    if (r.at < from) continue;
    if (r.at >= to) break;
    if (state !== 'logged_out') total += r.at - since;
    state = r.to;
    since = r.at;
  }
  if (state !== 'logged_out') total += to - since;
  return total;
}
