import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes } from './columns.ts';

/**
 * PIN attempts under concurrency (issue 11): a `login_failures` row is now
 * written *before* the slow PIN check, as a `pending` reservation, and becomes
 * `wrong` (kept) or is deleted (right PIN). Each row also names the caller id,
 * so wrong PINs are limited per caller id across logins.
 */
export const m003PinAttempts: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const t = columnTypes(db);
    await db.schema.alterTable('login_failures').addColumn('caller_id', t.text).execute();
    // Rows from before this migration are failures that were already evaluated.
    await db.schema
      .alterTable('login_failures')
      .addColumn('outcome', t.text, (c) => c.notNull().defaultTo('wrong'))
      .execute();
    await db.schema
      .createIndex('login_failures_caller_at')
      .on('login_failures')
      .columns(['caller_id', 'at'])
      .execute();
    await db.schema.createIndex('login_failures_at').on('login_failures').column('at').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('login_failures_at').ifExists().execute();
    await db.schema.dropIndex('login_failures_caller_at').ifExists().execute();
    // SQLite ≥ 3.35 drops columns; the old code ignores them anyway.
    await sql`alter table login_failures drop column outcome`.execute(db);
    await sql`alter table login_failures drop column caller_id`.execute(db);
  },
};
