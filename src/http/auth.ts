import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.ts';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Routes under /api/ that need no token. */
const PUBLIC = new Set(['/api/v1/openapi.json']);
/** Routes that also take the token as `?token=` (EventSource cannot send headers). */
const QUERY_TOKEN = new Set(['/api/v1/events']);

/**
 * Every /api/ route needs `Authorization: Bearer <token>` (compared in constant time),
 * but for the OpenAPI document; the event stream also accepts `?token=`.
 */
export function requireBearer(app: FastifyInstance, token: () => string): void {
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/api/')) return;
    const [pathname = '', search = ''] = req.url.split('?', 2);
    if (PUBLIC.has(pathname)) return;
    const header = req.headers.authorization ?? '';
    let presented = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!presented && QUERY_TOKEN.has(pathname))
      presented = new URLSearchParams(search).get('token') ?? undefined;
    if (!presented) throw new HttpError(401, 'unauthorized', 'missing bearer token');
    if (!timingSafeEqual(digest(presented), digest(token())))
      throw new HttpError(401, 'unauthorized', 'invalid token');
  });
}
