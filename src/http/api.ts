import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HttpError } from './errors.ts';
import { type AccessLevel, ROLES_OF, Scope, forbidden } from './scope.ts';

/**
 * Typed routes whose zod schemas do both jobs: they validate the request
 * (a failure is a 400 `{ error: { code: 'invalid_<part>', message } }`) and
 * they are the source of the OpenAPI document (`openapi.ts`).
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteContext<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  req: FastifyRequest;
  reply: FastifyReply;
  /** The companies this request may see (a public route has none: it may not use it). */
  scope: Scope;
}

/**
 * How a route open to supervisors or viewers finds the company a request is about:
 * `query` — a list, narrowed by `?companyId=` and filtered by the handler with `scope`;
 * a function — the company of the addressed resource (null: none or unknown → 403).
 */
export type CompanyOf<P, Q> = 'query' | ((ctx: { params: Out<P>; query: Out<Q> }) => Promise<number | null>);

export type RouteAccess<P, Q> =
  'admin' | 'signed-in' | { level: Extract<AccessLevel, 'read' | 'supervise'>; company: CompanyOf<P, Q> };

export interface RouteSpec<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
> {
  method: HttpMethod;
  /** Fastify path (`/api/v1/agents/:login`). */
  url: string;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** What a success returns (documentation only). */
  response?: Schema;
  /** Status of a success; default 200 (204 sends no body). */
  status?: number;
  /** Content type of a non-JSON success (documentation only). */
  produces?: string;
  /**
   * Other statuses the handler may set with `reply.status()` (206 of a range request), and
   * what each means; they are sent as set and documented.
   */
  statuses?: Readonly<Record<number, string>>;
  /** The route needs no credentials. */
  public?: boolean;
  /** Audit its changes even when nobody is signed in (sign-in attempts). */
  auditAnonymous?: boolean;
  /** Who may call it (default `admin`); ignored for a public route. */
  access?: RouteAccess<P, Q>;
  handler: (ctx: RouteContext<P, Q, B>) => Promise<unknown>;
}

/** What the OpenAPI document needs of a route. */
export interface RouteDoc {
  method: HttpMethod;
  url: string;
  summary: string;
  tag: string;
  params?: Schema;
  query?: Schema;
  body?: Schema;
  response?: Schema;
  status: number;
  produces?: string;
  statuses?: Readonly<Record<number, string>>;
  public: boolean;
  /** Roles allowed (empty for a public route). */
  roles: readonly string[];
}

/** Parses `value` with `schema` or throws a 400 naming the part of the request. */
export function parseOr400<S extends Schema>(schema: S, value: unknown, part: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, `invalid_${part}`, `invalid ${part}: ${describeIssues(r.error)}`);
  return r.data;
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/** The routes each app's Api registered (tests check the OpenAPI document against them). */
const ROUTES_OF = new WeakMap<FastifyInstance, readonly RouteDoc[]>();

/** The typed routes registered on `app`, with their schemas. */
export function apiRoutesOf(app: FastifyInstance): readonly RouteDoc[] {
  return ROUTES_OF.get(app) ?? [];
}

/** Registers routes on a Fastify app and remembers them for the OpenAPI document. */
export class Api {
  readonly routes: RouteDoc[] = [];

  constructor(private readonly app: FastifyInstance) {
    ROUTES_OF.set(app, this.routes);
  }

  route<
    P extends Schema | undefined = undefined,
    Q extends Schema | undefined = undefined,
    B extends Schema | undefined = undefined,
  >(spec: RouteSpec<P, Q, B>): void {
    const status = spec.status ?? 200;
    const access = spec.access ?? 'admin';
    const level: AccessLevel = typeof access === 'string' ? access : access.level;
    this.routes.push({
      method: spec.method,
      url: spec.url,
      summary: spec.summary,
      tag: spec.tag,
      params: spec.params,
      query: spec.query,
      body: spec.body,
      response: spec.response,
      status,
      produces: spec.produces,
      statuses: spec.statuses,
      public: spec.public ?? false,
      roles: spec.public ? [] : ROLES_OF[level],
    });
    this.app.route({
      method: spec.method,
      url: spec.url,
      config: { ...(spec.public ? { auth: 'public' as const } : {}), auditAnonymous: spec.auditAnonymous },
      handler: async (req, reply) => {
        const principal = req.principal;
        if (!spec.public && !principal) throw new HttpError(401, 'unauthorized', 'missing credentials');
        // The role before anything is parsed: a refused caller learns nothing from validation errors.
        if (principal && !spec.public && !ROLES_OF[level].includes(principal.role)) throw forbidden();
        const params = (spec.params ? parseOr400(spec.params, req.params, 'params') : undefined) as Out<P>;
        const query = (spec.query ? parseOr400(spec.query, req.query, 'query') : undefined) as Out<Q>;
        let scope = Scope.of(principal ?? NOBODY);
        if (typeof access === 'object') {
          if (access.company === 'query') {
            scope = scope.narrow((query as { companyId?: number } | undefined)?.companyId);
          } else if (!scope.isAdmin) {
            scope.require(await access.company({ params, query }));
          }
        }
        const body = (spec.body ? parseOr400(spec.body, req.body ?? {}, 'body') : undefined) as Out<B>;
        const result = await spec.handler({ params, query, body, req, reply, scope });
        if (reply.sent) return reply;
        if (status === 204) return reply.status(204).send();
        if (spec.statuses && reply.statusCode in spec.statuses) return reply.send(result);
        return reply.status(status).send(result);
      },
    });
  }
}

/** The scope of a public route: no role, no company. */
const NOBODY = { kind: 'user', name: 'anonymous', role: 'viewer', companyIds: [], via: 'bearer' } as const;

// ---------------------------------------------------------------------------
// Shared schemas

export const errorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .meta({ id: 'Error' });

/** A path or query id: digits → positive integer. */
export const idParam = z.coerce.number().int().positive();
export const loginParam = z.string().regex(/^[0-9]{1,12}$/, '1–12 digits');
/** `?companyId=`: the narrowing every list open to supervisors and viewers takes. */
export const companyIdQuery = idParam
  .optional()
  .describe('Only this company (supervisors and viewers: one of theirs)');
