import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes } from './columns.ts';

/**
 * SIP phones (issue 10): the digest algorithms an account is challenged with
 * (JSON list in TEXT; null follows the server's `--sip-auth-algorithms`), and
 * the registrar's bindings, so that registered phones survive a restart.
 * `expires_at` is wall-clock ms; rows past it are dropped when loaded.
 */
export const m005SipPhones: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const t = columnTypes(db);
    await db.schema.alterTable('sip_accounts').addColumn('digest_algorithms', t.text).execute();
    await db.schema
      .createTable('sip_bindings')
      .addColumn('aor', t.text, (c) => c.notNull())
      .addColumn('contact_key', t.text, (c) => c.notNull())
      .addColumn('contact', t.text, (c) => c.notNull())
      .addColumn('expires_at', t.time, (c) => c.notNull())
      .addColumn('call_id', t.text, (c) => c.notNull())
      .addColumn('cseq', t.integer, (c) => c.notNull())
      .addColumn('source_address', t.text, (c) => c.notNull())
      .addColumn('source_port', t.integer, (c) => c.notNull())
      .addColumn('transport', t.text, (c) => c.notNull())
      .addPrimaryKeyConstraint('sip_bindings_pk', ['aor', 'contact_key'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('sip_bindings').execute();
    await sql`alter table sip_accounts drop column digest_algorithms`.execute(db);
  },
};
