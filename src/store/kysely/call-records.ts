import type { Kysely, Selectable } from 'kysely';
import { AppError } from '../../util/errors.ts';
import type {
  CallOutcome,
  CallRecordStore,
  Cdr,
  CdrPatch,
  CdrQuery,
  NewCdr,
  NewQueueEvent,
  QueueEvent,
  QueueEventKind,
} from '../store.ts';
import { stripUndefined } from '../rules.ts';
import type { MapDbError } from './dialect.ts';
import type { CdrTable, Database, QueueEventsTable } from './schema.ts';

export class KyselyCallRecordStore implements CallRecordStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly mapDbError: MapDbError,
  ) {}

  async insertCdr(cdr: NewCdr): Promise<Cdr> {
    const full: Cdr = {
      companyId: null,
      hotline: null,
      callerId: null,
      departmentId: null,
      queuedAt: null,
      answeredAt: null,
      endedAt: null,
      agentIds: [],
      transfers: 0,
      outcome: null,
      talkSeconds: 0,
      ...stripUndefined(cdr),
      id: cdr.id,
      startedAt: cdr.startedAt,
    };
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
    const rows = await this.matching(query)
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit ?? 100)
      .execute();
    return rows.map(toCdr);
  }

  async *pagesOfCdr(query: Omit<CdrQuery, 'limit'>, pageSize: number): AsyncGenerator<Cdr[]> {
    let after: { startedAt: number; id: string } | undefined;
    for (;;) {
      let q = this.matching(query);
      if (after !== undefined) {
        // Keyset paging on (started_at, id): each page costs the same however deep it is, and
        // rows inserted meanwhile (newer) never shift the ones still to come.
        const { startedAt, id } = after;
        q = q.where((eb) =>
          eb.or([
            eb('started_at', '<', startedAt),
            eb.and([eb('started_at', '=', startedAt), eb('id', '<', id)]),
          ]),
        );
      }
      const rows = await q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(pageSize).execute();
      if (rows.length > 0) yield rows.map(toCdr);
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1]!;
      after = { startedAt: last.started_at, id: last.id };
      // A macrotask between pages: without it the next page's query follows in the same
      // microtask run, and timers (RTP pacing) wait for the whole export.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** The CDRs of a company and period, unordered. */
  private matching(query: Omit<CdrQuery, 'limit'>) {
    let q = this.db.selectFrom('cdr').selectAll();
    if (query.companyId !== undefined) q = q.where('company_id', '=', query.companyId);
    if (query.from !== undefined) q = q.where('started_at', '>=', query.from);
    if (query.to !== undefined) q = q.where('started_at', '<', query.to);
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
