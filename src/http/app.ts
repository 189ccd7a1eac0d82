import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Server } from '../server.ts';

export interface HttpDeps {
  server: Server;
  logger: Logger;
}

/** One error shape for every route: `{ "error": { "code", "message" } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function buildHttpApp({ server, logger }: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: logger, disableRequestLogging: true, bodyLimit: 1 << 20 });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof HttpError) return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) logger.error({ err }, 'HTTP handler failed');
    return reply.status(status).send({ error: { code: status >= 500 ? 'internal' : 'bad_request', message: status >= 500 ? 'internal error' : err.message } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url}` } }));

  app.get('/healthz', async (_req, reply) => {
    if (!server.ready) return reply.status(503).send({ status: 'stopping' });
    return { status: 'ok', sipPort: server.sipPort };
  });

  return app;
}
