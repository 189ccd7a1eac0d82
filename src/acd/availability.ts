/**
 * Whether an agent can take a call (SPEC §3, §4, §6): the one place asked.
 *
 * An agent is free when their state is `ready`, no call of ours holds them
 * (an offer ringing, a call they talk in, a transfer to them) and they are not
 * in the service IVR. The state is the agent state machine's; the reservations
 * and the menu are kept here. Issue 15 puts this behind PostgreSQL for several
 * nodes: callers see only the interface, and everything is asynchronous.
 */
import type { Logger } from 'pino';
import { isAppError } from '../util/errors.ts';
import type { AgentState, AgentStateMachine, ReadyAgent } from './agent-state.ts';

export interface AgentAvailability {
  /** Every agent of the department who may be offered a call now: the distributor's candidates. */
  freeIn(departmentId: number): Promise<ReadyAgent[]>;
  /** Someone of the department is logged in: its calls may wait for them. */
  staffed(departmentId: number): Promise<boolean>;
  /** A call of ours holds the agent (offered, talking, a transfer target). */
  isReserved(agentId: number): Promise<boolean>;
  /**
   * Holds a free agent for one of our calls and moves them to `offered`; false
   * (nothing held) when they are reserved already, in the service IVR, or not `ready`.
   */
  reserve(agentId: number, reason: string): Promise<boolean>;
  /** Lets a held agent go and moves them to `to` (ready, a break, wrap-up). */
  release(agentId: number, to: AgentState, reason: string): Promise<void>;
  /** Moves a held agent on without letting them go (`busy` once they took the call). */
  settle(agentId: number, to: AgentState, reason: string): Promise<void>;
  /** The agent called the service IVR: not offered calls until they leave it. */
  enterMenu(agentId: number): Promise<void>;
  leaveMenu(agentId: number): Promise<void>;
  /** Agents in the service IVR now. */
  inMenu(): Promise<number>;
  /** An agent may have become free (ready, or out of the service IVR): a waiting call may go to them. */
  onMayBeFree(listener: (agentId: number) => void): () => void;
  close(): void;
}

/** Availability for one process: reservations and the menu in memory, states in the agent state machine. */
export class LocalAvailability implements AgentAvailability {
  private readonly reserved = new Set<number>();
  private readonly menu = new Set<number>();
  private readonly listeners = new Set<(agentId: number) => void>();
  private readonly offState: () => void;

  constructor(
    private readonly states: AgentStateMachine,
    private readonly log: Pick<Logger, 'error'>,
  ) {
    this.offState = states.onChange((change) => {
      if (change.to === 'ready') this.tell(change.agentId);
    });
  }

  async freeIn(departmentId: number): Promise<ReadyAgent[]> {
    const ready = await this.states.readyIn(departmentId);
    return ready.filter((a) => !this.reserved.has(a.agentId) && !this.menu.has(a.agentId));
  }

  staffed(departmentId: number): Promise<boolean> {
    return this.states.anyLoggedIn(departmentId);
  }

  isReserved(agentId: number): Promise<boolean> {
    return Promise.resolve(this.reserved.has(agentId));
  }

  async reserve(agentId: number, reason: string): Promise<boolean> {
    // Held before the first await: a second offer made meanwhile finds the agent taken.
    if (this.reserved.has(agentId) || this.menu.has(agentId)) return false;
    this.reserved.add(agentId);
    try {
      await this.states.transition(agentId, 'offered', { reason, source: 'system' });
      return true;
    } catch (err) {
      this.reserved.delete(agentId);
      if (isAppError(err, 'invalid_transition')) return false;
      throw err;
    }
  }

  release(agentId: number, to: AgentState, reason: string): Promise<void> {
    // Let go at once: callers order this after putting a returning call at the queue's head.
    this.reserved.delete(agentId);
    return this.move(agentId, to, reason);
  }

  settle(agentId: number, to: AgentState, reason: string): Promise<void> {
    return this.move(agentId, to, reason);
  }

  enterMenu(agentId: number): Promise<void> {
    this.menu.add(agentId);
    return Promise.resolve();
  }

  leaveMenu(agentId: number): Promise<void> {
    // Nothing else tells the distributor: the agent's state may not have changed.
    if (this.menu.delete(agentId)) this.tell(agentId);
    return Promise.resolve();
  }

  inMenu(): Promise<number> {
    return Promise.resolve(this.menu.size);
  }

  onMayBeFree(listener: (agentId: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.offState();
    this.listeners.clear();
  }

  private tell(agentId: number): void {
    for (const fn of this.listeners) fn(agentId);
  }

  private async move(agentId: number, to: AgentState, reason: string): Promise<void> {
    await systemMove(this.states, this.log, agentId, to, reason);
  }
}

/**
 * A move the system makes: one the table refuses, or the store (another node moved the agent
 * first), is no failure — the agent moved on meanwhile.
 */
export async function systemMove(
  states: AgentStateMachine,
  log: Pick<Logger, 'error'>,
  agentId: number,
  to: AgentState,
  reason: string,
): Promise<boolean> {
  try {
    await states.transition(agentId, to, { reason, source: 'system' });
    return true;
  } catch (err) {
    if (!refusedMove(err)) log.error({ err, agentId, to }, 'agent transition failed');
    return false;
  }
}

/** The table refused the move, or another node moved the agent first. */
export function refusedMove(err: unknown): boolean {
  return isAppError(err, 'invalid_transition') || isAppError(err, 'conflict');
}
