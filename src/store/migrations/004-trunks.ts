import type { Kysely, Migration } from 'kysely';
import { columnTypes } from './columns.ts';

/**
 * SIP trunks (issue 9): named carriers with where to send, optional
 * credentials (the password is kept as given: a digest client needs it for
 * whatever realm and nonce the carrier sends), registration, failover
 * priority, inbound allow list and the companies that may use them. Lists are
 * JSON in TEXT columns, as elsewhere.
 */
export const m004Trunks: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const t = columnTypes(db);
    await db.schema
      .createTable('trunks')
      .addColumn('name', t.text, (c) => c.primaryKey())
      .addColumn('uri', t.text, (c) => c.notNull())
      .addColumn('username', t.text)
      .addColumn('password', t.text)
      .addColumn('realm', t.text)
      .addColumn('register', t.integer, (c) => c.notNull().defaultTo(0))
      .addColumn('priority', t.integer, (c) => c.notNull().defaultTo(100))
      .addColumn('inbound', t.text, (c) => c.notNull().defaultTo('[]'))
      .addColumn('companies', t.text, (c) => c.notNull().defaultTo('[]'))
      .addColumn('number_from', t.text, (c) => c.notNull().defaultTo('request_uri'))
      .addColumn('qualify_seconds', t.integer, (c) => c.notNull().defaultTo(60))
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('trunks').execute();
  },
};
