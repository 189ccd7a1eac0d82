import pg from 'pg';
import type { FloorCall, LiveMessage, LiveStore, LostNode, WaitingHead } from '../live.ts';

/** The channel every node LISTENs on. */
const CHANNEL = 'agentline_live';

/** Epoch ms by the database's clock: the nodes' own clocks never have to agree. */
const NOW = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export interface PostgresLiveOptions {
  nodeId: string;
  /** Told of a failure an operator must see (the listening connection lost). */
  onError?: (err: unknown, what: string) => void;
}

/**
 * The shared live state on PostgreSQL (issue 15). A small pool of its own for the statements,
 * and one connection that LISTENs, so a notification is never held up behind a query. Every
 * step that two nodes could take at once is one statement or one transaction whose conditions
 * (`offered_to is null`, the holds' primary key, `heartbeat_at <` the cut) let exactly one win.
 */
export class PostgresLive implements LiveStore {
  readonly nodeId: string;
  private readonly listeners = new Set<(m: LiveMessage) => void>();
  private listener: pg.Client | undefined;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresLiveOptions,
  ) {
    this.nodeId = options.nodeId;
  }

  static async open(url: string, options: PostgresLiveOptions): Promise<PostgresLive> {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', (err) => options.onError?.(err, 'a live-state connection failed while idle'));
    const live = new PostgresLive(pool, options);
    await live.listen(url);
    return live;
  }

  private async listen(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    client.on('notification', (n) => {
      if (n.channel !== CHANNEL || n.payload === undefined) return;
      let message: LiveMessage;
      try {
        message = JSON.parse(n.payload) as LiveMessage;
      } catch {
        return;
      }
      for (const fn of [...this.listeners]) fn(message);
    });
    client.on('error', (err) => {
      if (this.closed) return;
      this.options.onError?.(err, 'the live-state LISTEN connection failed; reconnecting');
      this.listener = undefined;
      setTimeout(
        () => void this.listen(url).catch((e: unknown) => this.options.onError?.(e, 'LISTEN')),
        1000,
      ).unref();
    });
    await client.connect();
    await client.query(`listen ${CHANNEL}`);
    this.listener = client;
  }

  private async rows<R>(text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.pool.query(text, values)).rows as R[];
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T | undefined>): Promise<T | undefined> {
    const c = await this.pool.connect();
    try {
      await c.query('begin');
      const result = await fn(c);
      await c.query(result === undefined ? 'rollback' : 'commit');
      return result;
    } catch (err) {
      await c.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  // ── nodes ──────────────────────────────────────────────────────────────
  async heartbeat(): Promise<void> {
    await this.pool.query(
      `insert into acd_nodes (node_id, started_at, heartbeat_at) values ($1, ${NOW}, ${NOW})
       on conflict (node_id) do update set heartbeat_at = excluded.heartbeat_at`,
      [this.nodeId],
    );
  }

  async othersAlive(staleMs: number): Promise<string[]> {
    const rows = await this.rows<{ node_id: string }>(
      `select node_id from acd_nodes where node_id <> $1 and heartbeat_at >= ${NOW} - $2 order by node_id`,
      [this.nodeId, staleMs],
    );
    return rows.map((r) => r.node_id);
  }

  async takeLostNodes(staleMs: number): Promise<LostNode[]> {
    const stale = await this.rows<{ node_id: string }>(
      `select node_id from acd_nodes where node_id <> $1 and heartbeat_at < ${NOW} - $2`,
      [this.nodeId, staleMs],
    );
    const lost: LostNode[] = [];
    for (const { node_id } of stale) {
      const taken = await this.tx(async (c) => {
        // Whoever deletes the row takes the node out; a node that beat again meanwhile is kept.
        const won = await c.query(
          `delete from acd_nodes where node_id = $1 and heartbeat_at < ${NOW} - $2 returning node_id`,
          [node_id, staleMs],
        );
        if (won.rowCount === 0) return undefined;
        return this.clearNode(c, node_id, 'node_lost');
      });
      if (taken) lost.push(taken);
    }
    return lost;
  }

  async takeNode(nodeId: string): Promise<LostNode> {
    const taken = await this.tx(async (c) => {
      await c.query(`delete from acd_nodes where node_id = $1`, [nodeId]);
      return this.clearNode(c, nodeId, 'interrupted');
    });
    return taken ?? { nodeId, agents: [], calls: 0 };
  }

  private async clearNode(c: pg.PoolClient, nodeId: string, outcome: string): Promise<LostNode> {
    const holds = await c.query<{ agent_id: number }>(
      `delete from acd_holds where node_id = $1 returning agent_id`,
      [nodeId],
    );
    await c.query(`delete from acd_menu where node_id = $1`, [nodeId]);
    const calls = await c.query<{ call_id: string }>(
      `delete from acd_calls where node_id = $1 returning call_id`,
      [nodeId],
    );
    const ids = calls.rows.map((r) => r.call_id);
    if (ids.length > 0)
      await c.query(
        `update cdr set ended_at = coalesce(ended_at, ${NOW}), outcome = $2
         where id = any($1::text[]) and (ended_at is null or outcome is null)`,
        [ids, outcome],
      );
    return { nodeId, agents: holds.rows.map((r) => r.agent_id).sort((a, b) => a - b), calls: ids.length };
  }

  async clearAll(): Promise<void> {
    await this.pool.query(`truncate acd_holds, acd_menu, acd_calls`);
    await this.pool.query(`delete from acd_nodes where node_id <> $1`, [this.nodeId]);
  }

  // ── agents ─────────────────────────────────────────────────────────────
  async hold(agentId: number, reason: string): Promise<boolean> {
    const r = await this.pool.query(
      `insert into acd_holds (agent_id, node_id, call_id, reason, at)
       select $1, $2, null, $3, ${NOW}
       where not exists (select 1 from acd_menu where agent_id = $1)
       on conflict (agent_id) do nothing`,
      [agentId, this.nodeId, reason],
    );
    return r.rowCount === 1;
  }

  async unhold(agentId: number): Promise<void> {
    await this.pool.query(`delete from acd_holds where agent_id = $1`, [agentId]);
  }

  async isHeld(agentId: number): Promise<boolean> {
    return (await this.rows(`select 1 from acd_holds where agent_id = $1`, [agentId])).length > 0;
  }

  async boundAmong(agentIds: readonly number[]): Promise<Set<number>> {
    const rows = await this.rows<{ agent_id: number }>(
      `select agent_id from acd_holds where agent_id = any($1)
       union select agent_id from acd_menu where agent_id = any($1)`,
      [agentIds],
    );
    return new Set(rows.map((r) => Number(r.agent_id)));
  }

  async enterMenu(agentId: number): Promise<void> {
    await this.pool.query(`insert into acd_menu (agent_id, node_id) values ($1, $2) on conflict do nothing`, [
      agentId,
      this.nodeId,
    ]);
  }

  async leaveMenu(agentId: number): Promise<boolean> {
    const r = await this.pool.query(`delete from acd_menu where agent_id = $1 and node_id = $2`, [
      agentId,
      this.nodeId,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async menuCount(): Promise<number> {
    const [row] = await this.rows<{ n: string }>(`select count(distinct agent_id) as n from acd_menu`);
    return Number(row?.n ?? 0);
  }

  // ── calls and queues ───────────────────────────────────────────────────
  async callStarted(call: {
    callId: string;
    companyId: number;
    departmentId: number;
    startedAt: number;
  }): Promise<void> {
    await this.pool.query(
      `insert into acd_calls (call_id, node_id, company_id, department_id, started_at) values ($1, $2, $3, $4, $5)
       on conflict (call_id) do nothing`,
      [call.callId, this.nodeId, call.companyId, call.departmentId, call.startedAt],
    );
  }

  async callEnded(callId: string): Promise<void> {
    await this.pool.query(`delete from acd_calls where call_id = $1`, [callId]);
  }

  async wait(callId: string, departmentId: number, enteredAt: number, head: boolean): Promise<void> {
    await this.pool.query(
      `update acd_calls set department_id = $2, entered_at = coalesce(entered_at, $3), offered_to = null,
         position = case when $4 then -nextval('acd_queue_seq') else nextval('acd_queue_seq') end
       where call_id = $1`,
      [callId, departmentId, enteredAt, head],
    );
  }

  async stopWaiting(callId: string): Promise<void> {
    await this.pool.query(`update acd_calls set position = null, offered_to = null where call_id = $1`, [
      callId,
    ]);
  }

  async heads(): Promise<WaitingHead[]> {
    const rows = await this.rows<{
      call_id: string;
      node_id: string;
      department_id: number;
      unreachable: number[];
    }>(
      `select distinct on (department_id) call_id, node_id, department_id, unreachable from acd_calls
       where position is not null and offered_to is null
       order by department_id, priority, position`,
    );
    return rows.map((r) => ({
      callId: r.call_id,
      nodeId: r.node_id,
      departmentId: r.department_id,
      unreachable: r.unreachable,
    }));
  }

  async claim(callId: string, agentId: number, reason: string): Promise<boolean> {
    const done = await this.tx(async (c) => {
      // The call's row is locked from here to the commit: a second claim of it waits, then
      // finds it offered. The hold's primary key does the same for the agent.
      const call = await c.query<{ node_id: string }>(
        `update acd_calls set offered_to = $2, offered_at = ${NOW}
         where call_id = $1 and position is not null and offered_to is null
         returning node_id`,
        [callId, agentId],
      );
      const nodeId = call.rows[0]?.node_id;
      if (nodeId === undefined) return undefined;
      const held = await c.query(
        `insert into acd_holds (agent_id, node_id, call_id, reason, at)
         select $1, $2, $3, $4, ${NOW}
         where not exists (select 1 from acd_menu where agent_id = $1)
         on conflict (agent_id) do nothing`,
        [agentId, nodeId, callId, reason],
      );
      return held.rowCount === 1 ? true : undefined;
    });
    return done === true;
  }

  async unclaim(callId: string): Promise<void> {
    await this.pool.query(`update acd_calls set offered_to = null where call_id = $1`, [callId]);
  }

  async setUnreachable(callId: string, agentId: number, unreachable: boolean): Promise<void> {
    await this.pool.query(
      unreachable
        ? `update acd_calls set unreachable = array_append(array_remove(unreachable, $2), $2) where call_id = $1`
        : `update acd_calls set unreachable = array_remove(unreachable, $2) where call_id = $1`,
      [callId, agentId],
    );
  }

  async offeredSince(olderThanMs: number): Promise<[string, number][]> {
    const rows = await this.rows<{ call_id: string; offered_to: number }>(
      `select call_id, offered_to from acd_calls
       where node_id = $1 and offered_to is not null and offered_at <= ${NOW} - $2`,
      [this.nodeId, olderThanMs],
    );
    return rows.map((r) => [r.call_id, r.offered_to]);
  }

  async position(callId: string): Promise<number> {
    const [row] = await this.rows<{ n: string }>(
      `select count(*) as n from acd_calls w join acd_calls me on me.call_id = $1
       where me.position is not null and w.position is not null and w.department_id = me.department_id
         and (w.priority, w.position) <= (me.priority, me.position)`,
      [callId],
    );
    return Number(row?.n ?? 0);
  }

  async waitingCount(departmentId: number): Promise<number> {
    const [row] = await this.rows<{ n: string }>(
      `select count(*) as n from acd_calls where department_id = $1 and position is not null`,
      [departmentId],
    );
    return Number(row?.n ?? 0);
  }

  async floorCalls(companyId: number): Promise<FloorCall[]> {
    const rows = await this.rows<{
      call_id: string;
      node_id: string;
      department_id: number | null;
      entered_at: string | null;
      position: string | null;
      agent_id: number | null;
    }>(
      `select c.call_id, c.node_id, c.department_id, c.entered_at, c.position,
         coalesce(c.offered_to, (select min(h.agent_id) from acd_holds h where h.call_id = c.call_id)) as agent_id
       from acd_calls c where c.company_id = $1 order by c.started_at`,
      [companyId],
    );
    return rows.map((r) => ({
      callId: r.call_id,
      nodeId: r.node_id,
      departmentId: r.department_id,
      waitingSince: r.position !== null && r.entered_at !== null ? Number(r.entered_at) : null,
      agentId: r.agent_id,
    }));
  }

  // ── the channel ────────────────────────────────────────────────────────
  async send(message: LiveMessage): Promise<void> {
    await this.pool.query(`select pg_notify($1, $2)`, [CHANNEL, JSON.stringify(message)]);
  }

  onMessage(fn: (message: LiveMessage) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.pool.query(`delete from acd_nodes where node_id = $1`, [this.nodeId]).catch(() => undefined);
    await this.abandon();
  }

  async abandon(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
    await this.pool.end().catch(() => undefined);
  }
}

/** Opens the live state of the PostgreSQL database `url` for node `nodeId`. */
export function openPostgresLive(url: string, options: PostgresLiveOptions): Promise<PostgresLive> {
  return PostgresLive.open(url, options);
}
