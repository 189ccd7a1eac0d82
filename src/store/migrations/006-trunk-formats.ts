import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes } from './columns.ts';

/**
 * Per-trunk number format on outbound calls (`e164_plus` keeps what every
 * trunk did before) and inband DTMF detection (`auto` follows the server's
 * `--inband-dtmf`). The company's country lives in its settings JSON, whose
 * missing keys take their defaults (RU), so it needs no column.
 */
export const m006TrunkFormats: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const t = columnTypes(db);
    await db.schema
      .alterTable('trunks')
      .addColumn('number_format', t.text, (c) => c.notNull().defaultTo('e164_plus'))
      .execute();
    await db.schema
      .alterTable('trunks')
      .addColumn('inband_dtmf', t.text, (c) => c.notNull().defaultTo('auto'))
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql`alter table trunks drop column inband_dtmf`.execute(db);
    await sql`alter table trunks drop column number_format`.execute(db);
  },
};
