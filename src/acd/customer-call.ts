import { randomUUID } from 'node:crypto';
import type { Leg } from '../call/leg.ts';
import type { Dialing } from '../call/engine.ts';
import type { CompanySettings, Department } from '../store/store.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { StateMachine, type TransitionTable } from '../util/state-machine.ts';

/**
 * A customer's call from the hotline to its end (SPEC §6):
 *
 *   greeting → queued ⇄ offering → connected → ended
 *                 └──── overflow / abandon ─────┘
 *
 * `queued` and `offering` both keep the customer in the queue with music; an
 * offer that fails leaves the call where it was, at the head.
 */
export type CustomerCallState = 'greeting' | 'queued' | 'offering' | 'connected' | 'ended';

export const CUSTOMER_CALL_TRANSITIONS: TransitionTable<CustomerCallState> = {
  greeting: ['queued', 'ended'],
  queued: ['offering', 'queued', 'ended'],
  offering: ['queued', 'connected', 'ended'],
  connected: ['queued', 'ended'],
  ended: [],
};

/** The customer waits in the queue, with music, in both; their wait timers run across offers. */
const WAITING: readonly CustomerCallState[] = ['queued', 'offering'];
/** Every state but the end: a timer for the call's whole life. */
const LIVE: readonly CustomerCallState[] = ['greeting', 'queued', 'offering', 'connected'];

export type CallOutcomeReason =
  | 'answered'
  | 'abandoned'
  | 'overflow'
  | 'no_agents'
  | 'failed'
  | 'transferred'
  | 'media_timeout'
  | 'session_expired'
  | 'ended_by_supervisor';

/** What Acd and the read models see of a connected call's in-call session (`in-call-port.ts`). */
export interface ConnectedCall {
  /** The agent in the call now (a transfer changes it). */
  readonly currentAgentId: number | undefined;
  /** The session's own state, for read models and tests (its union lives with the session). */
  readonly state: string;
  /** A supervisor ends the call: every party's leg, the call closed as `ended_by_supervisor`. */
  endBySupervisor(): Promise<boolean>;
  /**
   * A supervisor takes `agentId` (the agent in the call, or a colleague being consulted) out of
   * it: their leg ends and nobody is dropped (the customer goes back to the head of the queue,
   * or stays with whoever else is on the call). False: the agent is not in this call.
   */
  dropAgent(agentId: number): Promise<boolean>;
  /** The agent's leg while the agent and the customer hear each other (what a supervisor may monitor). */
  readonly talkingAgentLeg?: Leg | undefined;
}

export interface Offer {
  agentId: number;
  dialing: Dialing | undefined;
}

/** Who called, where, and how the company answers: fixed when the call is answered. */
export interface CustomerCallInfo {
  readonly companyId: number;
  readonly hotline: string;
  readonly callerId: string;
  /** The customer's display name, if they sent one. */
  readonly callerName: string | undefined;
  /** The customer withheld their identity: the phones we ring must not show it. */
  readonly callerPrivate: boolean;
  readonly department: Department;
  readonly settings: CompanySettings;
  /** Wall ms. */
  readonly startedAt: number;
}

export class CustomerCall {
  readonly id = randomUUID();
  readonly companyId: number;
  readonly hotline: string;
  readonly callerId: string;
  readonly callerName: string | undefined;
  readonly callerPrivate: boolean;
  readonly startedAt: number;
  settings: CompanySettings;
  department: Department;
  /** Wall ms the customer first entered any queue (kept across transfers for reporting). */
  enteredAt: number | undefined;
  /** Wall ms the call entered its current queue. */
  queuedAt: number | undefined;
  answeredAt: number | undefined;
  readonly agentIds: number[] = [];
  offer: Offer | undefined;
  /** While connected: the agent's in-call menu and transfers. */
  inCall: ConnectedCall | undefined;
  /** Agents whose phone could not be reached for this call (trunk/our failure): not offered it again. */
  readonly unreachable = new Set<number>();
  /** Departments this call has been queued in: an overflow never loops back. */
  readonly visited = new Set<number>();
  /** Departments queued in, in order (the CDR's journey; a department twice in a row is once). */
  readonly departmentIds: number[] = [];
  talkMs = 0;
  /** Each agent's own time bridged with the customer, ms (the in-call session adds it up). */
  readonly agentTalkMs = new Map<number, number>();
  transfers = 0;
  private readonly machine: StateMachine<CustomerCallState>;
  private waitTimer: TimerHandle | undefined;
  private announceTimer: TimerHandle | undefined;

  constructor(
    readonly leg: Leg,
    info: CustomerCallInfo,
    clock: Clock,
  ) {
    ({
      companyId: this.companyId,
      hotline: this.hotline,
      callerId: this.callerId,
      callerName: this.callerName,
      callerPrivate: this.callerPrivate,
      department: this.department,
      settings: this.settings,
      startedAt: this.startedAt,
    } = info);
    this.machine = new StateMachine({
      name: 'customer-call',
      initial: 'greeting',
      transitions: CUSTOMER_CALL_TRANSITIONS,
      clock,
    });
  }

  get state(): CustomerCallState {
    return this.machine.state;
  }

  /** False when the table refuses the move (the call moved on during an await): the caller stops. */
  transition(to: CustomerCallState, reason: string): boolean {
    return this.machine.transition(to, reason);
  }

  is(...states: readonly CustomerCallState[]): boolean {
    return this.machine.is(...states);
  }

  get waiting(): boolean {
    return this.machine.is(...WAITING);
  }

  /** The longest wait (overflow when it runs out), from now; runs while the call waits. */
  armMaxWait(ms: number, fire: () => void): void {
    this.machine.disarm(this.waitTimer);
    this.waitTimer = this.machine.arm(ms, fire, WAITING);
  }

  /** The next position announcement; runs while the call waits. */
  armAnnouncement(ms: number, fire: () => void): void {
    this.machine.disarm(this.announceTimer);
    this.announceTimer = this.machine.arm(ms, fire, WAITING);
  }

  /** The wait is over for now (an agent answered, an overflow): no timeout, no announcement. */
  stopWaitTimers(): void {
    this.machine.disarm(this.waitTimer);
    this.machine.disarm(this.announceTimer);
    this.waitTimer = this.announceTimer = undefined;
  }

  /** A timer for the rest of the call: cleared when it ends. */
  armForLife(ms: number, fire: () => void): void {
    this.machine.arm(ms, fire, LIVE);
  }

  /** Timers the call holds now (tests). */
  get armed(): number {
    return this.machine.armed;
  }

  /** Clears the timers (server shutdown). */
  dispose(): void {
    this.machine.dispose();
  }
}
