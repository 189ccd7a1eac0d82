import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AccessStore } from '../store/store.ts';

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Audit this route's changes even without a principal (a failed sign-in). */
    auditAnonymous?: boolean;
  }
}

/**
 * Every change through the API (POST, PUT, PATCH, DELETE on a matched /api/ route) is an
 * audit row once answered: who (user, token or the admin token), what (method, route
 * template, path parameters and status), when, from where. Never the body: it may hold a
 * PIN or a password. Requests refused before anyone was identified (401, 429) are not
 * rows — they would let anyone fill the log; the throttle's warn line covers them.
 */
export function auditChanges(
  app: FastifyInstance,
  access: AccessStore,
  wallNow: () => number,
  logger: Logger,
): void {
  app.addHook('onResponse', async (req, reply) => {
    if (!CHANGES.has(req.method)) return;
    const route = req.routeOptions.url;
    if (route === undefined || !route.startsWith('/api/')) return;
    const p = req.principal;
    if (!p && !req.routeOptions.config.auditAnonymous) return;
    // Anonymous rows are sign-ins actually checked (200 or 401): a throttled (429) or malformed
    // (400) attempt is no row, or anyone could grow the audit log at request rate.
    if (!p && reply.statusCode !== 200 && reply.statusCode !== 401) return;
    const params = Object.fromEntries(
      Object.entries((req.params ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
    );
    try {
      await access.appendAudit({
        at: wallNow(),
        actorKind: p?.kind ?? 'anonymous',
        actor: p?.name ?? '',
        method: req.method,
        route,
        params,
        status: reply.statusCode,
        source: req.ip,
      });
    } catch (err) {
      logger.warn({ err, route, method: req.method }, 'audit row not written');
    }
  });
}
