import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';

/**
 * Who may call a route, set in the route's `config` when it is registered:
 * - `public`: anyone (`/healthz`, the OpenAPI document, the console's files);
 * - `metrics`: the metrics token when one is configured, else anyone;
 * - absent: a valid bearer token. Every route is private unless it says otherwise.
 */
export type RouteAuth = 'public' | 'metrics';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    /** EventSource cannot send headers: this route also takes `?token=`. */
    tokenInQuery?: boolean;
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time comparison of two secrets (of any length). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function bearerOf(req: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

export interface AuthOptions {
  adminToken: () => string;
  /** The `/metrics` token; undefined leaves it open. */
  metricsToken?: () => string | undefined;
}

/**
 * Authentication decided on the route Fastify matched, never on the URL text: a
 * percent-encoded, upper-case or double-slash path either matches a route (and gets
 * that route's rule) or matches none and gets the not-found route, which is private
 * too — so an unknown path answers 401 without a token and tells nothing about
 * which routes exist.
 */
export function requireAuth(app: FastifyInstance, opts: AuthOptions): void {
  app.addHook('onRequest', async (req) => {
    const auth = req.routeOptions.config.auth;
    if (auth === 'public') return;
    if (auth === 'metrics') {
      const expected = opts.metricsToken?.();
      if (expected === undefined) return;
      const presented = bearerOf(req);
      if (!presented || !sameSecret(presented, expected))
        throw new HttpError(401, 'unauthorized', 'missing or invalid metrics token');
      return;
    }
    let presented = bearerOf(req);
    if (!presented && req.routeOptions.config.tokenInQuery)
      presented = (req.query as Record<string, string | undefined>).token;
    if (!presented) throw new HttpError(401, 'unauthorized', 'missing bearer token');
    if (!sameSecret(presented, opts.adminToken())) throw new HttpError(401, 'unauthorized', 'invalid token');
  });
}
