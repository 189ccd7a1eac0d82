/**
 * Agent state machine (SPEC §3).
 *
 *   logged_out ─login→ ready ─offer→ offered ─answer→ busy ─hang-up→ wrap_up ─(wrapUpSeconds)→ ready
 *                        ↕                  └no answer / reject→ temporarily_not_ready
 *        temporarily_not_ready (returns to ready after breakMinutes) · not_ready (until changed)
 *
 * One `transition()` checks the move against `TRANSITIONS`, records it (current
 * state + a history row) in the AgentStateStore, starts or clears the timers
 * the new state owns, and tells the listeners. Moves of one agent are
 * serialised; different agents proceed independently.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { AppError, isAppError } from '../util/errors.ts';
import { canMove, type TransitionTable } from '../util/state-machine.ts';
import type {
  AgentState,
  AgentStateRecord,
  AgentStateStore,
  DirectoryStore,
  ReadyAgent,
  TransitionSource,
} from '../store/store.ts';

export type { AgentState, AgentStateRecord, ReadyAgent, TransitionSource } from '../store/store.ts';

// Declared once in the store's vocabulary; re-exported for the ACD's callers.
export { AGENT_STATES } from '../store/vocabulary.ts';

/**
 * Allowed moves. Notes:
 * - `offered → ready`: the caller hung up (or the call went elsewhere) while the agent's phone rang;
 *   `offered → temporarily_not_ready`: no answer within ringSeconds, or rejected;
 *   `offered → logged_out | not_ready`: a supervisor forces the agent's state (`supervisor_logout`,
 *   `supervisor_not_ready`; the distributor withdraws the offer, the call stays at the queue's head).
 * - `busy` ends through `wrap_up` (even with wrapUpSeconds 0), or through a supervisor's forced
 *   `logged_out` / `not_ready`, which Acd (`forceAgent`) makes only once the call let the agent go
 *   (their leg ended, the customer back at the head of the queue): a live call is never orphaned
 *   by a logout. The API refuses both moves without `force`.
 * - `temporarily_not_ready → temporarily_not_ready` restarts the break.
 * Asking for the current state of `ready`, `not_ready` or `logged_out` is a no-op (see `NOOP_SELF`).
 */
export const TRANSITIONS: TransitionTable<AgentState> = Object.freeze({
  logged_out: ['ready'],
  ready: ['offered', 'temporarily_not_ready', 'not_ready', 'logged_out'],
  offered: ['busy', 'ready', 'temporarily_not_ready', 'not_ready', 'logged_out'],
  busy: ['wrap_up', 'not_ready', 'logged_out'],
  wrap_up: ['ready', 'temporarily_not_ready', 'not_ready', 'logged_out'],
  temporarily_not_ready: ['temporarily_not_ready', 'ready', 'not_ready', 'logged_out'],
  not_ready: ['ready', 'temporarily_not_ready', 'logged_out'],
});

/** States whose self-transition is accepted and changes nothing (no history row, no event). */
export const NOOP_SELF: ReadonlySet<AgentState> = new Set<AgentState>(['ready', 'not_ready', 'logged_out']);

export function canTransition(from: AgentState, to: AgentState): boolean {
  return canMove(TRANSITIONS, from, to);
}

export interface TransitionOptions {
  /** Why, for the history: `ivr_login`, `ivr_menu_3`, `no_answer`, `call_ended`, `break_over` … */
  reason: string;
  source: TransitionSource;
}

export interface AgentStateChange {
  agentId: number;
  companyId: number;
  from: AgentState;
  to: AgentState;
  reason: string;
  source: TransitionSource;
  /** Wall-clock ms. */
  at: number;
  historyId: number;
}

export type AgentStateListener = (change: AgentStateChange) => void;

