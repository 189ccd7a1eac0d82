import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { HttpDeps } from './deps.ts';
import { HttpError } from './errors.ts';
import { requireAuth } from './auth.ts';
import { auditChanges } from './audit.ts';
import { DEFAULT_AUTH_THROTTLE } from './throttle.ts';
import { accessRoutes } from './routes/access.ts';
import { Api } from './api.ts';
import { buildOpenApi } from './openapi.ts';
import { staticRoutes } from './static.ts';
import { agentRoutes } from './routes/agents.ts';
import { callRoutes } from './routes/calls.ts';
import { recordingRoutes } from './routes/recordings.ts';
import { boardRoutes } from './routes/board.ts';
import { supervisorActionRoutes } from './routes/supervisor-actions.ts';
import { companyRoutes } from './routes/companies.ts';
import { departmentRoutes } from './routes/departments.ts';
import { numberRoutes } from './routes/numbers.ts';
import { sipAccountRoutes } from './routes/sip-accounts.ts';
import { trunkRoutes } from './routes/trunks.ts';
import { eventRoutes } from './routes/events.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { isAppError } from '../util/errors.ts';

export interface HttpAppOptions {
  deps: HttpDeps;
  logger: Logger;
  /** Where the built console is (default `web/dist`). */
  webRoot?: string;
  /** Failed sign-ins / wrong tokens allowed per source address and window (default 10 a minute). */
  authThrottle?: { failures: number; windowMs: number };
}

export { HttpError };

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export async function buildHttpApp({
  deps,
  logger,
  webRoot,
  authThrottle,
}: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request access logs would drown the call logs; errors still go through the handler below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1 << 20,
    // At shutdown close every socket, not only idle ones: a client's pre-opened connection
    // that never sends a request would otherwise hold close() until the client gives up on it.
    forceCloseConnections: true,
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof HttpError)
      return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
    if (isAppError(err)) {
      const status = APP_ERROR_STATUS[err.code] ?? 400;
      return reply.status(status).send({ error: { code: err.code, message: err.message } });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) logger.error({ err }, 'HTTP handler failed');
    return reply.status(status).send({
      error: {
        code: status >= 500 ? 'internal' : 'bad_request',
        message: status >= 500 ? 'internal error' : err.message,
      },
    });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url}` } }),
  );

  app.get('/healthz', { config: { auth: 'public' } }, async (_req, reply) => {
    if (!deps.status.ready()) return reply.status(503).send({ status: 'stopping' });
    return { status: 'ok', sipPort: deps.status.sipPort() };
  });

  const throttle = requireAuth(app, {
    access: deps.store.access,
    adminTokenSha256: () => deps.status.adminTokenSha256(),
    metricsToken: () => deps.status.metricsToken(),
    wallNow: () => deps.clock.wallNow(),
    throttle: { ...(authThrottle ?? DEFAULT_AUTH_THROTTLE), now: () => deps.clock.now() },
    logger,
  });
  auditChanges(app, deps.store.access, () => deps.clock.wallNow(), logger);
  const api = new Api(app);
  accessRoutes(api, deps, throttle);
  companyRoutes(api, deps);
  departmentRoutes(api, deps);
  agentRoutes(api, deps);
  numberRoutes(api, deps);
  sipAccountRoutes(api, deps);
  trunkRoutes(api, deps);
  callRoutes(api, deps);
  recordingRoutes(api, deps);
  boardRoutes(api, deps);
  supervisorActionRoutes(api, deps);
  const events = eventRoutes(api, deps);
  let openapi: Record<string, unknown> | undefined;
  api.route({
    method: 'GET',
    url: '/api/v1/openapi.json',
    tag: 'meta',
    summary: 'This document (no credentials needed)',
    public: true,
    handler: async () => (openapi ??= buildOpenApi(api, VERSION)),
  });
  const metrics = metricsRoutes(app, deps, () => events.open, logger);
  staticRoutes(app, webRoot);

  // Event streams never end by themselves: end them before the server waits for its connections.
  app.addHook('preClose', (done) => {
    events.endAll();
    metrics.close();
    done();
  });
  return app;
}

const APP_ERROR_STATUS: Record<string, number> = {
  not_found: 404,
  conflict: 409,
  invalid_input: 400,
  invalid_reference: 400,
  invalid_transition: 409,
  closed: 503,
};
