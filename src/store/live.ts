/**
 * The live state several nodes of one contact centre share (issue 15): who is held by a call,
 * who is in the service IVR, the waiting calls of every department, the live calls, the nodes
 * and their heartbeats, and a channel every node hears. PostgreSQL implements it
 * (`postgres/live.ts`); a single node on SQLite keeps all this in its memory instead.
 */

/** The oldest call waiting for an agent in one department, on whatever node holds it. */
export interface WaitingHead {
  callId: string;
  /** The node holding the customer's dialog: it rings the agent. */
  nodeId: string;
  departmentId: number;
  /** Agents whose phone could not be reached for this call (not offered it again for a while). */
  unreachable: number[];
}

/** A node that stopped heartbeating, taken out by this node alone (no other node sees it). */
export interface LostNode {
  nodeId: string;
  /** Agents its calls held (offered, talking, transfer targets): theirs to free. */
  agents: number[];
  /** Its live calls, now out of the queues; their CDRs are closed as `node_lost`. */
  calls: number;
}

/** A live customer call of any node as the shared store has it: the board of the whole floor. */
export interface FloorCall {
  callId: string;
  nodeId: string;
  departmentId: number | null;
  /** Entry into the queue it waits in now; null when it does not wait. */
  waitingSince: number | null;
  /** The agent it is offered to, or the agent a call holds for it (talking). */
  agentId: number | null;
}

/** What the nodes tell each other. */
export type LiveMessage =
  /** An agent may be free, or a call waits: run a distribution pass. */
  | { kind: 'pass'; from: string }
  /** Node `nodeId`'s call `callId` was given agent `agentId` (held and offered): ring them. */
  | { kind: 'offer'; nodeId: string; callId: string; agentId: number }
  /** A console event of some node, for every node's SSE. */
  | { kind: 'event'; from: string; topic: string; data: unknown };

export interface LiveStore {
  /** This node's name (`--node-id`). */
  readonly nodeId: string;

  // ── nodes ──────────────────────────────────────────────────────────────
  /** This node is alive now (its row, created on the first beat). */
  heartbeat(): Promise<void>;
  /** Other nodes that beat within `staleMs`. */
  othersAlive(staleMs: number): Promise<string[]>;
  /**
   * Nodes silent for `staleMs` or longer (this one aside), each taken out in one transaction
   * that only one caller wins: its holds, menu rows and calls removed, its open CDRs closed as
   * `node_lost`.
   */
  takeLostNodes(staleMs: number): Promise<LostNode[]>;
  /** The same clean-up for one node, now (this node's leftovers from a run that died). */
  takeNode(nodeId: string): Promise<LostNode>;
  /** Forgets every node's live state (the first node to start: nobody else is on the floor). */
  clearAll(): Promise<void>;

  // ── agents ─────────────────────────────────────────────────────────────
  /** Holds `agentId` for a call of this node; false when a call holds them already or they are in the service IVR. */
  hold(agentId: number, reason: string): Promise<boolean>;
  unhold(agentId: number): Promise<void>;
  isHeld(agentId: number): Promise<boolean>;
  /** Those of `agentIds` held for a call or in the service IVR of any node. */
  boundAmong(agentIds: readonly number[]): Promise<Set<number>>;
  enterMenu(agentId: number): Promise<void>;
  /** True when the agent was in this node's service IVR. */
  leaveMenu(agentId: number): Promise<boolean>;
  /** Agents in the service IVR of any node. */
  menuCount(): Promise<number>;

  // ── calls and queues ───────────────────────────────────────────────────
  callStarted(call: {
    callId: string;
    companyId: number;
    departmentId: number;
    startedAt: number;
  }): Promise<void>;
  callEnded(callId: string): Promise<void>;
  /** The call waits in `departmentId`'s queue: at its tail, or back at its head. */
  wait(callId: string, departmentId: number, enteredAt: number, head: boolean): Promise<void>;
  /** Out of the queue (an agent took it, it overflowed, it ended). */
  stopWaiting(callId: string): Promise<void>;
  /** The oldest call not offered to anyone in each department, over every node. */
  heads(): Promise<WaitingHead[]>;
  /**
   * One atomic step: the agent held for the call (on the node holding its dialog) and the call
   * taken (offered to them). False, with nothing changed, when either was taken already.
   */
  claim(callId: string, agentId: number, reason: string): Promise<boolean>;
  /** The offer did not go through: the call waits again, where it was. */
  unclaim(callId: string): Promise<void>;
  /** This node's calls offered to an agent for `olderThanMs` or longer: `[callId, agentId]`. */
  offeredSince(olderThanMs: number): Promise<[string, number][]>;
  /** Agent `agentId`'s phone could not be reached for this call (`true`), or may be tried again. */
  setUnreachable(callId: string, agentId: number, unreachable: boolean): Promise<void>;
  /** 1-based position among the department's waiting calls, over every node; 0 when not waiting. */
  position(callId: string): Promise<number>;
  /** Calls waiting in the department, over every node. */
  waitingCount(departmentId: number): Promise<number>;
  /** The live calls of one company on every node (the board). */
  floorCalls(companyId: number): Promise<FloorCall[]>;

  // ── the channel ────────────────────────────────────────────────────────
  send(message: LiveMessage): Promise<void>;
  /** Every message any node sends, this one's own included. */
  onMessage(fn: (message: LiveMessage) => void): () => void;

  /** This node stops: its node row goes (its calls ended before), the connections close. */
  close(): Promise<void>;
  /** Stops beating and listening without any clean-up, as a crash would (tests). */
  abandon(): Promise<void>;
}
