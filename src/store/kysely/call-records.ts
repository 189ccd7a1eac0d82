import { type Kysely, type RawBuilder, type Selectable, sql } from 'kysely';
import { AppError } from '../../util/errors.ts';
import type {
  AgentTalk,
  CallOutcome,
  CallRecordStore,
  Cdr,
  CdrAggregates,
  CdrCursor,
  CdrFilter,
  CdrPatch,
  CdrQuery,
  NewCdr,
  NewQueueEvent,
  QueueEvent,
  QueueEventKind,
} from '../store.ts';
import { agentSet, completeCdr, stripUndefined } from '../rules.ts';
import type { MapDbError } from './dialect.ts';
import type { CdrTable, Database, QueueEventsTable } from './schema.ts';

export class KyselyCallRecordStore implements CallRecordStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly mapDbError: MapDbError,
  ) {}

  async insertCdr(cdr: NewCdr): Promise<Cdr> {
    const full = completeCdr(cdr);
    const row = await this.db
      .insertInto('cdr')
      .values({
        id: full.id,
        company_id: full.companyId,
        hotline: full.hotline,
        caller_id: full.callerId,
        department_id: full.departmentId,
        started_at: full.startedAt,
        queued_at: full.queuedAt,
        answered_at: full.answeredAt,
        ended_at: full.endedAt,
        agent_ids: JSON.stringify(full.agentIds),
        transfers: full.transfers,
        outcome: full.outcome,
        talk_seconds: full.talkSeconds,
        department_ids: JSON.stringify(full.departmentIds),
        agent_talk: JSON.stringify(full.agentTalk),
      })
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch(this.mapDbError);
    return toCdr(row);
  }

  async updateCdr(id: string, patch: CdrPatch): Promise<Cdr> {
    const cols = toColumns(stripUndefined(patch));
    if (Object.keys(cols).length === 0) {
      const existing = await this.getCdr(id);
      if (!existing) throw new AppError('not_found', `no CDR ${id}`);
      return existing;
    }
    const row = await this.db
      .updateTable('cdr')
      .set(cols)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new AppError('not_found', `no CDR ${id}`);
    return toCdr(row);
  }

  async getCdr(id: string): Promise<Cdr | null> {
    const row = await this.db.selectFrom('cdr').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toCdr(row) : null;
  }

  async listCdr(query: CdrQuery = {}): Promise<Cdr[]> {
    let q = this.matching(query);
    if (query.after !== undefined) {
      // Keyset paging on (started_at, id): each page costs the same however deep it is, and
      // rows inserted meanwhile (newer) never shift the ones still to come.
      const { startedAt, id } = query.after;
      q = q.where((eb) =>
        eb.or([
          eb('started_at', '<', startedAt),
          eb.and([eb('started_at', '=', startedAt), eb('id', '<', id)]),
        ]),
      );
    }
    q = q
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit ?? 100);
    if (query.offset) q = q.offset(query.offset);
    return (await q.execute()).map(toCdr);
  }

  async *pagesOfCdr(query: CdrFilter, pageSize: number): AsyncGenerator<Cdr[]> {
    let after: CdrCursor | undefined;
    for (;;) {
      const rows = await this.listCdr({ ...query, after, limit: pageSize });
      if (rows.length > 0) yield rows;
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]!;
      // A macrotask between pages: without it the next page's query follows in the same
      // microtask run, and timers (RTP pacing) wait for the whole export.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async countCdr(query: CdrFilter): Promise<number> {
    const row = await this.matching(query)
      .clearSelect()
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async aggregateCdr(
    query: CdrFilter,
    grouping: { origin: number; bucketMs: number; serviceLevelMs: number },
  ): Promise<CdrAggregates> {
    const origin = sql.lit(Math.trunc(grouping.origin));
    const bucketMs = sql.lit(Math.max(1, Math.trunc(grouping.bucketMs)));
    const count = (condition: RawBuilder<unknown>) =>
      sql<number>`sum(case when ${condition} then 1 else 0 end)`;
    const queued = sql`queued_at is not null`;
    const answeredQueued = sql`answered_at is not null and ${queued}`;
    // Integer literals on integer columns: the same whole-number division in every dialect;
    // start times are never before the origin, so it rounds down.
    const bucket = sql<number>`(started_at - ${origin}) / ${bucketMs}`;
    const buckets = await this.matching(query)
      .clearSelect()
      .select([
        bucket.as('bucket'),
        sql<number>`count(*)`.as('calls'),
        count(sql`answered_at is not null`).as('answered'),
        count(sql`outcome = 'abandoned'`).as('abandoned'),
        count(sql`outcome = 'overflow'`).as('overflow'),
        count(sql`outcome = 'no_agents'`).as('no_agents'),
        count(sql`${queued} and (answered_at is not null or outcome = 'abandoned')`).as('queued_settled'),
        count(sql`${answeredQueued} and answered_at - queued_at <= ${grouping.serviceLevelMs}`).as(
          'answered_within',
        ),
        count(answeredQueued).as('waited'),
        sql<number>`sum(case when ${answeredQueued} then answered_at - queued_at else 0 end)`.as('wait_ms'),
        sql<number>`sum(case when answered_at is not null then talk_seconds else 0 end)`.as('talk_seconds'),
      ])
      .groupBy(bucket)
      .orderBy(bucket)
      .execute();
    // A call that changed hands keeps its split per agent; the others group by agents alone.
    const split = sql<string>`case when transfers > 0 or agent_ids like '%,%' then agent_talk else '[]' end`;
    const agentSets = await this.matching(query)
      .clearSelect()
      .select([
        'agent_ids',
        split.as('split'),
        sql<number>`count(*)`.as('answered'),
        sql<number>`sum(talk_seconds)`.as('talk'),
      ])
      .where('answered_at', 'is not', null)
      .groupBy(['agent_ids', split])
      .execute();
    return {
      buckets: buckets.map((b) => ({
        bucket: Number(b.bucket),
        calls: Number(b.calls),
        answered: Number(b.answered),
        abandoned: Number(b.abandoned),
        overflow: Number(b.overflow),
        noAgents: Number(b.no_agents),
        queuedSettled: Number(b.queued_settled),
        answeredWithin: Number(b.answered_within),
        waited: Number(b.waited),
        waitMs: Number(b.wait_ms),
        talkSeconds: Number(b.talk_seconds),
      })),
      agentSets: agentSets.map((a) =>
        agentSet(JSON.parse(a.agent_ids) as number[], Number(a.answered), Number(a.talk), a.split),
      ),
    };
  }

  /** The CDRs a filter matches, unordered. */
  private matching(query: CdrFilter) {
    let q = this.db.selectFrom('cdr').selectAll();
    if (query.companyId !== undefined) q = q.where('company_id', '=', query.companyId);
    if (query.companyIds !== undefined)
      q = query.companyIds.length
        ? q.where('company_id', 'in', [...query.companyIds])
        : q.where(sql.lit(false));
    if (query.from !== undefined) q = q.where('started_at', '>=', query.from);
    if (query.to !== undefined) q = q.where('started_at', '<', query.to);
    if (query.departmentId !== undefined) q = q.where('department_id', '=', query.departmentId);
    if (query.outcome !== undefined) q = q.where('outcome', '=', query.outcome);
    if (query.agentId !== undefined) q = q.where(holds(sql.ref('agent_ids'), query.agentId));
    const via = query.viaDepartmentIds;
    if (via !== undefined) q = q.where((eb) => eb.or(via.map((id) => holds(sql.ref('department_ids'), id))));
    return q;
  }

  async closeInterruptedCdrs(endedAt: number): Promise<number> {
    const outcome: CallOutcome = 'interrupted';
    const result = await this.db
      .updateTable('cdr')
      .set((eb) => ({ ended_at: eb.fn.coalesce('ended_at', eb.val(endedAt)), outcome }))
      .where((eb) => eb.or([eb('ended_at', 'is', null), eb('outcome', 'is', null)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async insertQueueEvent(event: NewQueueEvent): Promise<QueueEvent> {
    const row = await this.db
      .insertInto('queue_events')
      .values({
        call_id: event.callId,
        company_id: event.companyId,
        department_id: event.departmentId,
        at: event.at,
        kind: event.kind,
        agent_id: event.agentId ?? null,
        detail: event.detail ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toQueueEvent(row);
  }

  async listQueueEvents(callId: string): Promise<QueueEvent[]> {
    const rows = await this.db
      .selectFrom('queue_events')
      .selectAll()
      .where('call_id', '=', callId)
      .orderBy('at')
      .orderBy('id')
      .execute();
    return rows.map(toQueueEvent);
  }
}

/**
 * `column` (a JSON array of integers, "[3,7]") holds `id`: as ",3,7," it holds ",7," exactly
 * when 7 is in it — the same text functions in every dialect.
 */
function holds(column: RawBuilder<unknown>, id: number) {
  return sql<boolean>`(',' || substr(${column}, 2, length(${column}) - 2) || ',') like ${`%,${Math.trunc(id)},%`}`;
}

function toColumns(c: Partial<Omit<Cdr, 'id'>>): Partial<Omit<CdrTable, 'id'>> {
  const out: Partial<Omit<CdrTable, 'id'>> = {};
  if (c.companyId !== undefined) out.company_id = c.companyId;
  if (c.hotline !== undefined) out.hotline = c.hotline;
  if (c.callerId !== undefined) out.caller_id = c.callerId;
  if (c.departmentId !== undefined) out.department_id = c.departmentId;
  if (c.startedAt !== undefined) out.started_at = c.startedAt;
  if (c.queuedAt !== undefined) out.queued_at = c.queuedAt;
  if (c.answeredAt !== undefined) out.answered_at = c.answeredAt;
  if (c.endedAt !== undefined) out.ended_at = c.endedAt;
  if (c.agentIds !== undefined) out.agent_ids = JSON.stringify(c.agentIds);
  if (c.transfers !== undefined) out.transfers = c.transfers;
  if (c.outcome !== undefined) out.outcome = c.outcome;
  if (c.talkSeconds !== undefined) out.talk_seconds = c.talkSeconds;
  if (c.departmentIds !== undefined) out.department_ids = JSON.stringify(c.departmentIds);
  if (c.agentTalk !== undefined) out.agent_talk = JSON.stringify(c.agentTalk);
  return out;
}

function toCdr(row: Selectable<CdrTable>): Cdr {
  return {
    id: row.id,
    companyId: row.company_id,
    hotline: row.hotline,
    callerId: row.caller_id,
    departmentId: row.department_id,
    startedAt: row.started_at,
    queuedAt: row.queued_at,
    answeredAt: row.answered_at,
    endedAt: row.ended_at,
    agentIds: JSON.parse(row.agent_ids) as number[],
    transfers: row.transfers,
    outcome: row.outcome as CallOutcome | null,
    talkSeconds: row.talk_seconds,
    departmentIds: JSON.parse(row.department_ids) as number[],
    agentTalk: JSON.parse(row.agent_talk) as AgentTalk[],
  };
}

function toQueueEvent(row: Selectable<QueueEventsTable>): QueueEvent {
  return {
    id: row.id,
    callId: row.call_id,
    companyId: row.company_id,
    departmentId: row.department_id,
    at: row.at,
    kind: row.kind as QueueEventKind,
    agentId: row.agent_id,
    detail: row.detail,
  };
}
