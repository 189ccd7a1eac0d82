import type { Kysely, Migration } from 'kysely';
import { columnTypes } from './columns.ts';

/** Directory, agent state, call records, auth. Times are epoch ms integers; JSON in TEXT columns. */
export const m001Initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const t = columnTypes(db);
    await db.schema
      .createTable('companies')
      .addColumn('id', t.integer, t.id)
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('settings', t.text, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('departments')
      .addColumn('id', t.integer, t.id)
      .addColumn('company_id', t.integer, (c) => c.notNull().references('companies.id').onDelete('cascade'))
      .addColumn('code', t.text, (c) => c.notNull())
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('strategy', t.text, (c) => c.notNull())
      .addColumn('max_wait_seconds', t.integer, (c) => c.notNull())
      .addColumn('max_queue_length', t.integer, (c) => c.notNull())
      .addColumn('overflow', t.text)
      .addColumn('greeting', t.text)
      .addUniqueConstraint('departments_company_code', ['company_id', 'code'])
      .execute();

    await db.schema
      .createTable('agents')
      .addColumn('id', t.integer, t.id)
      .addColumn('company_id', t.integer, (c) => c.notNull().references('companies.id').onDelete('cascade'))
      .addColumn('login', t.text, (c) => c.notNull().unique())
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('short_number', t.text, (c) => c.notNull())
      .addColumn('contact', t.text, (c) => c.notNull())
      .addColumn('session_contact', t.text)
      .addColumn('pin_hash', t.text, (c) => c.notNull())
      .addUniqueConstraint('agents_company_short_number', ['company_id', 'short_number'])
      .execute();
    await db.schema.createIndex('agents_contact').on('agents').column('contact').execute();

    await db.schema
      .createTable('agent_departments')
      .addColumn('agent_id', t.integer, (c) => c.notNull().references('agents.id').onDelete('cascade'))
      .addColumn('department_id', t.integer, (c) =>
        c.notNull().references('departments.id').onDelete('cascade'),
      )
      .addColumn('priority', t.integer, (c) => c.notNull())
      .addPrimaryKeyConstraint('agent_departments_pk', ['agent_id', 'department_id'])
      .execute();
    await db.schema
      .createIndex('agent_departments_department')
      .on('agent_departments')
      .column('department_id')
      .execute();

    await db.schema
      .createTable('numbers')
      .addColumn('number', t.text, (c) => c.primaryKey())
      .addColumn('kind', t.text, (c) => c.notNull())
      .addColumn('company_id', t.integer, (c) => c.references('companies.id').onDelete('cascade'))
      .addColumn('department_id', t.integer, (c) => c.references('departments.id').onDelete('set null'))
      .execute();

    await db.schema
      .createTable('sip_accounts')
      .addColumn('username', t.text, (c) => c.notNull())
      .addColumn('realm', t.text, (c) => c.notNull())
      .addColumn('ha1_md5', t.text, (c) => c.notNull())
      .addColumn('ha1_sha256', t.text, (c) => c.notNull())
      .addColumn('agent_id', t.integer, (c) => c.references('agents.id').onDelete('set null'))
      .addPrimaryKeyConstraint('sip_accounts_pk', ['username', 'realm'])
      .execute();

    await db.schema
      .createTable('agent_states')
      .addColumn('agent_id', t.integer, (c) => c.primaryKey().references('agents.id').onDelete('cascade'))
      .addColumn('state', t.text, (c) => c.notNull())
      .addColumn('since', t.time, (c) => c.notNull())
      .addColumn('reason', t.text, (c) => c.notNull())
      .addColumn('source', t.text, (c) => c.notNull())
      .execute();

    // History outlives the agent (reports), so no foreign key here.
    await db.schema
      .createTable('agent_state_history')
      .addColumn('id', t.integer, t.id)
      .addColumn('agent_id', t.integer, (c) => c.notNull())
      .addColumn('at', t.time, (c) => c.notNull())
      .addColumn('from_state', t.text, (c) => c.notNull())
      .addColumn('to_state', t.text, (c) => c.notNull())
      .addColumn('reason', t.text, (c) => c.notNull())
      .addColumn('source', t.text, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('agent_state_history_agent_at')
      .on('agent_state_history')
      .columns(['agent_id', 'at'])
      .execute();
    await db.schema.createIndex('agent_state_history_at').on('agent_state_history').column('at').execute();

    await db.schema
      .createTable('cdr')
      .addColumn('id', t.text, (c) => c.primaryKey())
      .addColumn('company_id', t.integer)
      .addColumn('hotline', t.text)
      .addColumn('caller_id', t.text)
      .addColumn('department_id', t.integer)
      .addColumn('started_at', t.time, (c) => c.notNull())
      .addColumn('queued_at', t.time)
      .addColumn('answered_at', t.time)
      .addColumn('ended_at', t.time)
      .addColumn('agent_ids', t.text, (c) => c.notNull().defaultTo('[]'))
      .addColumn('transfers', t.integer, (c) => c.notNull().defaultTo(0))
      .addColumn('outcome', t.text)
      .addColumn('talk_seconds', t.real, (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createIndex('cdr_company_started')
      .on('cdr')
      .columns(['company_id', 'started_at'])
      .execute();
    await db.schema.createIndex('cdr_started').on('cdr').column('started_at').execute();

    await db.schema
      .createTable('queue_events')
      .addColumn('id', t.integer, t.id)
      .addColumn('call_id', t.text, (c) => c.notNull())
      .addColumn('company_id', t.integer)
      .addColumn('department_id', t.integer)
      .addColumn('at', t.time, (c) => c.notNull())
      .addColumn('kind', t.text, (c) => c.notNull())
      .addColumn('agent_id', t.integer)
      .addColumn('detail', t.text)
      .execute();
    await db.schema.createIndex('queue_events_call').on('queue_events').columns(['call_id', 'at']).execute();
    await db.schema
      .createIndex('queue_events_department_at')
      .on('queue_events')
      .columns(['department_id', 'at'])
      .execute();

    await db.schema
      .createTable('settings')
      .addColumn('key', t.text, (c) => c.primaryKey())
      .addColumn('value', t.text, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('login_failures')
      .addColumn('id', t.integer, t.id)
      .addColumn('login', t.text, (c) => c.notNull())
      .addColumn('at', t.time, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('login_failures_login_at')
      .on('login_failures')
      .columns(['login', 'at'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of [
      'login_failures',
      'settings',
      'queue_events',
      'cdr',
      'agent_state_history',
      'agent_states',
      'sip_accounts',
      'numbers',
      'agent_departments',
      'agents',
      'departments',
      'companies',
    ]) {
      await db.schema.dropTable(t).ifExists().execute();
    }
  },
};
