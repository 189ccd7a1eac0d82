import { createHash } from 'node:crypto';
import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes } from './columns.ts';

/**
 * Console users, API tokens, sign-in sessions and the audit log (issue 11). Secrets are
 * never stored: passwords as scrypt hashes, tokens and session ids as SHA-256 (they are
 * 256-bit random values, so a fast hash is enough). Company scopes are JSON id lists
 * (a deleted company simply scopes nothing). The admin token that 001 kept in clear in
 * `settings.admin_token` becomes its SHA-256 in `settings.admin_token_sha256`.
 */
export const m002Users: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const t = columnTypes(db);
    await db.schema
      .createTable('users')
      .addColumn('id', t.integer, t.id)
      .addColumn('username', t.text, (c) => c.notNull().unique())
      .addColumn('password_hash', t.text, (c) => c.notNull())
      .addColumn('role', t.text, (c) => c.notNull())
      .addColumn('company_ids', t.text, (c) => c.notNull())
      .addColumn('created_at', t.time, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('api_tokens')
      .addColumn('id', t.integer, t.id)
      .addColumn('name', t.text, (c) => c.notNull().unique())
      .addColumn('token_sha256', t.text, (c) => c.notNull().unique())
      .addColumn('role', t.text, (c) => c.notNull())
      .addColumn('company_ids', t.text, (c) => c.notNull())
      .addColumn('created_at', t.time, (c) => c.notNull())
      .addColumn('created_by', t.text)
      .addColumn('last_used_at', t.time)
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id_sha256', t.text, (c) => c.primaryKey())
      .addColumn('user_id', t.integer, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', t.time, (c) => c.notNull())
      .addColumn('expires_at', t.time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('id', t.integer, t.id)
      .addColumn('at', t.time, (c) => c.notNull())
      .addColumn('actor_kind', t.text, (c) => c.notNull())
      .addColumn('actor', t.text, (c) => c.notNull())
      .addColumn('method', t.text, (c) => c.notNull())
      .addColumn('route', t.text, (c) => c.notNull())
      .addColumn('params', t.text, (c) => c.notNull())
      .addColumn('status', t.integer, (c) => c.notNull())
      .addColumn('source', t.text)
      .execute();
    await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();

    const plain = await sql<{
      value: string;
    }>`SELECT value FROM settings WHERE key = 'admin_token'`.execute(db);
    const token = plain.rows[0]?.value;
    if (token !== undefined) {
      const hash = createHash('sha256').update(token).digest('hex');
      // ON CONFLICT rather than SQLite's INSERT OR REPLACE: the same statement on PostgreSQL.
      await sql`INSERT INTO settings (key, value) VALUES ('admin_token_sha256', ${hash})
        ON CONFLICT (key) DO UPDATE SET value = excluded.value`.execute(db);
      await sql`DELETE FROM settings WHERE key = 'admin_token'`.execute(db);
    }
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['audit_log', 'sessions', 'api_tokens', 'users'])
      await db.schema.dropTable(t).ifExists().execute();
  },
};
