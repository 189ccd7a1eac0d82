/**
 * The record of customer calls: the CDR, the queue log, the live events the
 * console hears, and the operator's start and end lines. The only writer of
 * CDRs and queue events (SPEC §6, §8), so a call's journey is told in one place.
 */
import type { Logger } from 'pino';
import type { Department, QueueEventKind, Store } from '../store/store.ts';
import { ANONYMOUS_USER } from '../sip/message/identity.ts';
import type { Clock } from '../util/clock.ts';
import type { CallOutcomeReason, CustomerCall } from './customer-call.ts';

export interface AcdEvent {
  at: number;
  kind: QueueEventKind | 'ended';
  callId: string;
  companyId: number;
  departmentId: number | null;
  agentId: number | null;
  detail: string | null;
}

export interface CallLogDeps {
  store: Pick<Store, 'calls' | 'directory'>;
  clock: Clock;
  logger: Logger;
}

export class CallLog {
  private readonly listeners = new Set<(e: AcdEvent) => void>();

  constructor(private readonly deps: CallLogDeps) {}

  onEvent(fn: (e: AcdEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Subscribers now (the console's leak test). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Wall ms: the time every record of a call is stamped with. */
  now(): number {
    return this.deps.clock.wallNow();
  }

  /** The call was answered: its CDR opens, and the operator's line says who called what. */
  async started(cc: CustomerCall): Promise<void> {
    await this.deps.store.calls.insertCdr({
      id: cc.id,
      startedAt: cc.startedAt,
      companyId: cc.companyId,
      hotline: cc.hotline,
      // The real number even when it is withheld from the agents: the CDR is the operator's.
      callerId: cc.callerId || ANONYMOUS_USER,
      departmentId: cc.department.id,
    });
    // One line per call for the operator (issue 9): who called which hotline, for which department.
    this.deps.logger.info(
      {
        callId: cc.id,
        company: cc.companyId,
        hotline: cc.hotline,
        caller: cc.callerId || ANONYMOUS_USER,
        ...(cc.callerPrivate ? { withheld: true } : {}),
        department: cc.department.code,
      },
      'customer call started',
    );
  }

  /** The call entered `department`'s queue (`head`: back at its front). */
  async entered(cc: CustomerCall, department: Department, head: boolean): Promise<void> {
    if (cc.departmentIds.at(-1) !== department.id) cc.departmentIds.push(department.id);
    await this.deps.store.calls.updateCdr(cc.id, {
      departmentId: department.id,
      queuedAt: cc.enteredAt,
      departmentIds: cc.departmentIds,
    });
    await this.event(cc, 'enter', null, head ? 'head' : null);
  }

  /** An agent took the call; the wait (ASA) ended at `answeredAt`. */
  async connected(cc: CustomerCall, agentId: number, answeredAt: number): Promise<void> {
    const waitS = String(Math.round((answeredAt - (cc.enteredAt ?? answeredAt)) / 1000));
    await Promise.all([
      this.deps.store.calls.updateCdr(cc.id, { answeredAt: cc.answeredAt, agentIds: cc.agentIds }),
      this.event(cc, 'connect', agentId, waitS),
    ]);
  }

  /** The customer hung up while waiting: how long they waited. */
  abandoned(cc: CustomerCall): Promise<void> {
    const waitS = String(Math.round((this.now() - (cc.enteredAt ?? cc.startedAt)) / 1000));
    return this.event(cc, 'abandon', null, waitS);
  }

  /** One row of the queue log, and the same event to the live listeners. */
  async event(
    cc: CustomerCall,
    kind: QueueEventKind,
    agentId: number | null = null,
    detail: string | null = null,
  ): Promise<void> {
    const e: AcdEvent = {
      at: this.now(),
      kind,
      callId: cc.id,
      companyId: cc.companyId,
      departmentId: cc.department.id,
      agentId,
      detail,
    };
    this.emit(e);
    await this.deps.store.calls.insertQueueEvent({
      callId: cc.id,
      companyId: cc.companyId,
      departmentId: cc.department.id,
      at: e.at,
      kind,
      agentId,
      detail,
    });
  }

  /** The call is over: the CDR closes, the operator's line, then the live `ended` event. */
  async ended(cc: CustomerCall, outcome: CallOutcomeReason): Promise<void> {
    const endedAt = this.now();
    await this.deps.store.calls.updateCdr(cc.id, {
      endedAt,
      outcome,
      talkSeconds: Math.round(cc.talkMs / 1000),
      agentIds: cc.agentIds,
      transfers: cc.transfers,
      agentTalk: [...cc.agentTalkMs].map(([agentId, ms]) => ({
        agentId,
        talkSeconds: Math.round(ms / 1000),
      })),
    });
    await this.logEnded(cc, outcome, endedAt);
    this.emit({
      at: endedAt,
      kind: 'ended',
      callId: cc.id,
      companyId: cc.companyId,
      departmentId: cc.department.id,
      agentId: null,
      detail: outcome,
    });
  }

  private emit(e: AcdEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  /** The operator's line for a call's end: the one to read when a customer complains. */
  private async logEnded(cc: CustomerCall, outcome: CallOutcomeReason, endedAt: number): Promise<void> {
    const agents: string[] = [];
    for (const id of cc.agentIds) {
      const agent = await this.deps.store.directory.getAgent(id).catch(() => null);
      agents.push(agent?.login ?? String(id));
    }
    this.deps.logger.info(
      {
        callId: cc.id,
        company: cc.companyId,
        hotline: cc.hotline,
        caller: cc.callerId || ANONYMOUS_USER,
        department: cc.department.code,
        agent: agents.length ? agents.join(',') : null,
        outcome,
        durationS: Math.round((endedAt - cc.startedAt) / 1000),
        talkS: Math.round(cc.talkMs / 1000),
        transfers: cc.transfers,
      },
      'customer call ended',
    );
  }
}
