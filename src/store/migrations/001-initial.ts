import type { Kysely, Migration } from 'kysely';

/** Directory, agent state, call records, auth. Times are epoch ms integers; JSON in TEXT columns. */
export const m001Initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('companies')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('settings', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('departments')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('company_id', 'integer', (c) => c.notNull().references('companies.id').onDelete('cascade'))
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('strategy', 'text', (c) => c.notNull())
      .addColumn('max_wait_seconds', 'integer', (c) => c.notNull())
      .addColumn('max_queue_length', 'integer', (c) => c.notNull())
      .addColumn('overflow', 'text')
      .addColumn('greeting', 'text')
      .addUniqueConstraint('departments_company_code', ['company_id', 'code'])
      .execute();

    await db.schema
      .createTable('agents')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('company_id', 'integer', (c) => c.notNull().references('companies.id').onDelete('cascade'))
      .addColumn('login', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('short_number', 'text', (c) => c.notNull())
      .addColumn('contact', 'text', (c) => c.notNull())
      .addColumn('session_contact', 'text')
      .addColumn('pin_hash', 'text', (c) => c.notNull())
      .addUniqueConstraint('agents_company_short_number', ['company_id', 'short_number'])
      .execute();
    await db.schema.createIndex('agents_contact').on('agents').column('contact').execute();

    await db.schema
      .createTable('agent_departments')
      .addColumn('agent_id', 'integer', (c) => c.notNull().references('agents.id').onDelete('cascade'))
      .addColumn('department_id', 'integer', (c) =>
        c.notNull().references('departments.id').onDelete('cascade'),
      )
      .addColumn('priority', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('agent_departments_pk', ['agent_id', 'department_id'])
      .execute();
    await db.schema
      .createIndex('agent_departments_department')
      .on('agent_departments')
      .column('department_id')
      .execute();

    await db.schema
      .createTable('numbers')
      .addColumn('number', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('company_id', 'integer', (c) => c.references('companies.id').onDelete('cascade'))
      .addColumn('department_id', 'integer', (c) => c.references('departments.id').onDelete('set null'))
      .execute();

    await db.schema
      .createTable('sip_accounts')
      .addColumn('username', 'text', (c) => c.notNull())
      .addColumn('realm', 'text', (c) => c.notNull())
      .addColumn('ha1_md5', 'text', (c) => c.notNull())
      .addColumn('ha1_sha256', 'text', (c) => c.notNull())
      .addColumn('agent_id', 'integer', (c) => c.references('agents.id').onDelete('set null'))
      .addPrimaryKeyConstraint('sip_accounts_pk', ['username', 'realm'])
      .execute();

    await db.schema
      .createTable('agent_states')
      .addColumn('agent_id', 'integer', (c) => c.primaryKey().references('agents.id').onDelete('cascade'))
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('since', 'integer', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .execute();

    // History outlives the agent (reports), so no foreign key here.
    await db.schema
      .createTable('agent_state_history')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('agent_id', 'integer', (c) => c.notNull())
      .addColumn('at', 'integer', (c) => c.notNull())
      .addColumn('from_state', 'text', (c) => c.notNull())
      .addColumn('to_state', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('agent_state_history_agent_at')
      .on('agent_state_history')
      .columns(['agent_id', 'at'])
      .execute();
    await db.schema.createIndex('agent_state_history_at').on('agent_state_history').column('at').execute();

    await db.schema
      .createTable('cdr')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('company_id', 'integer')
      .addColumn('hotline', 'text')
      .addColumn('caller_id', 'text')
      .addColumn('department_id', 'integer')
      .addColumn('started_at', 'integer', (c) => c.notNull())
      .addColumn('queued_at', 'integer')
      .addColumn('answered_at', 'integer')
      .addColumn('ended_at', 'integer')
      .addColumn('agent_ids', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('transfers', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('outcome', 'text')
      .addColumn('talk_seconds', 'real', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createIndex('cdr_company_started')
      .on('cdr')
      .columns(['company_id', 'started_at'])
      .execute();
    await db.schema.createIndex('cdr_started').on('cdr').column('started_at').execute();

    await db.schema
      .createTable('queue_events')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('call_id', 'text', (c) => c.notNull())
      .addColumn('company_id', 'integer')
      .addColumn('department_id', 'integer')
      .addColumn('at', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('agent_id', 'integer')
      .addColumn('detail', 'text')
      .execute();
    await db.schema.createIndex('queue_events_call').on('queue_events').columns(['call_id', 'at']).execute();
    await db.schema
      .createIndex('queue_events_department_at')
      .on('queue_events')
      .columns(['department_id', 'at'])
      .execute();

    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('login_failures')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('login', 'text', (c) => c.notNull())
      .addColumn('at', 'integer', (c) => c.notNull())
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