export interface RecoveryReport {
  /** Agents found offered/busy/wrap_up, now ready. */
  recovered: number[];
  /** Agents on a break whose timer was re-armed for the remaining time. */
  breaksRearmed: number[];
  /** Agents whose break ran out while the server was down, now ready. */
  breaksEnded: number[];
}

export interface AgentStateMachineDeps {
  store: AgentStateStore;
  /** For the agent's company and its settings (`breakMinutes`, `wrapUpSeconds`), read at each move. */
  directory: Pick<DirectoryStore, 'getAgent' | 'getCompany'>;
  clock: Clock;
  logger?: Pick<Logger, 'warn' | 'error'>;
}

interface OwnedTimer {
  handle: TimerHandle;
  state: AgentState;
  /** Wall time the agent entered `state`; the timer only acts if it is unchanged. */
  since: number;
}

export const REASON_BREAK_OVER = 'break_over';
export const REASON_WRAP_UP_OVER = 'wrap_up_over';
export const REASON_RESTART_RECOVERY = 'restart_recovery';
/** A supervisor forced the agent's state (logged out / not ready) while offered a call or in one. */
export const FORCED_REASONS = { logged_out: 'supervisor_logout', not_ready: 'supervisor_not_ready' } as const;

export class AgentStateMachine {
  private readonly store: AgentStateStore;
  private readonly directory: AgentStateMachineDeps['directory'];
  private readonly clock: Clock;
  private readonly logger: AgentStateMachineDeps['logger'];
  private readonly listeners = new Set<AgentStateListener>();
  private readonly timers = new Map<number, OwnedTimer>();
  /** Tail of the queue of operations of each agent. */
  private readonly queues = new Map<number, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly companyOf = new Map<number, number>();
  private closed = false;

  constructor(deps: AgentStateMachineDeps) {
    this.store = deps.store;
    this.directory = deps.directory;
    this.clock = deps.clock;
    this.logger = deps.logger;
  }

  /**
   * Moves `agentId` to `to`. Resolves with the recorded change, or `null` for an
   * accepted no-op (`NOOP_SELF`). Rejects with `AppError('invalid_transition')`
   * for a move not in `TRANSITIONS`, `AppError('not_found')` for an unknown agent,
   * `AppError('closed')` after `close()`.
   *
   * Entering `wrap_up` with `wrapUpSeconds` 0 also moves on to `ready` before the
   * promise resolves (two events; the promise gives the first).
   */
  transition(agentId: number, to: AgentState, options: TransitionOptions): Promise<AgentStateChange | null> {
    return this.enqueue(agentId, async () => {
      const current = await this.current(agentId);
      if (current.state === to && NOOP_SELF.has(to)) return null;
      if (!canTransition(current.state, to)) {
        throw new AppError(
          'invalid_transition',
          `agent ${agentId}: ${current.state} → ${to} is not allowed`,
          {
            details: { agentId, from: current.state, to },
          },
        );
      }
      return this.apply(agentId, current.state, to, options);
    });
  }

  /** The agent's current state; `AppError('not_found')` for an unknown agent. */
  async getState(agentId: number): Promise<AgentStateRecord> {
    return this.current(agentId);
  }

  /** The department's agents in `ready` now, with their priority there. */
  readyIn(departmentId: number): Promise<ReadyAgent[]> {
    return this.store.listReadyIn(departmentId);
  }

  /** Any agent of the department logged in (in whatever state): it can take calls. */
  anyLoggedIn(departmentId: number): Promise<boolean> {
    return this.store.anyLoggedIn(departmentId);
  }

