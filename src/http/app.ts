import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Server } from '../server.ts';
import { HttpError } from './errors.ts';
import { requireBearer } from './auth.ts';
import { agentRoutes } from './routes/agents.ts';
import { callRoutes } from './routes/calls.ts';
import { isAppError } from '../util/errors.ts';

export interface HttpDeps {
  server: Server;
  logger: Logger;
}

export { HttpError };

export async function buildHttpApp({ server, logger }: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, disableRequestLogging: true, bodyLimit: 1 << 20 });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof HttpError) return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
    if (isAppError(err)) {
      const status = APP_ERROR_STATUS[err.code] ?? 400;
      return reply.status(status).send({ error: { code: err.code, message: err.message } });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) logger.error({ err }, 'HTTP handler failed');
    return reply.status(status).send({ error: { code: status >= 500 ? 'internal' : 'bad_request', message: status >= 500 ? 'internal error' : err.message } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url}` } }));

  app.get('/healthz', async (_req, reply) => {
    if (!server.ready) return reply.status(503).send({ status: 'stopping' });
    return { status: 'ok', sipPort: server.sipPort };
  });

  requireBearer(app, () => server.adminToken);
  agentRoutes(app, server.store, server.agentStates);
  callRoutes(app, server);
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
