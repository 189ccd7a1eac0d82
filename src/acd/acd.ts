import type { Logger } from 'pino';
import type { CallEngine, InboundCall } from '../call/engine.ts';
import type { Leg } from '../call/leg.ts';
import type { Sounds } from '../call/sounds.ts';
import type { ContactResolver } from '../call/contact-resolver.ts';
import type { Clock } from '../util/clock.ts';
import type { AgentState, NumberRoute, Store } from '../store/store.ts';
import { normaliseNumber } from '../util/phone-number.ts';
import type { AgentAvailability } from './availability.ts';
import { CallLog, type AcdEvent } from './call-log.ts';
import { CustomerCall, type CallOutcomeReason } from './customer-call.ts';
import { Distributor } from './distributor.ts';
import type { InCallHooks, InCallSessionFactory } from './in-call-port.ts';
import { CallQueues } from './queue.ts';
import { CallRecordings, recordingModeOf } from './recording.ts';
import type { SharedQueue } from './shared-queue.ts';

export type { AcdEvent } from './call-log.ts';

/** A connected call as a supervisor's monitoring sees it (`Acd.monitorTarget`). */
export interface MonitorTarget {
  readonly callId: string;
  readonly customer: Leg;
  readonly agent: Leg;
  /** One monitor_* event of the call's journey. */
  record(
    kind: 'monitor_started' | 'monitor_mode' | 'monitor_stopped',
    detail: Record<string, string>,
  ): Promise<void>;
}

export interface AcdDeps {
  engine: CallEngine;
  store: Store;
  /** Who is free: the only place asked (agent state, our reservations, the service IVR). */
  availability: AgentAvailability;
  sounds: Sounds;
  clock: Clock;
  logger: Logger;
  resolver: ContactResolver;
  /** Builds the in-call session of a connected call (the agent menu, injected by server.ts). */
  inCallSession: InCallSessionFactory;
  /** Several nodes on one PostgreSQL: the queues and live calls every node sees (issue 15). */
  shared?: SharedQueue;
  /** Shorter in-call menu timers (tests). */
  inCallTimings?: { menuTimeoutMs?: number; announceChoiceMs?: number };
  /** Where call recordings go (--recordings-dir; it exists); none: calls are never recorded. */
  recordingsDir?: string;
}

/**
 * Automatic call distribution (SPEC §3, §6): hotline calls wait in their
 * department's queue (`queue.ts`) and are offered to one ready agent at a time
 * by calling the agent's phone (`distributor.ts`); every queue event and the
 * CDR are written by the call log (`call-log.ts`). This composes them: a call's
 * entry, its hand-over to the in-call session, and its end.
 */
export class Acd {
  private readonly calls = new Set<CustomerCall>();
  private readonly callLog: CallLog;
  private readonly queues: CallQueues;
  private readonly distributor: Distributor;
  private readonly inCallHooks: InCallHooks;
  private readonly log: Logger;
  private readonly recordings: CallRecordings | undefined;

  constructor(private readonly deps: AcdDeps) {
    this.log = deps.logger;
    if (deps.recordingsDir !== undefined)
      this.recordings = new CallRecordings({
        store: deps.store.recordings,
        dir: deps.recordingsDir,
        clock: deps.clock,
        logger: deps.logger.child({ layer: 'recording' }),
      });
    this.callLog = new CallLog({ store: deps.store, clock: deps.clock, logger: deps.logger });
    this.queues = new CallQueues(
      {
        store: deps.store,
        sounds: deps.sounds,
        availability: deps.availability,
        callLog: this.callLog,
        shared: deps.shared,
      },
      {
        withdrawOffer: (cc, reason) => this.distributor.withdrawOffer(cc, reason),
        nobodyFree: (cc) => this.distributor.nobodyFree(cc),
        schedule: () => this.distributor.schedule(),
        finish: (cc, reason) => this.finish(cc, reason),
        bg: (p, cc) => this.bg(p, cc),
      },
    );
    this.distributor = new Distributor(
      {
        engine: deps.engine,
        store: deps.store,
        availability: deps.availability,
        sounds: deps.sounds,
        resolver: deps.resolver,
        callLog: this.callLog,
        queues: this.queues,
        logger: deps.logger,
        shared: deps.shared,
      },
      (cc, agentId, agentLeg, answeredAt) => this.connect(cc, agentId, agentLeg, answeredAt),
    );
    this.inCallHooks = this.makeInCallHooks();
  }

  onEvent(fn: (e: AcdEvent) => void): () => void {
    return this.callLog.onEvent(fn);
  }

  /** Subscribers to the live events (the console's leak test). */
  get listenerCount(): number {
    return this.callLog.listenerCount;
  }

  get liveCalls(): readonly CustomerCall[] {
    return [...this.calls];
  }