  /** Subscribes to every recorded change; returns the unsubscribe function. */
  onChange(listener: AgentStateListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Run once at start, before calls are taken: nobody can be on one of our calls
   * yet, so agents left `offered`/`busy`/`wrap_up` become `ready`
   * (`restart_recovery`); agents on a break get their timer back for the rest of
   * the break, or return to `ready` now if it is over.
   */
  async recoverAfterRestart(): Promise<RecoveryReport> {
    this.assertOpen();
    const states = await this.store.listAgentStates();
    return this.recover(
      states.map((s) => s.agentId),
      REASON_RESTART_RECOVERY,
    );
  }

  /**
   * Another node stopped (issue 15): `agentIds`, whom its calls held, become `ready` (`reason`,
   * e.g. `node_lost`) as after a restart; and the break and wrap-up timers of every agent get
   * armed here for the rest of their time, since the lost node may have owned them. A timer
   * another node owns as well acts once: the second finds the agent moved on (or the store
   * refuses its move).
   */
  async recoverLost(agentIds: readonly number[], reason: string): Promise<RecoveryReport> {
    this.assertOpen();
    const held = new Set(agentIds);
    const timed = (await this.store.listAgentStates())
      .filter((s) => s.state === 'temporarily_not_ready' || s.state === 'wrap_up')
      .map((s) => s.agentId)
      .filter((id) => !held.has(id) && !this.timers.has(id));
    const report = await this.recover(agentIds, reason);
    const resumed = await this.recover(timed, reason, true);
    report.breaksRearmed.push(...resumed.breaksRearmed);
    report.breaksEnded.push(...resumed.breaksEnded);
    return report;
  }

  /** `timersOnly`: agents in wrap-up keep it (its timer armed), instead of being freed. */
  private async recover(
    agentIds: readonly number[],
    reason: string,
    timersOnly = false,
  ): Promise<RecoveryReport> {
    const report: RecoveryReport = { recovered: [], breaksRearmed: [], breaksEnded: [] };
    await Promise.all(
      agentIds.map((agentId) =>
        this.enqueue(agentId, async () => {
          const cur = await this.current(agentId);
          const options = { source: 'system' as const };
          const timed = cur.state === 'temporarily_not_ready' || (timersOnly && cur.state === 'wrap_up');
          if (!timed && (cur.state === 'offered' || cur.state === 'busy' || cur.state === 'wrap_up')) {
            // Bypasses the table (busy → ready is not an ordinary move).
            await this.apply(agentId, cur.state, 'ready', { ...options, reason });
            report.recovered.push(agentId);
          } else if (timed) {
            const settings = await this.settingsOf(agentId);
            const over = cur.state === 'wrap_up' ? REASON_WRAP_UP_OVER : REASON_BREAK_OVER;
            const length =
              cur.state === 'wrap_up' ? settings.wrapUpSeconds * 1000 : settings.breakMinutes * 60_000;
            const remaining = cur.since + length - this.clock.wallNow();
            if (remaining <= 0) {
              await this.apply(agentId, cur.state, 'ready', { ...options, reason: over });
              report.breaksEnded.push(agentId);
            } else {
              this.arm(agentId, cur.state, cur.since, remaining, over);
              report.breaksRearmed.push(agentId);
            }
          }
        }),
      ),
    );
    for (const list of [report.recovered, report.breaksRearmed, report.breaksEnded])
      list.sort((a, b) => a - b);
    return report;
  }

  /** Timers this machine owns right now (break and wrap-up timers). */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** Resolves when every operation started so far (including timer-driven ones) has finished. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) {
      await Promise.allSettled([...this.inFlight]);
    }
  }

  /** Clears every timer; later calls to `transition` reject with `AppError('closed')`. */
  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) this.clock.clearTimeout(t.handle);
    this.timers.clear();
    this.listeners.clear();
  }

  // -------------------------------------------------------------------------

  /** Records from → to, re-arms timers, notifies. Caller holds the agent's queue. */
  private async apply(
    agentId: number,
    from: AgentState,
    to: AgentState,
    options: TransitionOptions,
  ): Promise<AgentStateChange> {
    this.assertOpen();
    const companyId = await this.companyIdOf(agentId);
    const at = this.clock.wallNow();
    const row = await this.store.recordTransition({
      agentId,
      at,
      from,
      to,
      reason: options.reason,
      source: options.source,
    });
    this.disarm(agentId);
    const change: AgentStateChange = {
      agentId,
      companyId,
      from,
      to,
      reason: row.reason,
      source: row.source,
      at,
      historyId: row.id,
    };
    this.emit(change);

    if (to === 'temporarily_not_ready') {
      const { breakMinutes } = await this.settingsOf(agentId);
      this.arm(agentId, to, at, breakMinutes * 60_000, REASON_BREAK_OVER);
    } else if (to === 'wrap_up') {
      const { wrapUpSeconds } = await this.settingsOf(agentId);
      if (wrapUpSeconds <= 0) {
        await this.apply(agentId, 'wrap_up', 'ready', { reason: REASON_WRAP_UP_OVER, source: 'system' });
      } else {
        this.arm(agentId, to, at, wrapUpSeconds * 1000, REASON_WRAP_UP_OVER);
      }
    }
    return change;
  }

  /** Starts the timer that takes the agent from `state` back to `ready`. */
  private arm(agentId: number, state: AgentState, since: number, ms: number, reason: string): void {
    if (this.closed) return;
    this.disarm(agentId);
    const handle = this.clock.setTimeout(() => {
      const owned = this.timers.get(agentId);
      if (owned?.handle !== handle) return; // replaced or cleared meanwhile
      this.timers.delete(agentId);
      void this.enqueue(agentId, async () => {
        const cur = await this.current(agentId);
        if (cur.state !== state || cur.since !== since) return; // the agent moved on
        await this.apply(agentId, state, 'ready', { reason, source: 'system' });
      }).catch((err: unknown) => {
        // `conflict`: another node's timer for the same wait moved the agent first (issue 15).
        if (isAppError(err, 'closed') || isAppError(err, 'conflict')) return;
        this.logger?.error({ err, agentId, state }, 'agent state timer failed');
      });
    }, ms);
    this.timers.set(agentId, { handle, state, since });
  }

  private disarm(agentId: number): void {
    const t = this.timers.get(agentId);
    if (t) {
      this.clock.clearTimeout(t.handle);
      this.timers.delete(agentId);
    }
  }

  private emit(change: AgentStateChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch (err) {
        this.logger?.warn({ err, agentId: change.agentId }, 'agent state listener threw');
      }
    }
  }

  /** Runs `op` after the agent's earlier operations; tracked for `idle()`. */
  private enqueue<T>(agentId: number, op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new AppError('closed', 'agent state machine is closed'));
    const prev = this.queues.get(agentId) ?? Promise.resolve();
    const run = prev.then(op, op);
    const tail = run.catch(() => undefined);
    this.queues.set(agentId, tail);
    this.inFlight.add(tail);
    void tail.then(() => {
      this.inFlight.delete(tail);
      if (this.queues.get(agentId) === tail) this.queues.delete(agentId);
    });
    return run;
  }

  private async current(agentId: number): Promise<AgentStateRecord> {
    const rec = await this.store.getAgentState(agentId);
    if (!rec) throw new AppError('not_found', `no agent ${agentId}`);
    return rec;
  }

  private async companyIdOf(agentId: number): Promise<number> {
    const known = this.companyOf.get(agentId);
    if (known !== undefined) return known;
    const agent = await this.directory.getAgent(agentId);
    if (!agent) throw new AppError('not_found', `no agent ${agentId}`);
    this.companyOf.set(agentId, agent.companyId);
    return agent.companyId;
  }

  private async settingsOf(agentId: number): Promise<{ breakMinutes: number; wrapUpSeconds: number }> {
    const company = await this.directory.getCompany(await this.companyIdOf(agentId));
    if (!company) throw new AppError('not_found', `no company for agent ${agentId}`);
    return company.settings;
  }

  private assertOpen(): void {
    if (this.closed) throw new AppError('closed', 'agent state machine is closed');
  }
}
