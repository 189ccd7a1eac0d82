import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.ts';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Every /api/ route needs `Authorization: Bearer <token>` (compared in constant time). */
export function requireBearer(app: FastifyInstance, token: () => string): void {
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/api/')) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m?.[1]) throw new HttpError(401, 'unauthorized', 'missing bearer token');
    if (!timingSafeEqual(digest(m[1]), digest(token()))) throw new HttpError(401, 'unauthorized', 'invalid token');
  });
}
