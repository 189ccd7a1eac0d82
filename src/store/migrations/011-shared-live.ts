import { sql, type Kysely, type Migration } from 'kysely';
import { isPostgres } from './columns.ts';

/**
 * The live state several nodes share (issue 15 items 2 and 3), on PostgreSQL only: SQLite is one
 * node, whose live state stays in its memory. Times are epoch ms of the database's clock, so the
 * nodes' own clocks never have to agree.
 * - `acd_nodes`: every running node and its last heartbeat; a row gone stale is a lost node.
 * - `acd_holds`: an agent held by a call (an offer, a call they talk in, a transfer to them), one
 *   row per agent (the primary key is what makes a reservation exclusive across nodes), with the
 *   node holding the customer's dialog, whose loss frees the agent.
 * - `acd_menu`: agents in the service IVR of some node (not offered calls meanwhile).
 * - `acd_calls`: the live customer calls of every node (the board, the lost node's CDRs); a call
 *   waiting in a department's queue has a `position` (lower first: a call coming back to the head
 *   takes a negative one) and, while an agent is offered it, `offered_to` (since `offered_at`); `unreachable`: agents
 *   whose phone could not be reached for this call, not offered it again for a while.
 */
export const m011SharedLive: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (!isPostgres(db)) return;
    await sql`create table acd_nodes (
      node_id text collate "C" primary key,
      started_at bigint not null,
      heartbeat_at bigint not null
    )`.execute(db);
    await sql`create table acd_holds (
      agent_id integer primary key references agents(id) on delete cascade,
      node_id text collate "C" not null,
      call_id text collate "C",
      reason text collate "C" not null,
      at bigint not null
    )`.execute(db);
    await sql`create index acd_holds_node on acd_holds(node_id)`.execute(db);
    await sql`create table acd_menu (
      agent_id integer not null references agents(id) on delete cascade,
      node_id text collate "C" not null,
      primary key (agent_id, node_id)
    )`.execute(db);
    await sql`create sequence acd_queue_seq`.execute(db);
    await sql`create table acd_calls (
      call_id text collate "C" primary key,
      node_id text collate "C" not null,
      company_id integer,
      department_id integer,
      started_at bigint not null,
      entered_at bigint,
      priority integer not null default 0,
      position bigint,
      offered_to integer,
      offered_at bigint,
      unreachable integer[] not null default '{}'
    )`.execute(db);
    await sql`create index acd_calls_waiting on acd_calls(department_id, priority, position)
      where position is not null`.execute(db);
    await sql`create index acd_calls_node on acd_calls(node_id)`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (!isPostgres(db)) return;
    for (const t of ['acd_calls', 'acd_menu', 'acd_holds', 'acd_nodes'])
      await sql`drop table ${sql.table(t)}`.execute(db);
    await sql`drop sequence acd_queue_seq`.execute(db);
  },
};
