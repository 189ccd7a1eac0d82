import { createHash } from 'node:crypto';
import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Console users, API tokens, sign-in sessions and the audit log (issue 11). Secrets are
 * never stored: passwords as scrypt hashes, tokens and session ids as SHA-256 (they are
 * 256-bit random values, so a fast hash is enough). Company scopes are JSON id lists
 * (a deleted company simply scopes nothing). The admin token that 001 kept in clear in
 * `settings.admin_token` becomes its SHA-256 in `settings.admin_token_sha256`.
 */
export const m002Users: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('users')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('company_ids', 'text', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('token_sha256', 'text', (c) => c.notNull().unique())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('company_ids', 'text', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('created_by', 'text')
      .addColumn('last_used_at', 'integer')
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id_sha256', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('at', 'integer', (c) => c.notNull())
      .addColumn('actor_kind', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('route', 'text', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('source', 'text')
      .execute();
    await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();

    const plain = await sql<{
      value: string;
    }>`SELECT value FROM settings WHERE key = 'admin_token'`.execute(db);
    const token = plain.rows[0]?.value;
    if (token !== undefined) {
      const hash = createHash('sha256').update(token).digest('hex');
      await sql`INSERT OR REPLACE INTO settings (key, value) VALUES ('admin_token_sha256', ${hash})`.execute(
        db,
      );
      await sql`DELETE FROM settings WHERE key = 'admin_token'`.execute(db);
    }
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['audit_log', 'sessions', 'api_tokens', 'users'])
      await db.schema.dropTable(t).ifExists().execute();
  },
};
