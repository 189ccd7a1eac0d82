import type { Logger } from 'pino';
import type { CallEngine } from '../call/engine.ts';
import type { Leg } from '../call/leg.ts';
import type { Sounds } from '../call/sounds.ts';
import type { ContactResolver } from '../call/contact-resolver.ts';
import type { CompanySettings, Department, DirectoryStore, QueueEventKind } from '../store/store.ts';
import type { Clock } from '../util/clock.ts';
import type { ConnectedCall, CustomerCall } from './customer-call.ts';
import type { RecordingToggle } from './recording.ts';

/**
 * The port between Acd and the connected part of a call (issue 12): Acd defines what it hands
 * the in-call session (the hooks) and what it needs back (`ConnectedCall`); the session itself
 * (`ivr/agent-menu/in-call.ts`) is built by the factory `server.ts` injects, so acd never
 * imports the menu above it.
 */
export interface InCallHooks {
  engine: CallEngine;
  sounds: Sounds;
  resolver: ContactResolver;
  directory: DirectoryStore;
  clock: Clock;
  logger: Logger;
  /** The company's settings now (changes take effect on the next action). */
  settings(companyId: number): Promise<CompanySettings>;
  /** An agent's part in the call is over: wrap-up, then ready. */
  releaseAgent(agentId: number): Promise<void>;
  /** Reserves an agent reached by short number (offered); false if they cannot take it. */
  reserveAgent(agentId: number): Promise<boolean>;
  /** The reserved agent answered (busy) or did not (ready again; `reason` for the history). */
  settleReservedAgent(agentId: number, answered: boolean, reason?: string): Promise<void>;
  /**
   * Puts the customer back in a queue (head = at the front). `releasing`: the agent who left
   * the customer, freed only once the customer is back at the head (SPEC §5).
   */
  requeue(cc: CustomerCall, department: Department, head: boolean, releasing?: number): Promise<void>;
  /** The call is over. */
  finish(
    cc: CustomerCall,
    outcome: 'answered' | 'transferred' | 'abandoned' | 'ended_by_supervisor',
  ): Promise<void>;
  record(
    cc: CustomerCall,
    kind: QueueEventKind,
    agentId: number | null,
    detail: string | null,
  ): Promise<void>;
  /** `*7`: starts or stops the call's recording (`off`: not allowed here). */
  toggleRecording(cc: CustomerCall): Promise<RecordingToggle>;
  /** Tests and timeouts: shorter menu timers. */
  menuTimeoutMs?: number;
  announceChoiceMs?: number;
}

/** Builds the in-call session once an agent answered: it owns the call until it ends or requeues. */
export type InCallSessionFactory = (
  cc: CustomerCall,
  agentId: number,
  agentLeg: Leg,
  hooks: InCallHooks,
) => ConnectedCall;
