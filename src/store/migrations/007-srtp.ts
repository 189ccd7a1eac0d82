import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes } from './columns.ts';

/**
 * SRTP policy (issue 10 item 4): per trunk and per SIP account, `off`, `optional` or
 * `mandatory` (call/sdp.ts says what each does). Default optional: RTP/SAVP offers are
 * answered with SRTP, our offers stay RTP/AVP — what every row meant before.
 */
export const m007Srtp: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const t = columnTypes(db);
    await db.schema
      .alterTable('trunks')
      .addColumn('srtp', t.text, (c) => c.notNull().defaultTo('optional'))
      .execute();
    await db.schema
      .alterTable('sip_accounts')
      .addColumn('srtp', t.text, (c) => c.notNull().defaultTo('optional'))
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql`alter table sip_accounts drop column srtp`.execute(db);
    await sql`alter table trunks drop column srtp`.execute(db);
  },
};
