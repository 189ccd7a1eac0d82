import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import type { CustomerCall } from '../../acd/customer-call.ts';
import { SERVICE_LEVEL_SECONDS, summaryOf } from '../../acd/reports.ts';
import type { FloorCall } from '../../store/live.ts';
import { departmentCodeSchema } from '../../store/validation.ts';
import { startOfDay } from '../../util/day.ts';
import { type Api, idParam } from '../api.ts';
import { type BoardView as Board, boardSchema } from './board-schema.ts';
import { found } from './found.ts';

const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/** `part / whole` to one decimal; null when there is no whole. */
const average = (part: number, whole: number): number | null =>
  whole > 0 ? Math.round((part / whole) * 10) / 10 : null;

/** A department queue now: the calls waiting in it and the agents who could take one. */
export async function liveQueue(
  deps: HttpDeps,
  departmentId: number,
): Promise<{ waiting: readonly CustomerCall[]; readyAgents: number; loggedInAgents: number }> {
  const waiting = deps.acd.waiting(departmentId);
  let readyAgents = 0;
  let loggedInAgents = 0;
  for (const a of await deps.store.directory.listAgents({ departmentId })) {
    const s = await deps.agentStates.getState(a.id);
    if (s.state !== 'logged_out') loggedInAgents++;
    if (s.state === 'ready' && !(await deps.availability.isReserved(a.id))) readyAgents++;
  }
  return { waiting, readyAgents, loggedInAgents };
}

/** When the call's current wait began: its entry into the queue it is in now. */
export const waitingSince = (cc: CustomerCall): number | undefined => cc.queuedAt ?? cc.enteredAt;

/** The agent a live call is with, or is ringing. */
export const agentOfCall = (cc: CustomerCall): number | null =>
  cc.inCall?.currentAgentId ?? cc.offer?.agentId ?? null;

/** What the board and /calls/live both show of a live call, the agent named by login. */
export function liveCallFields(cc: CustomerCall, loginOf: ReadonlyMap<number, string>) {
  const agentId = agentOfCall(cc);
  return {
    id: cc.id,
    callerId: cc.callerId,
    hotline: cc.hotline,
    department: cc.department.code,
    state: cc.state,
    agentId,
    agentLogin: agentId === null ? null : (loginOf.get(agentId) ?? null),
    answeredAt: iso(cc.answeredAt),
  };
}

/**
 * The supervisor's live board of one company (issue 14 item 6): per department today's
 * figures (the report's sums, in SQL, over the CDRs of the company's local day) beside the queue now (the ACD's read
 * model), the agents with state, reason and today's handled calls, and the calls in progress.
 * Times are absolute (`…Since`, `answeredAt`, `now`): the console ticks them itself.
 */
