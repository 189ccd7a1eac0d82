import type { AgentStateHistoryRow, Cdr, CdrAggregates, CdrTotals } from '../store/store.ts';
import { agentSet, splitOf } from '../store/rules.ts';

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

const round = (x: number | null, digits = 3): number | null =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;

/** The sums of an empty set of calls. */
const NO_CALLS: CdrTotals = {
  calls: 0,
  answered: 0,
  abandoned: 0,
  overflow: 0,
  noAgents: 0,
  queuedSettled: 0,
  answeredWithin: 0,
  waited: 0,
  waitMs: 0,
  talkSeconds: 0,
};

export function addTotals(a: CdrTotals, b: CdrTotals): CdrTotals {
  const out = { ...a };
  for (const k of Object.keys(NO_CALLS) as (keyof CdrTotals)[]) out[k] += b[k];
  return out;
}

/**
 * What the report is computed from, added up over rows in memory: the same sums a store makes
 * in SQL (`CallRecordStore.aggregateCdr`), with every CDR in one bucket.
 */
export function aggregate(cdrs: readonly Cdr[]): CdrAggregates {
  const totals = cdrs.map((c): CdrTotals => {
    const answered = c.answeredAt !== null;
    const wait = answered && c.queuedAt !== null ? (c.answeredAt as number) - c.queuedAt : null;
    return {
      calls: 1,
      answered: Number(answered),
      abandoned: Number(c.outcome === 'abandoned'),
      overflow: Number(c.outcome === 'overflow'),
      noAgents: Number(c.outcome === 'no_agents'),
      queuedSettled: Number(c.queuedAt !== null && (answered || c.outcome === 'abandoned')),
      answeredWithin: Number(wait !== null && wait <= SERVICE_LEVEL_SECONDS * 1000),
      waited: Number(wait !== null),
      waitMs: wait ?? 0,
      talkSeconds: answered ? c.talkSeconds : 0,
    };
  });
  const sets = new Map<string, CdrAggregates['agentSets'][number]>();
  for (const c of cdrs) {
    if (c.answeredAt === null) continue;
    const split = splitOf(c);
    const key = JSON.stringify([c.agentIds, split]);
    const set = sets.get(key) ?? agentSet(c.agentIds, 0, 0, split);
    set.answered++;
    set.talkSeconds += c.talkSeconds;
    sets.set(key, set);
  }
  return { buckets: [{ bucket: 0, ...totals.reduce(addTotals, NO_CALLS) }], agentSets: [...sets.values()] };
}

const ratio = (n: number, of: number): number | null => (of ? round(n / of) : null);

/** Calls, answers, abandons and the service level of some sums. */
function counts(t: CdrTotals): Pick<Summary, 'calls' | 'answered' | 'abandoned' | 'serviceLevel'> {
  return {
    calls: t.calls,
    answered: t.answered,
    abandoned: t.abandoned,
    serviceLevel: ratio(t.answeredWithin, t.queuedSettled),
  };
}

/**
 * The supervisor's summary (SPEC §8) of calls started in [from, to) from their sums and the
 * agent state history. Pure: the same sums give the same figures.
 */
export function summaryOf(
  sums: CdrAggregates,
  history: readonly AgentStateHistoryRow[],
  from: number,
  to: number,
  agentIds: readonly number[],
): Summary {
  const t = sums.buckets.reduce<CdrTotals>(addTotals, NO_CALLS);
  const agents = agentIds.map((agentId) => {
    const mine = sums.agentSets.filter((s) => s.agentIds.includes(agentId));
    // Each agent's own talk where the call changed hands; else (one agent, or a row older than
    // the split) the first agent's.
    const talkSeconds = mine.reduce(
      (n, s) =>
        n +
        (s.agentTalk
          ? s.answered * s.agentTalk.reduce((m, t) => m + (t.agentId === agentId ? t.talkSeconds : 0), 0)
          : s.agentIds[0] === agentId
            ? s.talkSeconds
            : 0),
      0,
    );
    const loggedInSeconds =
      loggedInTime(
        history.filter((h) => h.agentId === agentId),
        from,
        to,
      ) / 1000;
    return {
      agentId,
      answered: mine.reduce((n, s) => n + s.answered, 0),
      talkSeconds,
      loggedInSeconds: Math.round(loggedInSeconds),
      occupancy: loggedInSeconds > 0 ? round(Math.min(1, talkSeconds / loggedInSeconds)) : null,
    };
  });
  return {
    from,
    to,
    ...counts(t),
    overflow: t.overflow,
    noAgents: t.noAgents,
    averageSpeedOfAnswer: t.waited ? round(t.waitMs / 1000 / t.waited, 1) : null,
    averageHandleTime: t.answered ? round(t.talkSeconds / t.answered, 1) : null,
    abandonRate: ratio(t.abandoned, t.answered + t.abandoned),
    agents,
  };
}

/** The summary computed from rows in memory (`summaryOf` their `aggregate`). */
export function summarize(
  cdrs: readonly Cdr[],
  history: readonly AgentStateHistoryRow[],
  from: number,
  to: number,
  agentIds: readonly number[],
): Summary {
  return summaryOf(aggregate(cdrs), history, from, to, agentIds);
}

export const HOUR_MS = 3600_000;

/**
 * Calls per started hour with that hour's service level, for `count` hours from `first`, from
 * sums bucketed by the hour from `first` (buckets past `count` are left out).
 */
export function byHour(
  buckets: CdrAggregates['buckets'],
  first: number,
  count: number,
): (ReturnType<typeof counts> & { hour: string })[] {
  const at = new Map(buckets.map((b) => [b.bucket, b]));
  return Array.from({ length: count }, (_, i) => ({
    hour: new Date(first + i * HOUR_MS).toISOString(),
    ...counts(at.get(i) ?? NO_CALLS),
  }));
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
