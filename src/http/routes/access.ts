import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import type { ApiToken, AuditEntry, User } from '../../store/store.ts';
import { ROLES } from '../../store/vocabulary.ts';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_RE } from '../../store/secrets.ts';
import { type Api, idParam } from '../api.ts';
import {
  cookiePrincipal,
  type AuthThrottle,
  type Principal,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  cookieOf,
  sessionCookie,
} from '../auth.ts';
import { HttpError } from '../errors.ts';
import { found } from './found.ts';
import { resource } from './resource.ts';

const roleSchema = z.enum(ROLES);
const companyIdsSchema = z.array(z.number().int().positive()).max(1000);
const usernameSchema = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.string().regex(USERNAME_RE, '1–64 of a-z 0-9 . _ -'));
const passwordSchema = z.string().min(PASSWORD_MIN).max(PASSWORD_MAX);

/** What a user and a token are granted, and since when. */
const grantFields = { role: roleSchema, companyIds: z.array(z.number().int()), createdAt: z.string() };

export const userSchema = z
  .object({ id: z.number().int(), username: z.string(), ...grantFields })
  .meta({ id: 'User' });

const newUserSchema = z
  .strictObject({
    username: usernameSchema,
    password: passwordSchema,
    role: roleSchema,
    companyIds: companyIdsSchema.optional(),
  })
  .meta({ id: 'NewUser' });
const userPatchSchema = z
  .strictObject({ password: passwordSchema, role: roleSchema, companyIds: companyIdsSchema })
  .partial()
  .meta({ id: 'UserPatch' });

export const tokenSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    ...grantFields,
    createdBy: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiToken' });

const newTokenSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    role: roleSchema,
    companyIds: companyIdsSchema.optional(),
  })
  .meta({ id: 'NewApiToken' });

export const whoamiSchema = z
  .object({
    kind: z.enum(['user', 'token', 'admin-token']),
    name: z.string(),
    role: roleSchema,
    companyIds: z.array(z.number().int()),
  })
  .meta({ id: 'Session' });

const auditSchema = z
  .object({
    id: z.number().int(),
    at: z.string(),
    actorKind: z.string(),
    actor: z.string(),
    method: z.string(),
    route: z.string(),
    params: z.record(z.string(), z.string()),
    status: z.number().int(),
    source: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });

const iso = (ms: number): string => new Date(ms).toISOString();
const userView = (u: User): z.output<typeof userSchema> => ({ ...u, createdAt: iso(u.createdAt) });
const tokenView = (t: ApiToken): z.output<typeof tokenSchema> => ({
  ...t,
  createdAt: iso(t.createdAt),
  lastUsedAt: t.lastUsedAt === null ? null : iso(t.lastUsedAt),
});
const auditView = (a: AuditEntry): z.output<typeof auditSchema> => ({ ...a, at: iso(a.at) });
const whoami = (p: Principal): z.output<typeof whoamiSchema> => ({
  kind: p.kind,
  name: p.name,
  role: p.role,
  companyIds: p.role === 'admin' ? [] : [...p.companyIds],
});

/**
 * Console sign-in (session cookie), console users, API tokens and the audit log (issue 11).
 * Passwords and token secrets are only ever written; a new token's secret is in the
 * creation response and nowhere else.
 */
