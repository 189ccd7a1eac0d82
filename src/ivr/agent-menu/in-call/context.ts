import type { Logger } from 'pino';
import type { Department, QueueEventKind } from '../../../store/store.ts';
import type { AnnounceNumberMode } from '../../../store/vocabulary.ts';
import type { StateMachine } from '../../../util/state-machine.ts';
import type { TransferMode } from './policy.ts';
import type { InCallWorld, Leg, SessionOutcome } from './ports.ts';
import type { InCallState } from './states.ts';

export interface Party<L> {
  readonly id: number;
  readonly leg: L;
}

/** What a dial is for, as written in the queue log's transfer rows. */
export type DialPurpose =
  | { readonly type: 'external'; readonly mode: TransferMode }
  | { readonly type: 'announce'; readonly mode: Exclude<AnnounceNumberMode, 'disabled'> };

/** Whoever a transfer reached: a number, or a colleague (then `agentId`). */
export interface Target<L> {
  readonly leg: L;
  readonly number: string;
  readonly agentId: number | undefined;
  readonly purpose: DialPurpose;
}

/** What a task may do with the session it runs in (session.ts). */
export interface SessionContext<L extends Leg> {
  readonly world: InCallWorld<L>;
  readonly machine: StateMachine<InCallState>;
  readonly log: Logger;
  /** The agent in the call now (none once released or gone). */
  readonly agent: Party<L> | undefined;
  /** The transfer target while it is on the line and not yet the call's agent. */
  readonly target: Target<L> | undefined;
  /** A move of the session's machine; a same-state move is a no-op, a refused one false. */
  move(to: InCallState, reason: string): boolean;
  /** Bridges two legs (talk time counts while the customer is bridged). */
  connect(a: L, b: L): void;
  disconnect(): void;
  beep(leg: L | undefined, kind: 'accept' | 'error'): Promise<unknown>;
  /** `*`: the customer hears music, the agent an accept beep, and the menu waits 10 s. */
  openMenu(): Promise<void>;
  /** Back to talking with the agent (after 5, a timeout, or a failed transfer). */
  returnToAgent(beep?: 'accept' | 'error'): Promise<void>;
  /** A wrong or refused entry: error beep, back to the menu (the customer stays on hold). */
  refuse(why?: string): Promise<void>;
  /** The agent leaves the call (hung up, then wrap-up). */
  releaseAgent(): Promise<void>;
  requeue(department: Department, head: boolean, releasing?: number): Promise<void>;
  /** Ends the session and the call (Acd finishes it). */
  end(outcome: SessionOutcome): Promise<void>;
  /** SPEC §5: the agent gets the customer back (error beep) if still there; otherwise the queue. */
  transferFailed(): Promise<void>;
  /** The answered target: its hang-up is the session's to handle. */
  setTarget(target: Target<L>): void;
  /** Forgets the agent (their leg is gone). */
  forgetAgent(): Party<L> | undefined;
  /** Forgets the target (it is being dropped). */
  dropTarget(): Target<L> | undefined;
  /** Customer ↔ target; the agent (if still there) is released. */
  completeTransfer(): Promise<void>;
  /** Runs an event handler in the background: a failure is logged, never an unhandled rejection. */
  bg(p: Promise<unknown>): void;
  record(
    kind: QueueEventKind,
    detail: Record<string, unknown> | null,
    agentId?: number | null,
  ): Promise<void>;
}
