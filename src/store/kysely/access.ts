import type { Kysely, Selectable, Updateable } from 'kysely';
import { AppError } from '../../util/errors.ts';
import { checkCompanyIds, checkPassword, checkRole, checkUsername } from '../rules.ts';
import { hashPassword, newSecret, sha256Hex, verifyPasswordHash } from '../secrets.ts';
import type {
  AccessStore,
  ApiToken,
  AuditEntry,
  AuditQuery,
  NewApiToken,
  NewUser,
  User,
  UserPatch,
} from '../store.ts';
import type { MapDbError } from './dialect.ts';
import type { ApiTokensTable, AuditLogTable, Database, UsersTable } from './schema.ts';

/** What a user and a token are granted, and since when: the columns they share. */
const grantOf = (r: Selectable<UsersTable | ApiTokensTable>) => ({
  role: checkRole(r.role),
  companyIds: JSON.parse(r.company_ids) as number[],
  createdAt: r.created_at,
});

const toUser = (r: Selectable<UsersTable>): User => ({ id: r.id, username: r.username, ...grantOf(r) });

const toToken = (r: Selectable<ApiTokensTable>): ApiToken => ({
  id: r.id,
  name: r.name,
  ...grantOf(r),
  createdBy: r.created_by,
  lastUsedAt: r.last_used_at,
});

const toAudit = (r: Selectable<AuditLogTable>): AuditEntry => ({
  id: r.id,
  at: r.at,
  actorKind: r.actor_kind,
  actor: r.actor,
  method: r.method,
  route: r.route,
  params: JSON.parse(r.params) as Record<string, string>,
  status: r.status,
  source: r.source,
});

/** Verified against for an unknown username. */
let dummyHash: Promise<string> | undefined;

export class KyselyAccessStore implements AccessStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly mapDbError: MapDbError,
  ) {}

  // --- users -----------------------------------------------------------------

  async createUser(input: NewUser, at: number): Promise<User> {
    const username = checkUsername(input.username);
    const row = await this.db
      .insertInto('users')
      .values({
        username,
        password_hash: await hashPassword(checkPassword(input.password)),
        role: checkRole(input.role),
        company_ids: JSON.stringify(checkCompanyIds(input.companyIds)),
        created_at: at,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch(this.mapDbError);
    return toUser(row);
  }

  async getUser(id: number): Promise<User | null> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async getUserByUsername(username: string): Promise<User | null> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username.toLowerCase())
      .executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async listUsers(): Promise<User[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('username').execute()).map(toUser);
  }

  async updateUser(id: number, patch: UserPatch): Promise<User> {
    const values: Updateable<UsersTable> = {};
    if (patch.password !== undefined)
      values.password_hash = await hashPassword(checkPassword(patch.password));
    if (patch.role !== undefined) values.role = checkRole(patch.role);
    if (patch.companyIds !== undefined)
      values.company_ids = JSON.stringify(checkCompanyIds(patch.companyIds));
    if (Object.keys(values).length) {
      const r = await this.db.updateTable('users').set(values).where('id', '=', id).executeTakeFirst();
      if (r.numUpdatedRows === 0n) throw new AppError('not_found', `no user ${id}`);
    }
    const user = await this.getUser(id);
    if (!user) throw new AppError('not_found', `no user ${id}`);
    return user;
  }

  async deleteUser(id: number): Promise<void> {
    const r = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    if (r.numDeletedRows === 0n) throw new AppError('not_found', `no user ${id}`);
  }

  async verifyPassword(username: string, password: string): Promise<User | null> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username.toLowerCase())
      .executeTakeFirst();
    // Unknown username: spend the same work on a dummy hash, so timing does not tell which users exist.
    dummyHash ??= hashPassword(newSecret());
    const ok = await verifyPasswordHash(password, row?.password_hash ?? (await dummyHash));
    return row && ok ? toUser(row) : null;
  }

  // --- API tokens --------------------------------------------------------------

  async createToken(input: NewApiToken, at: number): Promise<{ token: ApiToken; secret: string }> {
    const name = input.name.trim();
    if (name.length < 1 || name.length > 100)
      throw new AppError('invalid_input', 'a token name has 1–100 characters');
    const secret = newSecret('alt_');
    const row = await this.db
      .insertInto('api_tokens')
      .values({
        name,
        token_sha256: sha256Hex(secret),
        role: checkRole(input.role),
        company_ids: JSON.stringify(checkCompanyIds(input.companyIds)),
        created_at: at,
        created_by: input.createdBy ?? null,
        last_used_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch(this.mapDbError);
    return { token: toToken(row), secret };
  }

  async findToken(secret: string, at: number): Promise<ApiToken | null> {
    const hash = sha256Hex(secret);
    const row = await this.db
      .updateTable('api_tokens')
      .set({ last_used_at: at })
      .where('token_sha256', '=', hash)
      .returningAll()
      .executeTakeFirst();
    return row ? toToken(row) : null;
  }

  async listTokens(): Promise<ApiToken[]> {
    return (await this.db.selectFrom('api_tokens').selectAll().orderBy('id').execute()).map(toToken);
  }

  async deleteToken(id: number): Promise<void> {
    const r = await this.db.deleteFrom('api_tokens').where('id', '=', id).executeTakeFirst();
    if (r.numDeletedRows === 0n) throw new AppError('not_found', `no token ${id}`);
  }

  // --- sessions --------------------------------------------------------------

  /** Sessions past their expiry are pruned when a new one is created. */
  async createSession(
    userId: number,
    at: number,
    ttlMs: number,
  ): Promise<{ secret: string; expiresAt: number }> {
    const secret = newSecret();
    const expiresAt = at + ttlMs;
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('sessions').where('expires_at', '<=', at).execute();
      await trx
        .insertInto('sessions')
        .values({ id_sha256: sha256Hex(secret), user_id: userId, created_at: at, expires_at: expiresAt })
        .execute()
        .catch(this.mapDbError);
    });
    return { secret, expiresAt };
  }

  async findSession(secret: string, now: number): Promise<User | null> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users')
      .where('sessions.id_sha256', '=', sha256Hex(secret))
      .where('sessions.expires_at', '>', now)
      .executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async deleteSession(secret: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_sha256', '=', sha256Hex(secret)).execute();
  }

  async deleteUserSessions(userId: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  // --- audit log ---------------------------------------------------------------

  async appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry> {
    const row = await this.db
      .insertInto('audit_log')
      .values({
        at: entry.at,
        actor_kind: entry.actorKind,
        actor: entry.actor,
        method: entry.method,
        route: entry.route,
        params: JSON.stringify(entry.params),
        status: entry.status,
        source: entry.source,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toAudit(row);
  }

  async listAudit(query: AuditQuery = {}): Promise<AuditEntry[]> {
    let q = this.db.selectFrom('audit_log').selectAll();
    if (query.before !== undefined) q = q.where('id', '<', query.before);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(query.limit ?? 100)
      .execute();
    return rows.map(toAudit);
  }
}
