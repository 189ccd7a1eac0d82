import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import type { AgentStateChange } from '../../acd/agent-state.ts';
import type { AcdEvent } from '../../acd/acd.ts';
import { type Api, companyIdQuery } from '../api.ts';

export const HEARTBEAT_MS = 15_000;

/**
 * Live updates by Server-Sent Events (SPEC §9). Events:
 * - `agent`: `{ login, name, companyId, from, to, reason, source, at }` on every agent state change;
 * - `call`: `{ kind, callId, companyId, department, agentLogin, detail, at }` on every
 *   queue event (`enter`, `offer`, `connect`, `abandon`, `ended` …).
 * Scoped to `companyId` when given. A comment line every 15 s keeps proxies from closing the stream.
 * The console's EventSource authenticates with the session cookie; other clients with a bearer header.
 *
 * Returns what the app needs at shutdown: an open stream would hold `close()` forever.
 */
export function eventRoutes(api: Api, deps: HttpDeps): { readonly open: number; endAll(): void } {
  const streams = new Set<() => void>();

  api.route({
    method: 'GET',
    url: '/api/v1/events',
    tag: 'events',
    summary: 'Server-Sent Events: agent state changes (`agent`) and queue/call events (`call`)',
    produces: 'text/event-stream',
    access: { level: 'read', company: 'query' },
    query: z.object({
      companyId: companyIdQuery,
      heartbeatMs: z.coerce
        .number()
        .int()
        .min(500)
        .max(60_000)
        .optional()
        .describe('Milliseconds between the comment lines that keep the stream open (default 15000)'),
    }),
    handler: async ({ query, req, reply, scope }) => {
      const { store } = deps;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        // One stream per connection: when the stream ends, so does the connection (nothing lingers at shutdown).
        connection: 'close',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 3000\n: connected\n\n`);
      const send = (event: string, data: unknown): void => {
        if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const loginOf = async (agentId: number | null): Promise<{ login: string; name: string } | null> => {
        if (agentId === null) return null;
        const a = await store.directory.getAgent(agentId);
        return a ? { login: a.login, name: a.name } : null;
      };
      const onAgent = (c: AgentStateChange): void => {
        if (!scope.allows(c.companyId)) return;
        void loginOf(c.agentId)
          .then((a) =>
            send('agent', {
              login: a?.login ?? null,
              name: a?.name ?? null,
              companyId: c.companyId,
              from: c.from,
              to: c.to,
              reason: c.reason,
              source: c.source,
              at: new Date(c.at).toISOString(),
            }),
          )
          .catch(() => undefined);
      };
      const onCall = (e: AcdEvent): void => {
        if (!scope.allows(e.companyId)) return;
        void (async () => {
          const agent = await loginOf(e.agentId);
          const dep = e.departmentId === null ? null : await store.directory.getDepartment(e.departmentId);
          send('call', {
            kind: e.kind,
            callId: e.callId,
            companyId: e.companyId,
            department: dep?.code ?? null,
            agentLogin: agent?.login ?? null,
            detail: e.detail,
            at: new Date(e.at).toISOString(),
          });
        })().catch(() => undefined);
      };
      // With several nodes, the whole floor's events (every node's), else this server's.
      const offAgent = (deps.floor ?? deps.agentStates).onChange(onAgent);
      const offCall = (deps.floor ?? deps.acd).onEvent(onCall);
      const heartbeat = setInterval(() => {
        if (!res.writableEnded) res.write(': ping\n\n');
      }, query.heartbeatMs ?? HEARTBEAT_MS);
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        offAgent();
        offCall();
        streams.delete(end);
        if (!res.writableEnded) res.end();
      };
      streams.add(end);
      req.raw.on('close', end);
      res.on('close', end);
      res.on('error', end);
      // The client may have gone while the auth hook awaited: its `close` will not fire again.
      if (req.raw.destroyed || res.destroyed) end();
    },
  });
  return {
    get open() {
      return streams.size;
    },
    endAll() {
      for (const end of [...streams]) end();
    },
  };
}
