import type { Kysely, Migration } from 'kysely';
import { columnTypes } from './columns.ts';

/**
 * The supervisor flag on agents (issue 14 item 4): a supervisor logged in through the service
 * IVR may listen to, whisper to and barge into a colleague's call of the same company. 0/1 in
 * an integer column on both dialects; every existing agent is no supervisor.
 */
export const m009Supervisor: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('agents')
      .addColumn('supervisor', columnTypes(db).integer, (c) => c.notNull().defaultTo(0))
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('agents').dropColumn('supervisor').execute();
  },
};
