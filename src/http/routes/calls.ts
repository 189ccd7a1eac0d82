import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Server } from '../../server.ts';
import { summarize } from '../../acd/reports.ts';
import { HttpError } from '../errors.ts';

const range = z.object({
  from: z.string().optional(),
  to: z.string().optional(),
  companyId: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

/** ISO time or epoch ms → epoch ms. */
function parseTime(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw new HttpError(400, 'invalid_time', `${name} must be an ISO time or epoch milliseconds`);
  return n;
}

function parseRange(query: unknown, now: number): { from: number; to: number; companyId?: number; limit?: number } {
  const q = range.safeParse(query);
  if (!q.success) throw new HttpError(400, 'invalid_query', q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const from = parseTime(q.data.from, 'from', now - 24 * 3600_000);
  const to = parseTime(q.data.to, 'to', now + 1);
  if (to <= from) throw new HttpError(400, 'invalid_range', 'to must be after from');
  return { from, to, companyId: q.data.companyId, limit: q.data.limit };
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** CDRs, live calls, queues and the summary report (issue 4 §4). */
export function callRoutes(app: FastifyInstance, server: Server): void {
  const { store } = server;

  app.get('/api/v1/calls', async (req) => {
    const r = parseRange(req.query, server.clock.wallNow());
    const cdrs = await store.calls.listCdr({ from: r.from, to: r.to, companyId: r.companyId, limit: r.limit ?? 1000 });
    return {
      calls: cdrs.map((c) => ({
        ...c,
        startedAt: iso(c.startedAt),
        queuedAt: iso(c.queuedAt),
        answeredAt: iso(c.answeredAt),
        endedAt: iso(c.endedAt),
        queueSeconds: c.queuedAt !== null ? Math.round(((c.answeredAt ?? c.endedAt ?? c.queuedAt) - c.queuedAt) / 1000) : null,
      })),
    };
  });

  app.get('/api/v1/calls/live', async () => {
    const now = server.clock.wallNow();
    return {
      calls: server.acd.liveCalls.map((cc) => ({
        id: cc.id,
        companyId: cc.companyId,
        hotline: cc.hotline,
        callerId: cc.callerId,
        department: cc.department.code,
        state: cc.state,
        agentId: cc.inCall?.currentAgentId ?? cc.offer?.agentId ?? null,
        waitingSeconds: cc.enteredAt !== undefined ? Math.round(((cc.answeredAt ?? now) - cc.enteredAt) / 1000) : 0,
        startedAt: iso(cc.startedAt),
      })),
    };
  });

  app.get('/api/v1/queues', async () => {
    const now = server.clock.wallNow();
    const out = [];
    for (const company of await store.directory.listCompanies()) {
      for (const d of await store.directory.listDepartments(company.id)) {
        const waiting = server.acd.waiting(d.id);
        const agents = await store.directory.listAgents({ departmentId: d.id });
        let ready = 0;
        let loggedIn = 0;
        for (const a of agents) {
          const s = await server.agentStates.getState(a.id);
          if (s.state !== 'logged_out') loggedIn++;
          if (s.state === 'ready' && !server.acd.isEngaged(a.id)) ready++;
        }
        const longest = waiting.reduce((m, cc) => Math.max(m, now - (cc.enteredAt ?? now)), 0);
        out.push({
          companyId: company.id,
          departmentId: d.id,
          code: d.code,
          name: d.name,
          strategy: d.strategy,
          waiting: waiting.length,
          longestWaitSeconds: Math.round(longest / 1000),
          readyAgents: ready,
          loggedInAgents: loggedIn,
        });
      }
    }
    return { queues: out };
  });

  app.get('/api/v1/reports/summary', async (req) => {
    const r = parseRange(req.query, server.clock.wallNow());
    const cdrs = await store.calls.listCdr({ from: r.from, to: r.to, companyId: r.companyId, limit: 100_000 });
    const agents = await store.directory.listAgents(r.companyId ? { companyId: r.companyId } : undefined);
    const history = await store.agentStates.listStateHistory({ until: r.to });
    const summary = summarize(cdrs, history, r.from, r.to, agents.map((a) => a.id));
    const login = new Map(agents.map((a) => [a.id, a.login]));
    return {
      ...summary,
      from: iso(summary.from),
      to: iso(summary.to),
      agents: summary.agents.map((a) => ({ login: login.get(a.agentId), ...a })),
    };
  });
}
