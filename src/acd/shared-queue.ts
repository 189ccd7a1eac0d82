/**
 * The departments' queues as several nodes see them (issue 15). Each node keeps its own waiting
 * customers (their legs, music, timers) in `CallQueues`; this mirrors who waits where, and in
 * what order, into the live store, so that a distribution pass on any node sees the whole floor:
 * the oldest waiting call of a department gets the next free agent, whichever node holds it.
 * Taking a call for an agent is one atomic step in the store; the node holding the customer's
 * dialog is then told (LISTEN/NOTIFY) and rings the agent.
 */
import type { Logger } from 'pino';
import type { LiveStore, WaitingHead } from '../store/live.ts';
import type { AgentStateMachine } from './agent-state.ts';
import { refusedMove } from './availability.ts';
import type { CustomerCall } from './customer-call.ts';

export type { WaitingHead } from '../store/live.ts';

export interface SharedQueue {
  readonly nodeId: string;
  /** A customer call of this node began (the board's live calls, the CDRs a lost node leaves). */
  started(cc: CustomerCall): void;
  ended(cc: CustomerCall): void;
  /** The call waits in its department's queue, at the tail or back at the head. */
  waits(cc: CustomerCall, head: boolean): void;
  /** Out of the queue (an agent took it, it overflowed). */
  left(cc: CustomerCall): void;
  /** The offer did not go through: the call waits again where it was. */
  putBack(cc: CustomerCall): void;
  /** The agent's phone could not be reached for this call, or may be tried again. */
  unreachable(cc: CustomerCall, agentId: number, unreachable: boolean): void;
  /** The oldest call not offered to anyone, per department, over every node (after this node's writes). */
  heads(): Promise<WaitingHead[]>;
  /** Holds the agent for the call and offers it to them, in one step; false when another pass was first. */
  take(head: WaitingHead, agentId: number, reason: string): Promise<boolean>;
  /** Tells the node holding the call to ring the agent it was given. */
  tellOffer(head: WaitingHead, agentId: number): Promise<void>;
  /** A pass on another node gave one of this node's calls an agent. */
  onOffer(fn: (callId: string, agentId: number) => void): () => void;
  /** This node's calls given an agent `olderThanMs` ago or more: `[callId, agentId]`. */
  offeredSince(olderThanMs: number): Promise<[string, number][]>;
  /** 1-based, over every node; 0 when not waiting. */
  position(cc: CustomerCall): Promise<number>;
  waitingCount(departmentId: number): Promise<number>;
  close(): void;
}

/** The shared queue over the live store (PostgreSQL). */
export class PostgresQueue implements SharedQueue {
  readonly nodeId: string;
  /** This node's queue writes, in order: a pass reads the store only after them. */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly live: LiveStore,
    private readonly states: AgentStateMachine,
    private readonly log: Pick<Logger, 'error' | 'warn'>,
  ) {
    this.nodeId = live.nodeId;
  }

  started(cc: CustomerCall): void {
    this.write(cc, () =>
      this.live.callStarted({
        callId: cc.id,
        companyId: cc.companyId,
        departmentId: cc.department.id,
        startedAt: cc.startedAt,
      }),
    );
  }

  ended(cc: CustomerCall): void {
    this.write(cc, () => this.live.callEnded(cc.id));
  }

  waits(cc: CustomerCall, head: boolean): void {
    const enteredAt = cc.enteredAt ?? cc.startedAt;
    this.write(cc, async () => {
      await this.live.wait(cc.id, cc.department.id, enteredAt, head);
      await this.live.send({ kind: 'pass', from: this.nodeId });
    });
  }

  left(cc: CustomerCall): void {
    this.write(cc, () => this.live.stopWaiting(cc.id));
  }

  putBack(cc: CustomerCall): void {
    this.write(cc, async () => {
      await this.live.unclaim(cc.id);
      await this.live.send({ kind: 'pass', from: this.nodeId });
    });
  }

  unreachable(cc: CustomerCall, agentId: number, unreachable: boolean): void {
    this.write(cc, () => this.live.setUnreachable(cc.id, agentId, unreachable));
  }

  async heads(): Promise<WaitingHead[]> {
    await this.writes;
    return this.live.heads();
  }

  async take(head: WaitingHead, agentId: number, reason: string): Promise<boolean> {
    await this.writes;
    if (!(await this.live.claim(head.callId, agentId, reason))) return false;
    try {
      await this.states.transition(agentId, 'offered', { reason, source: 'system' });
      return true;
    } catch (err) {
      // The agent moved on (not ready, logged out) since they were found free: undo both.
      await this.live.unhold(agentId);
      await this.live.unclaim(head.callId);
      if (refusedMove(err)) return false;
      throw err;
    }
  }

  tellOffer(head: WaitingHead, agentId: number): Promise<void> {
    return this.live.send({ kind: 'offer', nodeId: head.nodeId, callId: head.callId, agentId });
  }

  onOffer(fn: (callId: string, agentId: number) => void): () => void {
    return this.live.onMessage((m) => {
      if (m.kind === 'offer' && m.nodeId === this.nodeId) fn(m.callId, m.agentId);
    });
  }

  async offeredSince(olderThanMs: number): Promise<[string, number][]> {
    await this.writes;
    return this.live.offeredSince(olderThanMs);
  }

  async position(cc: CustomerCall): Promise<number> {
    await this.writes;
    return this.live.position(cc.id);
  }

  waitingCount(departmentId: number): Promise<number> {
    return this.live.waitingCount(departmentId);
  }

  close(): void {}

  private write(cc: CustomerCall, op: () => Promise<void>): void {
    this.writes = this.writes.then(op).catch((err: unknown) => {
      this.log.warn({ err, callId: cc.id }, 'could not write the shared queue (PostgreSQL)');
    });
  }
}
