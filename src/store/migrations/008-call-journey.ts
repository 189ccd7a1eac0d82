import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The call journey (issue 14 item 1): every department a call was queued in, in order (JSON
 * number[]; the first is where it entered, the last where it ended), and each agent's own talk
 * time (JSON [{agentId, talkSeconds}]), so a transferred call credits nobody with another's
 * conversation. Rows written before are left with empty lists.
 */
export const m008CallJourney: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('cdr')
      .addColumn('department_ids', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
    await db.schema
      .alterTable('cdr')
      .addColumn('agent_talk', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql`alter table cdr drop column agent_talk`.execute(db);
    await sql`alter table cdr drop column department_ids`.execute(db);
  },
};
