/**
 * Agent availability shared by several nodes (issue 15): the holds and the service IVR are rows
 * in the live store (PostgreSQL), the states the agent state machine's (in the same database),
 * so whichever node asks gets the same answer, and a hold taken on one node is seen by all.
 */
import type { Logger } from 'pino';
import type { LiveStore } from '../store/live.ts';
import type { AgentState, AgentStateMachine, ReadyAgent } from './agent-state.ts';
import { refusedMove, systemMove, type AgentAvailability } from './availability.ts';

export class PostgresAvailability implements AgentAvailability {
  private readonly listeners = new Set<(agentId: number) => void>();
  private readonly offState: () => void;
  private readonly offLive: () => void;

  constructor(
    private readonly states: AgentStateMachine,
    private readonly live: LiveStore,
    private readonly log: Pick<Logger, 'error' | 'warn'>,
  ) {
    // An agent ready here may take a call waiting on any node: every node runs a pass.
    this.offState = states.onChange((change) => {
      if (change.to === 'ready') this.mayBeFree(change.agentId);
    });
    this.offLive = live.onMessage((m) => {
      if (m.kind === 'pass' && m.from !== live.nodeId) this.tell(0);
    });
  }

  async freeIn(departmentId: number): Promise<ReadyAgent[]> {
    const ready = await this.states.readyIn(departmentId);
    if (ready.length === 0) return ready;
    const bound = await this.live.boundAmong(ready.map((a) => a.agentId));
    return ready.filter((a) => !bound.has(a.agentId));
  }

  staffed(departmentId: number): Promise<boolean> {
    return this.states.anyLoggedIn(departmentId);
  }

  isReserved(agentId: number): Promise<boolean> {
    return this.live.isHeld(agentId);
  }

  async reserve(agentId: number, reason: string): Promise<boolean> {
    // The hold's row is the reservation: a second node's insert of the same agent finds it.
    if (!(await this.live.hold(agentId, reason))) return false;
    try {
      await this.states.transition(agentId, 'offered', { reason, source: 'system' });
      return true;
    } catch (err) {
      await this.live.unhold(agentId);
      if (refusedMove(err)) return false;
      throw err;
    }
  }

  async release(agentId: number, to: AgentState, reason: string): Promise<void> {
    await this.live.unhold(agentId);
    await systemMove(this.states, this.log, agentId, to, reason);
  }

  async settle(agentId: number, to: AgentState, reason: string): Promise<void> {
    await systemMove(this.states, this.log, agentId, to, reason);
  }

  enterMenu(agentId: number): Promise<void> {
    return this.live.enterMenu(agentId);
  }

  async leaveMenu(agentId: number): Promise<void> {
    if (await this.live.leaveMenu(agentId)) this.mayBeFree(agentId);
  }

  inMenu(): Promise<number> {
    return this.live.menuCount();
  }

  onMayBeFree(listener: (agentId: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.offState();
    this.offLive();
    this.listeners.clear();
  }

  /** Here at once, on the other nodes through the channel. */
  private mayBeFree(agentId: number): void {
    this.tell(agentId);
    this.live
      .send({ kind: 'pass', from: this.live.nodeId })
      .catch((err: unknown) => this.log.warn({ err }, 'could not tell the other nodes an agent is free'));
  }

  private tell(agentId: number): void {
    for (const fn of this.listeners) fn(agentId);
  }
}
