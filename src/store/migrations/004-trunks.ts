import type { Kysely, Migration } from 'kysely';

/**
 * SIP trunks (issue 9): named carriers with where to send, optional
 * credentials (the password is kept as given: a digest client needs it for
 * whatever realm and nonce the carrier sends), registration, failover
 * priority, inbound allow list and the companies that may use them. Lists are
 * JSON in TEXT columns, as elsewhere.
 */
export const m004Trunks: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('trunks')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('uri', 'text', (c) => c.notNull())
      .addColumn('username', 'text')
      .addColumn('password', 'text')
      .addColumn('realm', 'text')
      .addColumn('register', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(100))
      .addColumn('inbound', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('companies', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('number_from', 'text', (c) => c.notNull().defaultTo('request_uri'))
      .addColumn('qualify_seconds', 'integer', (c) => c.notNull().defaultTo(60))
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('trunks').execute();
  },
};