  /**
   * The call agent `agentId` talks in now — customer and agent bridged — for a supervisor to
   * hear, with the way to write its journey; undefined when the agent is in no such call.
   */
  monitorTarget(agentId: number): MonitorTarget | undefined {
    for (const cc of this.calls) {
      const agent = cc.inCall?.currentAgentId === agentId ? cc.inCall.talkingAgentLeg : undefined;
      if (!agent || cc.leg.ended || agent.ended) continue;
      return {
        callId: cc.id,
        customer: cc.leg,
        agent,
        record: (kind, detail) => this.callLog.event(cc, kind, agentId, JSON.stringify(detail)),
      };
    }
    return undefined;
  }

  waiting(departmentId: number): readonly CustomerCall[] {
    return this.queues.waiting(departmentId);
  }

  /** Settles once no distribution pass is running (tests, shutdown). */
  idle(): Promise<void> {
    return this.distributor.idle();
  }

  // ── supervisor actions (issue 14 item 5) ────────────────────────────────
  /**
   * A supervisor ends a live call (`by`: who, for the journey): every leg gets its BYE (or
   * CANCEL while an agent's phone rings), the CDR says `ended_by_supervisor`, the agents go to
   * wrap-up as after any call. False: no such live call.
   */
  async endCall(callId: string, by: string): Promise<boolean> {
    const cc = [...this.calls].find((c) => c.id === callId);
    if (!cc || cc.is('ended')) return false;
    await this.callLog.event(cc, 'supervisor_end', cc.inCall?.currentAgentId ?? null, by);
    if (cc.is('connected') && cc.inCall) return cc.inCall.endBySupervisor();
    // Greeted or waiting: the offer is withdrawn (the agent's phone stops ringing), then the end.
    cc.stopWaitTimers();
    this.distributor.withdrawOffer(cc, 'call_ended_by_supervisor');
    // Ended before the BYE: the customer's hang-up handler then finds the call over.
    const ended = this.finish(cc, 'ended_by_supervisor');
    await cc.leg.hangup();
    await ended;
    return true;
  }

  /**
   * A supervisor forces `to` on an agent whatever their state (`reason` for the history): an
   * offer ringing or being answered is withdrawn and the call stays at the head of its queue; an
   * agent in a call has their leg ended and the customer goes back to the head of the queue
   * (or stays with the colleague or number they were transferred to). Resolves once the agent is
   * in `to`. `by`: who, for the journey.
   */
  async forceAgent(agentId: number, to: AgentState, reason: string, by: string): Promise<void> {
    const released = this.distributor.expectRelease(agentId, to, reason);
    const call =
      this.distributor.offeredTo(agentId) ??
      [...this.calls].find((c) => c.inCall?.currentAgentId === agentId);
    if (call) await this.callLog.event(call, 'supervisor_agent', agentId, by);
    const held =
      (await this.distributor.endOffer(agentId)) ||
      (
        await Promise.all(this.liveCalls.map((c) => c.inCall?.dropAgent(agentId) ?? Promise.resolve(false)))
      ).some(Boolean);
    // In no call of ours (or a state left over with no call): the move itself, through the release.
    if (!held) await this.distributor.releaseAgent(agentId, to, reason);
    await released;
  }

  /** Several nodes: lets go of agents whose offer from another node never arrived (each heartbeat). */
  reconcile(): Promise<void> {
    return this.distributor.reconcile();
  }

  // ── entry ──────────────────────────────────────────────────────────────
  /** A call to a hotline number: answer, greet, queue. */
  async handleHotline(call: InboundCall, route: NumberRoute): Promise<void> {
    const { store } = this.deps;
    const department =
      route.departmentId !== null ? await store.directory.getDepartment(route.departmentId) : null;
    const company = route.companyId !== null ? await store.directory.getCompany(route.companyId) : null;
    if (!department || !company) return call.reject(404, 'Not Found');
    if (!(await call.answer())) return;
    const { country } = company.settings;
    const cc = new CustomerCall(
      call.leg,
      {
        companyId: company.id,
        hotline: normaliseNumber(call.called, country),
        // Read again in the company's dial plan: the engine knew no company.
        callerId: call.callerUser ? normaliseNumber(call.callerUser, country) : call.caller,
        callerName: call.callerName,
        callerPrivate: call.callerPrivate,
        department,
        settings: company.settings,
        startedAt: this.callLog.now(),
      },
      this.deps.clock,
    );
    this.calls.add(cc);
    await this.callLog.started(cc);
    this.deps.shared?.started(cc);
    call.leg.on('ended', () => this.bg(this.onCustomerGone(cc), cc));
    // Gone while the CDR was written: the listener above came too late to hear it.
    if (call.leg.ended) return this.onCustomerGone(cc);
    if (
      this.recordings &&
      company.settings.recordingAnnouncement === 'on' &&
      recordingModeOf(company.settings, department) !== 'off'
    ) {
      await call.leg.play(this.deps.sounds.prompts(company.settings.language, ['recording_notice']));
      if (cc.state !== 'greeting') return;
    }
    if (department.greeting) {
      await call.leg.play(this.deps.sounds.prompts(company.settings.language, [department.greeting]));
    }
    if (cc.state !== 'greeting') return;
    await this.queues.enqueue(cc, department);
  }