export function boardRoutes(api: Api, deps: HttpDeps): void {
  const { store } = deps;
  api.route({
    method: 'GET',
    url: '/api/v1/board',
    tag: 'queues',
    summary: "Live board: departments with today's figures and their queue, agents, calls in progress",
    access: { level: 'read', company: 'query' },
    query: z.object({
      companyId: idParam.describe('The company (supervisors and viewers: one of theirs)'),
      department: departmentCodeSchema
        .optional()
        .describe('Only this department: its card, agents and calls'),
    }),
    response: boardSchema,
    handler: async ({ query }): Promise<Board> => {
      const company = found(await store.directory.getCompany(query.companyId), 'no such company');
      const now = deps.clock.wallNow();
      const { timeZone } = company.settings;
      const dayStart = startOfDay(now, timeZone);
      const period = { companyId: company.id, from: dayStart, to: now + 1 };
      const all = await store.directory.listDepartments(company.id);
      const shown = query.department === undefined ? all : all.filter((d) => d.code === query.department);
      const shownIds = new Set(shown.map((d) => d.id));
      const codeOf = new Map(all.map((d) => [d.id, d.code]));
      const [handleFigures, agents] = await Promise.all([
        store.agentStates.handleFigures(period),
        store.directory.listAgents({ companyId: company.id }),
      ]);
      const loginOf = new Map(agents.map((a) => [a.id, a.login]));
      // Several nodes: the other nodes' calls are in the shared store, not in this node's ACD.
      const remote: FloorCall[] = deps.live
        ? (await deps.live.floorCalls(company.id)).filter((c) => c.nodeId !== deps.live?.nodeId)
        : [];

      const departments: Board['departments'] = [];
      for (const d of shown) {
        const q = await liveQueue(deps, d.id);
        // The report's sums (GROUP BY in the database) over the day, in one bucket.
        const sums = await store.calls.aggregateCdr(
          { ...period, departmentId: d.id },
          { origin: dayStart, bucketMs: period.to - dayStart, serviceLevelMs: SERVICE_LEVEL_SECONDS * 1000 },
        );
        const f = summaryOf(sums, [], period.from, period.to, []);
        const since = [
          ...q.waiting.map(waitingSince),
          ...remote.filter((c) => c.departmentId === d.id).map((c) => c.waitingSince ?? undefined),
        ].filter((x): x is number => x !== undefined);
        const remoteWaiting = remote.filter((c) => c.departmentId === d.id && c.waitingSince !== null);
        departments.push({
          code: d.code,
          name: d.name,
          waiting: q.waiting.length + remoteWaiting.length,
          longestWaitSince: iso(since.length > 0 ? Math.min(...since) : undefined),
          readyAgents: q.readyAgents,
          loggedInAgents: q.loggedInAgents,
          today: {
            offered: f.calls,
            answered: f.answered,
            abandoned: f.abandoned,
            serviceLevel: f.serviceLevel,
            averageSpeedOfAnswer: f.averageSpeedOfAnswer,
          },
        });
      }

      const agentRows: Board['agents'] = [];
      for (const a of agents) {
        if (query.department !== undefined && !a.departments.some((x) => shownIds.has(x.departmentId)))
          continue;
        const s = await deps.agentStates.getState(a.id);
        const h = handleFigures.find((x) => x.agentId === a.id);
        agentRows.push({
          login: a.login,
          name: a.name,
          shortNumber: a.shortNumber,
          departments: a.departments.map((x) => codeOf.get(x.departmentId) ?? ''),
          state: s.state,
          stateSince: s.since ? iso(s.since) : null,
          stateReason: s.reason,
          today: { calls: h?.calls ?? 0, averageHandleTime: h ? average(h.handleSeconds, h.handled) : null },
        });
      }

      const calls: Board['calls'] = deps.acd.liveCalls
        .filter((cc) => cc.companyId === company.id && shownIds.has(cc.department.id) && cc.state !== 'ended')
        .map((cc) => {
          const { agentId: _agentId, ...shown } = liveCallFields(cc, loginOf);
          return { ...shown, waitingSince: cc.waiting ? iso(waitingSince(cc)) : null };
        });
      for (const c of remote) {
        if (c.departmentId === null || !shownIds.has(c.departmentId)) continue;
        const cdr = await store.calls.getCdr(c.callId);
        if (!cdr || cdr.endedAt !== null) continue;
        const state =
          c.waitingSince !== null
            ? c.agentId === null
              ? 'queued'
              : 'offering'
            : cdr.answeredAt !== null
              ? 'connected'
              : c.agentId === null
                ? 'greeting'
                : 'offering';
        calls.push({
          id: c.callId,
          callerId: cdr.callerId ?? '',
          hotline: cdr.hotline ?? '',
          department: codeOf.get(c.departmentId) ?? '',
          state,
          agentLogin: c.agentId === null ? null : (loginOf.get(c.agentId) ?? null),
          answeredAt: iso(cdr.answeredAt),
          waitingSince: iso(c.waitingSince),
        });
      }

      return {
        companyId: company.id,
        timeZone,
        now: new Date(now).toISOString(),
        dayStart: new Date(dayStart).toISOString(),
        serviceLevelSeconds: SERVICE_LEVEL_SECONDS,
        departments,
        agents: agentRows,
        calls,
      };
    },
  });
}