export function accessRoutes(api: Api, deps: HttpDeps, throttle: AuthThrottle): void {
  const access = deps.store.access;
  const now = (): number => deps.clock.wallNow();

  api.route({
    method: 'POST',
    url: '/api/v1/session',
    tag: 'session',
    summary:
      'Sign in with username and password: sets the session cookie (HttpOnly, SameSite=Strict). Throttled per address',
    public: true,
    auditAnonymous: true,
    body: z.strictObject({ username: z.string().max(64), password: z.string().max(PASSWORD_MAX) }).meta({
      id: 'SignIn',
    }),
    response: whoamiSchema,
    handler: async ({ body, req, reply }) => {
      const succeeded = throttle.begin(req, reply, 'sign-in');
      const user = await access.verifyPassword(body.username, body.password);
      if (!user) throw new HttpError(401, 'unauthorized', 'wrong username or password');
      succeeded();
      const session = await access.createSession(user.id, now(), SESSION_TTL_MS);
      reply.header('set-cookie', sessionCookie(req, session.secret, Math.floor(SESSION_TTL_MS / 1000)));
      req.principal = cookiePrincipal(user);
      return whoami(req.principal);
    },
  });

  api.route({
    method: 'GET',
    url: '/api/v1/session',
    tag: 'session',
    summary: 'Who you are: the signed-in user or the token used',
    access: 'signed-in',
    response: whoamiSchema,
    handler: async ({ scope }) => whoami(scope.principal),
  });

  api.route({
    method: 'DELETE',
    url: '/api/v1/session',
    tag: 'session',
    summary: 'Sign out: ends the session and clears its cookie',
    access: 'signed-in',
    status: 204,
    handler: async ({ req, reply }) => {
      const cookie = cookieOf(req, SESSION_COOKIE);
      if (cookie) await access.deleteSession(cookie);
      reply.header('set-cookie', sessionCookie(req, '', 0));
    },
  });

  // --- users -------------------------------------------------------------------

  const mustGetUser = async (id: number): Promise<User> => found(await access.getUser(id), `no user ${id}`);
  const admins = async (): Promise<number> =>
    (await access.listUsers()).filter((u) => u.role === 'admin').length;

  const users = resource(api, 'users', '/api/v1/users/:id', z.object({ id: idParam }), userSchema);

  users.list({
    summary: 'Console users (never their passwords)',
    handler: async () => ({ users: (await access.listUsers()).map(userView) }),
  });

  users.create({
    summary: `Create a console user (password ${PASSWORD_MIN}–${PASSWORD_MAX} characters, stored as a scrypt hash)`,
    body: newUserSchema,
    handler: async ({ body }) => {
      if (await access.getUserByUsername(body.username))
        throw new HttpError(409, 'conflict', `user ${body.username} exists`);
      return userView(await access.createUser(body, now()));
    },
  });

  users.get({
    summary: 'One console user',
    handler: async ({ params }) => userView(await mustGetUser(params.id)),
  });

  users.patch({
    summary: "Change a user's password, role or companies (a new password signs them out everywhere)",
    body: userPatchSchema,
    handler: async ({ params, body }) => {
      const user = await mustGetUser(params.id);
      if (user.role === 'admin' && body.role !== undefined && body.role !== 'admin' && (await admins()) <= 1)
        throw new HttpError(409, 'conflict', 'the last admin user keeps the admin role');
      const updated = await access.updateUser(user.id, body);
      if (body.password !== undefined) await access.deleteUserSessions(user.id);
      return userView(updated);
    },
  });

  users.delete({
    summary: 'Delete a console user and end their sessions (not the last admin)',
    handler: async ({ params }) => {
      const user = await mustGetUser(params.id);
      if (user.role === 'admin' && (await admins()) <= 1)
        throw new HttpError(409, 'conflict', 'the last admin user cannot be deleted');
      await access.deleteUser(user.id);
    },
  });

  // --- tokens ------------------------------------------------------------------

  const tokens = resource(api, 'tokens', '/api/v1/tokens/:id', z.object({ id: idParam }), tokenSchema);

  tokens.list({
    summary: 'API tokens (never their secrets)',
    handler: async () => ({ tokens: (await access.listTokens()).map(tokenView) }),
  });

  tokens.create({
    summary: 'Create an API token with a role; its secret is in this response only (stored as SHA-256)',
    body: newTokenSchema,
    response: tokenSchema.extend({ secret: z.string() }),
    handler: async ({ body, scope }) => {
      if ((await access.listTokens()).some((t) => t.name === body.name))
        throw new HttpError(409, 'conflict', `token ${body.name} exists`);
      const { token, secret } = await access.createToken(
        { ...body, createdBy: `${scope.principal.kind}:${scope.principal.name}` },
        now(),
      );
      return { ...tokenView(token), secret };
    },
  });

  tokens.delete({
    summary: 'Revoke an API token (effective at once)',
    handler: async ({ params }) => {
      await access.deleteToken(params.id);
    },
  });

  // --- audit -------------------------------------------------------------------

  api.route({
    method: 'GET',
    url: '/api/v1/audit',
    tag: 'audit',
    summary: 'Audit log of every change through the API, newest first (page back with `before`)',
    query: z.object({
      before: idParam
        .optional()
        .describe('Entries older than this entry id (the last id of the previous page)'),
      limit: z.coerce.number().int().min(1).max(1000).optional().describe('Entries at most (default 100)'),
    }),
    response: z.object({ entries: z.array(auditSchema) }),
    handler: async ({ query }) => ({
      entries: (await access.listAudit({ before: query.before, limit: query.limit ?? 100 })).map(auditView),
    }),
  });
}