  // ── connected ──────────────────────────────────────────────────────────
  /** The agent took the call: the in-call session owns it from here until it ends or requeues. */
  private async connect(cc: CustomerCall, agentId: number, agentLeg: Leg, answeredAt: number): Promise<void> {
    cc.answeredAt ??= answeredAt;
    cc.agentIds.push(agentId);
    // Records are written in this order; the session exists at once so that a
    // hang-up of either party during the writes is handled by it.
    const recorded = this.callLog.connected(cc, agentId, answeredAt);
    cc.inCall = this.deps.inCallSession(cc, agentId, agentLeg, this.inCallHooks);
    if (this.recordings) this.bg(this.recordings.connected(cc), cc);
    await recorded;
  }

  /** What the in-call menu may do to the rest of the system. */
  private makeInCallHooks(): InCallHooks {
    const { availability } = this.deps;
    return {
      engine: this.deps.engine,
      sounds: this.deps.sounds,
      resolver: this.deps.resolver,
      directory: this.deps.store.directory,
      clock: this.deps.clock,
      logger: this.deps.logger.child({ layer: 'in-call' }),
      menuTimeoutMs: this.deps.inCallTimings?.menuTimeoutMs,
      announceChoiceMs: this.deps.inCallTimings?.announceChoiceMs,
      settings: async (companyId) => {
        const company = await this.deps.store.directory.getCompany(companyId);
        if (!company) throw new Error(`company ${companyId} is gone`);
        return company.settings;
      },
      releaseAgent: (agentId) => this.distributor.releaseAgent(agentId),
      reserveAgent: (agentId) => availability.reserve(agentId, 'transfer_offer'),
      settleReservedAgent: async (agentId, answered, reason) => {
        if (answered) return availability.settle(agentId, 'busy', 'transfer_answered');
        await this.distributor.releaseAgent(agentId, 'ready', reason ?? 'transfer_not_answered');
      },
      requeue: async (cc, department, head, releasing) => {
        cc.inCall = undefined;
        if (cc.leg.ended || !cc.transition('queued', 'requeue')) {
          if (releasing !== undefined) await this.distributor.releaseAgent(releasing);
          return this.finish(cc, cc.transfers > 0 ? 'transferred' : 'answered');
        }
        // Out of `connected` at once (above): overflow (no agents, full queue) and a customer
        // hang-up during the awaits are then handled as for any waiting call.
        // Back at the head first, then the agent is free: else the pass their release starts
        // offers them (and other agents) the callers behind, who overtake this one (issue 10).
        if (head) this.queues.takeHead(cc, department);
        if (releasing !== undefined) await this.distributor.releaseAgent(releasing);
        await this.queues.enqueue(cc, department, head);
      },
      finish: (cc, outcome) => this.finish(cc, outcome),
      record: (cc, kind, agentId, detail) => this.callLog.event(cc, kind, agentId, detail),
      toggleRecording: async (cc) => {
        if (!this.recordings) return 'off';
        const company = await this.deps.store.directory.getCompany(cc.companyId);
        return this.recordings.toggle(cc, company?.settings ?? cc.settings);
      },
    };
  }

  // ── the end ────────────────────────────────────────────────────────────
  /** The customer's leg ended, in whatever state the call was. */
  private async onCustomerGone(cc: CustomerCall): Promise<void> {
    // Connected calls are the in-call session's to end.
    if (cc.is('ended', 'connected')) return;
    cc.stopWaitTimers();
    // Sent on to another department and gone before anyone there answered: the transfer was
    // abandoned, as a call never answered is (issue 14), not answered.
    const transferAbandoned = cc.waiting && cc.transfers > 0;
    if (cc.waiting) {
      this.distributor.withdrawOffer(cc, 'customer_abandoned');
      this.queues.remove(cc);
      await this.callLog.abandoned(cc);
    }
    return this.finish(cc, cc.answeredAt && !transferAbandoned ? 'answered' : 'abandoned');
  }

  private async finish(cc: CustomerCall, reason: CallOutcomeReason): Promise<void> {
    // The customer's phone went silent and we hung up on it: whatever the call's state, that is
    // how it ended (the queue log and the agents' history say what happened before).
    const end = cc.leg.endReason;
    const outcome: CallOutcomeReason = end === 'media_timeout' || end === 'session_expired' ? end : reason;
    // Ending clears the call's timers; a call already ended is not ended twice.
    if (!cc.transition('ended', outcome)) return;
    this.queues.remove(cc);
    this.calls.delete(cc);
    await this.recordings?.ended(cc);
    await this.callLog.ended(cc, outcome);
    this.deps.shared?.ended(cc);
  }

  /** A background task: a failure is logged, never an unhandled rejection. */
  private bg(p: Promise<unknown>, cc: CustomerCall): void {
    p.catch((err: unknown) => this.log.error({ err, callId: cc.id }, 'call task failed'));
  }

  close(): void {
    this.distributor.close();
    for (const cc of this.calls) cc.dispose();
  }
}
