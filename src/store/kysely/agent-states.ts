import { type Kysely, type Selectable, sql } from 'kysely';
import { AppError } from '../../util/errors.ts';
import type {
  AgentHandleFigures,
  AgentState,
  AgentStateHistoryRow,
  AgentStateRecord,
  AgentStateStore,
  FiguresQuery,
  ReadyAgent,
  StateHistoryQuery,
  TransitionSource,
} from '../store.ts';
import type { AgentStateHistoryTable, Database } from './schema.ts';

/** State of an agent with no row yet. */
const INITIAL = {
  state: 'logged_out' as AgentState,
  since: 0,
  reason: 'initial',
  source: 'system' as TransitionSource,
};

export class KyselyAgentStateStore implements AgentStateStore {
  constructor(private readonly db: Kysely<Database>) {}

  async getAgentState(agentId: number): Promise<AgentStateRecord | null> {
    const row = await this.db
      .selectFrom('agents')
      .leftJoin('agent_states', 'agent_states.agent_id', 'agents.id')
      .select(['agents.id as agentId', 'state', 'since', 'reason', 'source'])
      .where('agents.id', '=', agentId)
      .executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async listAgentStates(companyId?: number): Promise<AgentStateRecord[]> {
    let q = this.db
      .selectFrom('agents')
      .leftJoin('agent_states', 'agent_states.agent_id', 'agents.id')
      .select(['agents.id as agentId', 'state', 'since', 'reason', 'source']);
    if (companyId !== undefined) q = q.where('agents.company_id', '=', companyId);
    const rows = await q.orderBy('agents.id').execute();
    return rows.map(toRecord);
  }

  async listReadyIn(departmentId: number): Promise<ReadyAgent[]> {
    const rows = await this.statesIn(departmentId)
      .select(['agent_departments.agent_id as agentId', 'agent_states.since', 'agent_departments.priority'])
      .where('agent_states.state', '=', 'ready')
      .orderBy('agent_departments.agent_id')
      .execute();
    return rows.map((r) => ({ agentId: r.agentId, since: Number(r.since), priority: r.priority }));
  }

  async anyLoggedIn(departmentId: number): Promise<boolean> {
    const row = await this.statesIn(departmentId)
      .select('agent_departments.agent_id')
      .where('agent_states.state', '!=', 'logged_out')
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The department's agents with a state row (an agent without one is logged out). */
  private statesIn(departmentId: number) {
    return this.db
      .selectFrom('agent_departments')
      .innerJoin('agent_states', 'agent_states.agent_id', 'agent_departments.agent_id')
      .where('agent_departments.department_id', '=', departmentId);
  }

  /** Refuses (`AppError('conflict')`) when the stored state is not `change.from` — another writer got there first. */
  async recordTransition(change: Omit<AgentStateHistoryRow, 'id'>): Promise<AgentStateHistoryRow> {
    return this.db.transaction().execute(async (trx) => {
      const agent = await trx
        .selectFrom('agents')
        .leftJoin('agent_states', 'agent_states.agent_id', 'agents.id')
        .select(['agents.id as agentId', 'state'])
        .where('agents.id', '=', change.agentId)
        .executeTakeFirst();
      if (!agent) throw new AppError('not_found', `no agent ${change.agentId}`);
      const current = (agent.state ?? INITIAL.state) as AgentState;
      if (current !== change.from) {
        throw new AppError('conflict', `agent ${change.agentId} is ${current}, not ${change.from}`);
      }
      const values = { state: change.to, since: change.at, reason: change.reason, source: change.source };
      // The check above reads before it writes; on a database where other connections (or
      // nodes) write meanwhile (PostgreSQL, READ COMMITTED), only the upsert's own condition is
      // atomic: a row that is no longer `from` is left alone and the move refused.
      const written = await trx
        .insertInto('agent_states')
        .values({ agent_id: change.agentId, ...values })
        .onConflict((oc) =>
          oc.column('agent_id').doUpdateSet(values).where('agent_states.state', '=', change.from),
        )
        .executeTakeFirst();
      if (Number(written.numInsertedOrUpdatedRows ?? 0n) === 0) {
        throw new AppError('conflict', `agent ${change.agentId} is no longer ${change.from}`);
      }
      const row = await trx
        .insertInto('agent_state_history')
        .values({
          agent_id: change.agentId,
          at: change.at,
          from_state: change.from,
          to_state: change.to,
          reason: change.reason,
          source: change.source,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toHistory(row);
    });
  }

  async listStateHistory(query: StateHistoryQuery = {}): Promise<AgentStateHistoryRow[]> {
    let q = this.db.selectFrom('agent_state_history').selectAll();
    if (query.agentId !== undefined) q = q.where('agent_id', '=', query.agentId);
    if (query.since !== undefined) q = q.where('at', '>=', query.since);
    if (query.until !== undefined) q = q.where('at', '<', query.until);
    const dir = query.newestFirst ? 'desc' : 'asc';
    q = q.orderBy('at', dir).orderBy('id', dir);
    if (query.limit !== undefined) q = q.limit(query.limit);
    const rows = await q.execute();
    return rows.map(toHistory);
  }

  async handleFigures(query: FiguresQuery): Promise<AgentHandleFigures[]> {
    // `busy` only ever moves to `wrap_up` (TRANSITIONS), so the row two after a `busy` one ends
    // its wrap-up: that row's time minus the `busy` row's is the handle time.
    const company = query.companyId === undefined ? sql`` : sql`and a.company_id = ${query.companyId}`;
    const { rows } = await sql<{ agent_id: number; calls: number; handled: number; handle_ms: number }>`
      select agent_id, count(*) as calls,
        sum(case when end_at is not null then 1 else 0 end) as handled,
        coalesce(sum(end_at - busy_at), 0) as handle_ms
      from (
        select h.agent_id, h.at as busy_at, h.to_state,
          lead(h.at, 2) over (partition by h.agent_id order by h.at, h.id) as end_at
        from agent_state_history h join agents a on a.id = h.agent_id
        where h.at >= ${query.from} and h.at < ${query.to} ${company}
      ) t
      where to_state = ${'busy'}
      group by agent_id
      order by agent_id`.execute(this.db);
    // PostgreSQL returns counts and sums of bigint columns as strings.
    return rows.map((r) => ({
      agentId: Number(r.agent_id),
      calls: Number(r.calls),
      handled: Number(r.handled),
      handleSeconds: Number(r.handle_ms) / 1000,
    }));
  }
}

function toRecord(row: {
  agentId: number;
  state: string | null;
  since: number | null;
  reason: string | null;
  source: string | null;
}): AgentStateRecord {
  if (row.state === null) return { agentId: row.agentId, ...INITIAL };
  return {
    agentId: row.agentId,
    state: row.state as AgentState,
    since: row.since ?? 0,
    reason: row.reason ?? '',
    source: (row.source ?? 'system') as TransitionSource,
  };
}

function toHistory(row: Selectable<AgentStateHistoryTable>): AgentStateHistoryRow {
  return {
    id: row.id,
    agentId: row.agent_id,
    at: row.at,
    from: row.from_state as AgentState,
    to: row.to_state as AgentState,
    reason: row.reason,
    source: row.source as TransitionSource,
  };
}
