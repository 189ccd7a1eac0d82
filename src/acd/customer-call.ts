import { randomUUID } from 'node:crypto';
import type { Leg } from '../call/leg.ts';
import type { Dialing } from '../call/engine.ts';
import type { CompanySettings, Department } from '../store/store.ts';
import type { TimerHandle } from '../util/clock.ts';

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

export const CUSTOMER_CALL_TRANSITIONS: Record<CustomerCallState, readonly CustomerCallState[]> = {
  greeting: ['queued', 'ended'],
  queued: ['offering', 'queued', 'ended'],
  offering: ['queued', 'connected', 'ended'],
  connected: ['queued', 'ended'],
  ended: [],
};

export type CallOutcomeReason =
  | 'answered'
  | 'abandoned'
  | 'overflow'
  | 'no_agents'
  | 'failed'
  | 'transferred'
  | 'media_timeout'
  | 'session_expired';

/** What Acd and the read models see of a connected call's in-call session (`in-call-port.ts`). */
export interface ConnectedCall {
  /** The agent in the call now (a transfer changes it). */
  readonly currentAgentId: number | undefined;
  /** The session's own state, for read models and tests (its union lives with the session). */
  readonly state: string;
}

export interface Offer {
  agentId: number;
  dialing: Dialing | undefined;
}

export class CustomerCall {
  readonly id = randomUUID();
  state: CustomerCallState = 'greeting';
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
  waitTimer: TimerHandle | undefined;
  announceTimer: TimerHandle | undefined;
  talkMs = 0;
  transfers = 0;
  /** The customer's display name, if they sent one. */
  callerName: string | undefined;
  /** The customer withheld their identity: the phones we ring must not show it. */
  callerPrivate = false;

  constructor(
    readonly leg: Leg,
    readonly companyId: number,
    readonly hotline: string,
    readonly callerId: string,
    department: Department,
    public settings: CompanySettings,
    readonly startedAt: number,
  ) {
    this.department = department;
  }

  transition(to: CustomerCallState): boolean {
    if (!CUSTOMER_CALL_TRANSITIONS[this.state].includes(to)) return false;
    this.state = to;
    return true;
  }

  get waiting(): boolean {
    return this.state === 'queued' || this.state === 'offering';
  }
}
