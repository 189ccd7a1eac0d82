import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AccessStore, Role, User } from '../store/store.ts';
import { HttpError } from './errors.ts';
import { FailureThrottle, sourceKey, type ThrottleOptions } from './throttle.ts';

/**
 * Who may reach a route at all, set in the route's `config` when it is registered:
 * - `public`: anyone (`/healthz`, the OpenAPI document, the console's files, signing in);
 * - `metrics`: the metrics token when one is configured, else anyone;
 * - absent: a signed-in principal (session cookie or bearer token). Every route is
 *   private unless it says otherwise; what a principal may do there is `Scope`'s job.
 */
export type RouteAuth = 'public' | 'metrics';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    /** Who is calling; set by the auth hook on every private route. */
    principal: Principal | null;
  }
}

/** Someone authenticated: a console user (cookie), an API token, or the `--admin-token`. */
export interface Principal {
  kind: 'user' | 'token' | 'admin-token';
  /** Username or token name (the audit actor). */
  name: string;
  role: Role;
  /** The companies a supervisor or viewer sees; ignored for an admin. */
  companyIds: readonly number[];
  userId?: number;
  /** A cookie-borne request is the browser's: it gets the cross-site checks. */
  via: 'cookie' | 'bearer';
}

export const SESSION_COOKIE = 'agentline_session';
export const SESSION_TTL_MS = 12 * 3600_000;

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time comparison of two secrets (of any length). */
/** The principal of a console user signed in with the session cookie. */
export function cookiePrincipal(user: User): Principal {
  return {
    kind: 'user',
    name: user.username,
    role: user.role,
    companyIds: user.companyIds,
    userId: user.id,
    via: 'cookie',
  };
}

export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

export function bearerOf(req: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** The value of cookie `name`, if the request carries it. */
export function cookieOf(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim() || undefined;
  }
  return undefined;
}

/** `Set-Cookie` for the session: HttpOnly, SameSite=Strict, Path=/, Secure over https. */
export function sessionCookie(req: FastifyRequest, value: string, maxAgeSeconds: number): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'HttpOnly',
    'SameSite=Strict',
    'Path=/',
    `Max-Age=${maxAgeSeconds}`,
    ...(req.protocol === 'https' ? ['Secure'] : []),
  ].join('; ');
}

export interface AuthOptions {
  access: AccessStore;
  /** SHA-256 (hex) of `--admin-token`. */
  adminTokenSha256: () => string;
  /** The `/metrics` token; undefined leaves it open. */
  metricsToken?: () => string | undefined;
  wallNow: () => number;
  throttle: ThrottleOptions;
  logger: Logger;
}

/** Refuses (429) a source that failed too often; counts its failures. */
export class AuthThrottle {
  private readonly throttle: FailureThrottle;

  constructor(
    opts: ThrottleOptions,
    private readonly logger: Logger,
  ) {
    this.throttle = new FailureThrottle(opts);
  }

  /**
   * Starts an attempt (a sign-in, a bearer token): 429 when the source failed too often,
   * else the attempt is counted as a failure at once, so parallel guesses cannot all be
   * evaluated before the first one fails. Call the returned function when it succeeds: a
   * valid token gives its slot back in the same turn of the event loop (the lookups are
   * synchronous SQLite under promises), so parallel valid requests do not crowd each other out.
   */
  begin(req: FastifyRequest, reply: FastifyReply, what: string): () => void {
    const key = sourceKey(req.ip);
    const ms = this.throttle.retryAfterMs(key);
    if (ms > 0) {
      reply.header('retry-after', String(Math.ceil(ms / 1000)));
      throw new HttpError(
        429,
        'too_many_failures',
        'too many failed attempts from this address; retry later',
      );
    }
    const succeeded = this.throttle.fail(key);
    // An operator acts on a source that keeps guessing (block it upstream); the guess itself is never logged.
    if (this.throttle.retryAfterMs(key) > 0)
      this.logger.warn({ source: key, what }, 'authentication throttled');
    return succeeded;
  }
}

/**
 * Authentication decided on the route Fastify matched, never on the URL text: a
 * percent-encoded, upper-case or double-slash path either matches a route (and gets
 * that route's rule) or matches none and gets the not-found route, which is private
 * too, so an unknown path answers 401 without credentials and tells nothing about
 * which routes exist.
 *
 * Credentials: `Authorization: Bearer` (an API token or the admin token) or the session
 * cookie. Never a query parameter: a secret in a URL ends up in logs and histories.
 */
export function requireAuth(app: FastifyInstance, opts: AuthOptions): AuthThrottle {
  const throttle = new AuthThrottle(opts.throttle, opts.logger);
  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (req, reply) => {
    const auth = req.routeOptions.config.auth;
    if (auth === 'public') return;
    if (auth === 'metrics') {
      const expected = opts.metricsToken?.();
      if (expected === undefined) return;
      const presented = bearerOf(req);
      if (!presented) throw new HttpError(401, 'unauthorized', 'missing metrics token');
      const succeeded = throttle.begin(req, reply, 'metrics token');
      if (!sameSecret(presented, expected)) throw new HttpError(401, 'unauthorized', 'invalid metrics token');
      succeeded();
      return;
    }
    const bearer = bearerOf(req);
    if (bearer) {
      const succeeded = throttle.begin(req, reply, 'bearer token');
      req.principal = await principalOfBearer(bearer, opts);
      if (!req.principal) throw new HttpError(401, 'unauthorized', 'invalid token');
      succeeded();
      return;
    }
    const cookie = cookieOf(req, SESSION_COOKIE);
    if (cookie) {
      // Session ids are 256 random bits: guessing them is hopeless, so they are not throttled
      // (a signed-in console keeps working while a neighbour behind the same NAT is blocked).
      const user = await opts.access.findSession(cookie, opts.wallNow());
      if (!user) throw new HttpError(401, 'unauthorized', 'session expired; sign in again');
      refuseCrossSite(req);
      req.principal = cookiePrincipal(user);
      return;
    }
    throw new HttpError(401, 'unauthorized', 'missing credentials: sign in or send a bearer token');
  });
  return throttle;
}

async function principalOfBearer(secret: string, opts: AuthOptions): Promise<Principal | null> {
  const admin = Buffer.from(opts.adminTokenSha256(), 'hex');
  if (admin.length === 32 && timingSafeEqual(sha256(secret), admin))
    return { kind: 'admin-token', name: 'admin-token', role: 'admin', companyIds: [], via: 'bearer' };
  const token = await opts.access.findToken(secret, opts.wallNow());
  if (!token) return null;
  return { kind: 'token', name: token.name, role: token.role, companyIds: token.companyIds, via: 'bearer' };
}

/**
 * SameSite=Strict already keeps the cookie off other sites' requests; a change whose
 * Origin names another host is refused as well, for browsers that ignore SameSite.
 */
function refuseCrossSite(req: FastifyRequest): void {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host !== req.headers.host) throw new HttpError(403, 'cross_site', 'cross-site request refused');
}
