import type { Kysely, Migration } from 'kysely';
import { columnTypes } from './columns.ts';

/**
 * Call recording (issue 14 item 3): a department may say otherwise than its company
 * (`recording`: off | all | on_demand; null, the default, follows the company), and one row per
 * recording file. `file` is the name under --recordings-dir; `ended_at`, `duration_ms` and
 * `bytes` stay null until the recording is finished.
 */
export const m010Recordings: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const t = columnTypes(db);
    await db.schema.alterTable('departments').addColumn('recording', t.text).execute();
    await db.schema
      .createTable('recordings')
      .addColumn('id', t.integer, t.id)
      .addColumn('call_id', t.text, (c) => c.notNull())
      .addColumn('company_id', t.integer, (c) => c.notNull())
      .addColumn('file', t.text, (c) => c.notNull())
      .addColumn('started_at', t.time, (c) => c.notNull())
      .addColumn('ended_at', t.time)
      .addColumn('duration_ms', t.integer)
      .addColumn('bytes', t.integer)
      .execute();
    await db.schema.createIndex('recordings_call').on('recordings').column('call_id').execute();
    await db.schema
      .createIndex('recordings_company_started')
      .on('recordings')
      .columns(['company_id', 'started_at'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('recordings').execute();
    await db.schema.alterTable('departments').dropColumn('recording').execute();
  },
};
