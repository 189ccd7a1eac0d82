import type { Logger } from 'pino';
import { isCalleeFailure, type CallEngine, type InboundCall } from '../call/engine.ts';
import type { Leg } from '../call/leg.ts';
import type { Sounds } from '../call/sounds.ts';
import type { AgentStateMachine } from './agent-state.ts';
import type { Clock } from '../util/clock.ts';
import { isAppError } from '../util/errors.ts';
import type { AgentState, Department, NumberRoute, QueueEventKind, Store } from '../store/store.ts';
import { digitsToPromptIds } from '../call/prompts.ts';
import { awaitAcceptance } from './accept.ts';
import { CustomerCall, type CallOutcomeReason } from './customer-call.ts';
import { orderCandidates, type Candidate } from './strategies.ts';
import type { InCallHooks, InCallSessionFactory } from './in-call-port.ts';
import type { ContactResolver } from '../call/contact-resolver.ts';
import { callerIdentityFor } from './caller-id.ts';
import { ANONYMOUS_USER } from '../sip/message/identity.ts';
import { normaliseNumber } from '../util/phone-number.ts';

/** How long an agent whose phone could not be reached is not offered the same call again. */
const UNREACHABLE_RETRY_MS = 30_000;

export interface AcdEvent {
  at: number;
  kind: QueueEventKind | 'ended';
  callId: string;
  companyId: number;
  departmentId: number | null;
  agentId: number | null;
  detail: string | null;
}

export interface AcdDeps {
  engine: CallEngine;
  store: Store;
  agentStates: AgentStateMachine;
  sounds: Sounds;
  clock: Clock;
  logger: Logger;
  resolver: ContactResolver;
  /** Agents in the service IVR: not offered calls. */
  inMenu: ReadonlySet<number>;
  /** Builds the in-call session of a connected call (the agent menu, injected by server.ts). */
  inCallSession: InCallSessionFactory;
  /** Shorter in-call menu timers (tests). */
  inCallTimings?: { menuTimeoutMs?: number; announceChoiceMs?: number };
}

/**
 * Automatic call distribution (SPEC §3, §6): hotline calls wait in their
 * department's queue and are offered to one ready agent at a time by calling
 * the agent's phone. Every queue event is written to the queue log and the CDR
 * follows the call.
 */
export class Acd {
  /** Waiting calls per department id, in queue order. */
  private readonly queues = new Map<number, CustomerCall[]>();
  private readonly calls = new Set<CustomerCall>();
  /** Agents with a leg of ours: offered, talking, or a transfer target. */
  private readonly engaged = new Set<number>();
  private readonly lastOffered = new Map<number, number>();
  private distributing: Promise<void> = Promise.resolve();
  private distributeAgain = false;
  private readonly listeners = new Set<(e: AcdEvent) => void>();
  private readonly offState: () => void;
  private readonly log: Logger;

  constructor(private readonly deps: AcdDeps) {
    this.log = deps.logger;
    // An agent who becomes ready may take a waiting call.
    this.offState = deps.agentStates.onChange((change) => {
      if (change.to === 'ready') this.schedule();
    });
  }

  onEvent(fn: (e: AcdEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get liveCalls(): readonly CustomerCall[] {
    return [...this.calls];
  }

  waiting(departmentId: number): readonly CustomerCall[] {
    return this.queues.get(departmentId) ?? [];
  }

  isEngaged(agentId: number): boolean {
    return this.engaged.has(agentId);
  }

  /** Marks an agent as in one of our calls (a transfer target) or frees them. */
  setEngaged(agentId: number, engaged: boolean): void {
    if (engaged) this.engaged.add(agentId);
    else {
      this.engaged.delete(agentId);
      this.schedule();
    }
  }

  private now(): number {
    return this.deps.clock.wallNow();
  }

  private async event(
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
    for (const fn of this.listeners) fn(e);
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

  // ── entry ──────────────────────────────────────────────────────────────
  /** A call to a hotline number: answer, greet, queue. */
  async handleHotline(call: InboundCall, route: NumberRoute): Promise<void> {
    const { store } = this.deps;
    const department =
      route.departmentId !== null ? await store.directory.getDepartment(route.departmentId) : null;
    const company = route.companyId !== null ? await store.directory.getCompany(route.companyId) : null;
    if (!department || !company) return call.reject(404, 'Not Found');
    if (!(await call.answer())) return;
    const cc = new CustomerCall(
      call.leg,
      company.id,
      normaliseNumber(call.called, company.settings.country),
      // Read again in the company's dial plan: the engine knew no company.
      call.callerUser ? normaliseNumber(call.callerUser, company.settings.country) : call.caller,
      department,
      company.settings,
      this.now(),
    );
    cc.callerName = call.callerName;
    cc.callerPrivate = call.callerPrivate;
    this.calls.add(cc);
    await store.calls.insertCdr({
      id: cc.id,
      startedAt: cc.startedAt,
      companyId: company.id,
      hotline: cc.hotline,
      // The real number even when it is withheld from the agents: the CDR is the operator's.
      callerId: cc.callerId || ANONYMOUS_USER,
      departmentId: department.id,
    });
    // One line per call for the operator (issue 9): who called which hotline, for which department.
    this.log.info(
      {
        callId: cc.id,
        company: company.id,
        hotline: cc.hotline,
        caller: cc.callerId || ANONYMOUS_USER,
        ...(cc.callerPrivate ? { withheld: true } : {}),
        department: department.code,
      },
      'customer call started',
    );
    call.leg.on('ended', () => this.bg(this.onCustomerGone(cc), cc));
    // Gone while the CDR was written: the listener above came too late to hear it.
    if (call.leg.ended) return this.onCustomerGone(cc);
    if (department.greeting) {
      await call.leg.play(this.deps.sounds.prompts(company.settings.language, [department.greeting]));
    }
    if (cc.state !== 'greeting') return;
    await this.enqueue(cc, department);
  }

  /** Puts a call in a department's queue, or overflows it (SPEC §6). `head` for a call coming back. */
  async enqueue(cc: CustomerCall, department: Department, head = false): Promise<void> {
    if (cc.leg.ended) return;
    // A call coming back takes the head before any await: no distribution pass may slip in between.
    if (head) this.takeHead(cc, department);
    cc.department = department;
    cc.visited.add(department.id);
    if (!(await this.anyoneLoggedIn(department.id))) return this.overflow(cc, 'no_agents');
    if (!head) {
      const queue = this.queues.get(department.id) ?? [];
      if (queue.length >= department.maxQueueLength) return this.overflow(cc, 'queue_full');
      if (cc.state === 'ended') return;
      cc.transition('queued');
      const now = this.now();
      cc.enteredAt ??= now;
      cc.queuedAt = now;
      queue.push(cc);
      this.queues.set(department.id, queue);
    }
    await this.deps.store.calls.updateCdr(cc.id, { departmentId: department.id, queuedAt: cc.enteredAt });
    await this.event(cc, 'enter', null, head ? 'head' : null);
    if (!cc.waiting || cc.leg.ended) return;
    // Nobody free: "all our agents are busy, please stay on the line", then music. (A call back at
    // the head may already be offered by now: it hears the music while the agent's phone rings.)
    const nobodyFree = cc.state === 'queued' && (await this.pickAgent(department.id, cc)) === undefined;
    if (!cc.waiting || cc.leg.ended) return;
    this.startWaiting(cc, nobodyFree ? ['queue_wait'] : []);
    this.schedule();
  }

  /**
   * Synchronously puts a call coming back (its agent left it) at the head of its
   * queue (SPEC §5). Callers do this before they free the agent, so the pass the
   * release starts finds this call first and offers it before anyone else.
   */
  private takeHead(cc: CustomerCall, department: Department): void {
    cc.department = department;
    cc.visited.add(department.id);
    const queue = this.queues.get(department.id) ?? [];
    if (queue.includes(cc)) return;
    if (!cc.transition('queued')) return;
    const now = this.now();
    cc.enteredAt ??= now;
    cc.queuedAt = now;
    queue.unshift(cc);
    this.queues.set(department.id, queue);
  }

  private async anyoneLoggedIn(departmentId: number): Promise<boolean> {
    const agents = await this.deps.store.directory.listAgents({ departmentId });
    for (const a of agents) {
      const s = await this.deps.agentStates.getState(a.id);
      if (s.state !== 'logged_out') return true;
    }
    return false;
  }

  // ── waiting ────────────────────────────────────────────────────────────
  /** Music on hold (after `lead`, if any) and the waiting timers. */
  private startWaiting(cc: CustomerCall, lead: readonly string[] = []): void {
    this.armWaitTimers(cc);
    if (lead.length === 0) return cc.leg.loop(this.deps.sounds.music());
    void cc.leg.play(this.deps.sounds.prompts(cc.settings.language, lead)).then((outcome) => {
      // Stopped (an announcement, the agent, an overflow message took over): theirs to go on.
      if (outcome === 'done' && cc.waiting) cc.leg.loop(this.deps.sounds.music());
    });
  }

  /** Max wait and the position announcement, from now; the music goes on as it is. */
  private armWaitTimers(cc: CustomerCall): void {
    const { leg } = cc;
    this.stopTimers(cc);
    const maxWait = cc.department.maxWaitSeconds * 1000;
    if (maxWait > 0) cc.waitTimer = leg.setTimer(() => this.bg(this.overflow(cc, 'max_wait'), cc), maxWait);
    this.armAnnouncement(cc);
  }

  private armAnnouncement(cc: CustomerCall): void {
    const period = cc.settings.announceSeconds * 1000;
    if (period <= 0) return;
    cc.announceTimer = cc.leg.setTimer(() => this.bg(this.announcePosition(cc), cc), period);
  }

  /** "Your position in the queue is: N", then music again. */
  private async announcePosition(cc: CustomerCall): Promise<void> {
    if (!cc.waiting) return;
    const position = (this.queues.get(cc.department.id) ?? []).indexOf(cc) + 1;
    if (position > 0) {
      const ids = ['queue_position', ...digitsToPromptIds(String(position))];
      const outcome = await cc.leg.play(this.deps.sounds.prompts(cc.settings.language, ids));
      if (outcome === 'done' && cc.waiting) cc.leg.loop(this.deps.sounds.music());
    }
    if (cc.waiting) this.armAnnouncement(cc);
  }

  private stopTimers(cc: CustomerCall): void {
    cc.leg.clearTimer(cc.waitTimer);
    cc.leg.clearTimer(cc.announceTimer);
    cc.waitTimer = cc.announceTimer = undefined;
  }

  private removeFromQueue(cc: CustomerCall): void {
    const q = this.queues.get(cc.department.id);
    if (!q) return;
    const i = q.indexOf(cc);
    if (i >= 0) q.splice(i, 1);
    if (q.length === 0) this.queues.delete(cc.department.id);
  }

  // ── overflow ───────────────────────────────────────────────────────────
  private async overflow(cc: CustomerCall, why: 'no_agents' | 'queue_full' | 'max_wait'): Promise<void> {
    if (cc.state === 'ended' || cc.state === 'connected') return;
    this.withdrawOffer(cc, 'ready', 'call_overflowed');
    this.stopTimers(cc);
    this.removeFromQueue(cc);
    await this.event(cc, 'overflow', null, why);
    const target = cc.department.overflow;
    if (target?.kind === 'department') {
      const next = await this.deps.store.directory.getDepartmentByCode(cc.companyId, target.code);
      if (next && !cc.visited.has(next.id)) {
        await this.enqueue(cc, next);
        return;
      }
    }
    await this.finish(cc, why === 'no_agents' ? 'no_agents' : 'overflow');
    await cc.leg.play(this.deps.sounds.prompts(cc.settings.language, ['no_agents']));
    await cc.leg.hangup();
  }

  // ── distribution ───────────────────────────────────────────────────────
  /** Runs a distribution pass soon; passes never overlap, so no agent gets two offers. */
  schedule(): void {
    this.distributeAgain = true;
    this.distributing = this.distributing.then(async () => {
      while (this.distributeAgain) {
        this.distributeAgain = false;
        try {
          await this.distributeOnce();
        } catch (err) {
          this.log.error({ err }, 'distribution pass failed');
        }
      }
    });
  }

  /** Settles once no distribution pass is running (tests, shutdown). */
  idle(): Promise<void> {
    return this.distributing;
  }

  private async distributeOnce(): Promise<void> {
    for (const [departmentId, queue] of this.queues) {
      for (const cc of [...queue]) {
        if (cc.state !== 'queued') continue;
        const agentId = await this.pickAgent(departmentId, cc);
        if (agentId === undefined) break; // nobody free in this department
        await this.offer(cc, agentId);
      }
    }
  }

  private async pickAgent(departmentId: number, cc: CustomerCall): Promise<number | undefined> {
    const agents = await this.deps.store.directory.listAgents({ departmentId });
    const candidates: Candidate[] = [];
    for (const a of agents) {
      if (this.engaged.has(a.id) || this.deps.inMenu.has(a.id) || cc.unreachable.has(a.id)) continue;
      const s = await this.deps.agentStates.getState(a.id);
      if (s.state !== 'ready') continue;
      const priority = a.departments.find((d) => d.departmentId === departmentId)?.priority ?? 99;
      candidates.push({ agentId: a.id, priority, readySince: s.since });
    }
    const ordered = orderCandidates(cc.department.strategy, candidates, this.lastOffered.get(departmentId));
    return ordered[0]?.agentId;
  }

  /**
   * Reserves the agent (offered) within the distribution pass, then rings
   * their phone outside it, so that one slow phone never holds up the queue.
   */
  private async offer(cc: CustomerCall, agentId: number): Promise<void> {
    const agent = await this.deps.store.directory.getAgent(agentId);
    if (!agent || cc.state !== 'queued') return;
    this.engaged.add(agentId);
    this.lastOffered.set(cc.department.id, agentId);
    try {
      await this.deps.agentStates.transition(agentId, 'offered', {
        reason: `offer:${cc.id}`,
        source: 'system',
      });
    } catch (err) {
      this.engaged.delete(agentId);
      if (isAppError(err, 'invalid_transition')) return;
      throw err;
    }
    if (cc.state !== 'queued') {
      this.engaged.delete(agentId);
      await this.safeTransition(agentId, 'ready', 'offer_withdrawn');
      return;
    }
    cc.transition('offering');
    cc.offer = { agentId, dialing: undefined };
    void this.ring(cc, agentId, agent.sessionContact ?? agent.contact, agent.login);
  }

  /** Calls the agent's phone with the customer's number as caller id. */
  private async ring(cc: CustomerCall, agentId: number, contact: string, login: string): Promise<void> {
    try {
      await this.event(cc, 'offer', agentId);
      const targets = this.deps.resolver.resolve(contact, cc.companyId, cc.settings.country);
      if (!targets.length) {
        this.log.warn({ agent: login, contact }, 'no route to the agent phone');
        return await this.offerFailed(cc, agentId, 'no_route', false);
      }
      const dialing = await this.deps.engine.dial({
        targets,
        ...callerIdentityFor(cc, cc.settings.presentedCallerId),
        near: cc.leg,
        timeoutMs: cc.settings.ringSeconds * 1000,
      });
      if (cc.offer?.agentId !== agentId || cc.state !== 'offering') {
        // The customer left (or overflowed) while we were setting up the leg.
        dialing.cancel();
        return;
      }
      cc.offer.dialing = dialing;
      const result = await dialing.result;
      if (cc.offer?.agentId !== agentId) {
        // Withdrawn meanwhile (customer hung up): make sure the agent leg goes too.
        if (result.kind === 'answered') await result.leg.hangup();
        return;
      }
      cc.offer = undefined;
      if (result.kind !== 'answered')
        return await this.offerFailed(cc, agentId, result.kind, isCalleeFailure(result));
      await this.connect(cc, agentId, result.leg);
    } catch (err) {
      this.log.error({ err, callId: cc.id }, 'offer failed');
      if (cc.offer?.agentId === agentId) await this.offerFailed(cc, agentId, 'error', false);
    }
  }

  /**
   * The offer did not connect; the call stays at the head. Only the agent's
   * own no-answer, busy or decline sends them on a break (SPEC §3); when the
   * trunk or we failed (5xx, no response, authentication, no route) the agent
   * is back to ready but is not offered this same call again, so one broken
   * route does not loop.
   */
  private async offerFailed(
    cc: CustomerCall,
    agentId: number,
    why: string,
    agentsFault: boolean,
  ): Promise<void> {
    cc.offer = undefined;
    // Queued again (at the head, where it is) before the agent's move: a pass that move starts
    // must not skip this call for the ones behind it.
    if (cc.state === 'offering') cc.transition('queued');
    this.engaged.delete(agentId);
    // The history says why: `no_answer` (busy, declined, rang out) or `not_accepted` (no accept key).
    if (agentsFault)
      await this.safeTransition(agentId, 'temporarily_not_ready', why === 'not_accepted' ? why : 'no_answer');
    else {
      cc.unreachable.add(agentId);
      // The route may come back (trunk up again): offer this call to them again later.
      cc.leg.setTimer(() => {
        cc.unreachable.delete(agentId);
        this.schedule();
      }, UNREACHABLE_RETRY_MS);
      await this.safeTransition(agentId, 'ready', `offer_failed:${why}`);
    }
    await this.event(cc, 'no_answer', agentId, why);
    this.schedule();
  }

  /** Takes back a pending offer (customer gone, overflow): the agent phone stops ringing. */
  private withdrawOffer(cc: CustomerCall, agentState: AgentState, reason: string): void {
    const offer = cc.offer;
    if (!offer) return;
    cc.offer = undefined;
    offer.dialing?.cancel();
    this.engaged.delete(offer.agentId);
    void this.safeTransition(offer.agentId, agentState, reason).then(() => this.schedule());
  }

  /** A background task: a failure is logged, never an unhandled rejection. */
  private bg(p: Promise<unknown>, cc: CustomerCall): void {
    p.catch((err: unknown) => this.log.error({ err, callId: cc.id }, 'call task failed'));
  }

  private async safeTransition(agentId: number, to: AgentState, reason: string): Promise<void> {
    try {
      await this.deps.agentStates.transition(agentId, to, { reason, source: 'system' });
    } catch (err) {
      if (!isAppError(err, 'invalid_transition'))
        this.log.error({ err, agentId, to }, 'agent transition failed');
    }
  }

  // ── connected ──────────────────────────────────────────────────────────
  private async connect(cc: CustomerCall, agentId: number, agentLeg: Leg): Promise<void> {
    if (cc.leg.ended) {
      await agentLeg.hangup();
      return;
    }
    // The agent answered now: that ends the customer's wait (ASA). No overflow
    // (max wait) may take the call away while the agent hears the whisper.
    const answeredAt = this.now();
    this.stopTimers(cc);
    // Whisper: the agent hears which department the call is for (its code, digit by digit).
    const whisper = digitsToPromptIds(cc.department.code);
    if (cc.settings.acceptCall === 'key') {
      // The agent stays `offered` until the key: only then is the offer answered.
      // A customer who leaves meanwhile ends the agent's prompt too, not after acceptSeconds.
      const offCustomer = cc.leg.on('ended', () => void agentLeg.hangup());
      const verdict = await awaitAcceptance(agentLeg, cc.settings, this.deps.sounds, whisper);
      offCustomer();
      if (cc.leg.ended || cc.state !== 'offering') {
        await agentLeg.hangup();
        this.engaged.delete(agentId);
        await this.safeTransition(agentId, 'ready', 'customer_abandoned');
        this.schedule();
        return;
      }
      if (verdict !== 'accepted') {
        this.log.info({ callId: cc.id, agentId, verdict }, 'offer answered but not accepted');
        await agentLeg.hangup();
        this.armWaitTimers(cc);
        return await this.offerFailed(cc, agentId, 'not_accepted', true);
      }
      await this.safeTransition(agentId, 'busy', `call:${cc.id}`);
    } else {
      await this.safeTransition(agentId, 'busy', `call:${cc.id}`);
      await agentLeg.play(this.deps.sounds.prompts(cc.settings.language, whisper));
    }
    if (cc.leg.ended || agentLeg.ended) {
      // The agent hung up during the whisper: back to the head of the queue (where the call
      // still is) before the agent is free, so no pass skips it for the callers behind.
      const back = !cc.leg.ended && cc.state === 'offering' && cc.transition('queued');
      await agentLeg.hangup();
      await this.endAgent(agentId);
      if (back && cc.waiting) {
        this.startWaiting(cc);
        this.schedule();
      }
      return;
    }
    this.stopTimers(cc);
    this.removeFromQueue(cc);
    cc.transition('connected');
    cc.answeredAt ??= answeredAt;
    cc.agentIds.push(agentId);
    // Records are written in this order; the session exists at once so that a
    // hang-up of either party during the writes is handled by it.
    const recorded = Promise.all([
      this.deps.store.calls.updateCdr(cc.id, { answeredAt: cc.answeredAt, agentIds: cc.agentIds }),
      this.event(
        cc,
        'connect',
        agentId,
        String(Math.round((answeredAt - (cc.enteredAt ?? answeredAt)) / 1000)),
      ),
    ]);
    cc.inCall = this.deps.inCallSession(cc, agentId, agentLeg, this.inCallHooks);
    await recorded;
  }

  /** What the in-call menu may do to the rest of the system. */
  private get inCallHooks(): InCallHooks {
    return (this.hooksCache ??= this.makeInCallHooks());
  }

  private hooksCache: InCallHooks | undefined;

  private makeInCallHooks(): InCallHooks {
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
      releaseAgent: (agentId) => this.endAgent(agentId),
      reserveAgent: async (agentId) => {
        if (this.engaged.has(agentId) || this.deps.inMenu.has(agentId)) return false;
        const s = await this.deps.agentStates.getState(agentId);
        if (s.state !== 'ready') return false;
        this.engaged.add(agentId);
        await this.safeTransition(agentId, 'offered', 'transfer_offer');
        return true;
      },
      settleReservedAgent: async (agentId, answered, reason) => {
        if (answered) return this.safeTransition(agentId, 'busy', 'transfer_answered');
        this.engaged.delete(agentId);
        await this.safeTransition(agentId, 'ready', reason ?? 'transfer_not_answered');
        this.schedule();
      },
      requeue: async (cc, department, head, releasing) => {
        cc.inCall = undefined;
        if (cc.leg.ended) {
          if (releasing !== undefined) await this.endAgent(releasing);
          return this.finish(cc, cc.transfers > 0 ? 'transferred' : 'answered');
        }
        // Out of `connected` at once: overflow (no agents, full queue) and a customer
        // hang-up during the awaits are then handled as for any waiting call.
        cc.transition('queued');
        // Back at the head first, then the agent is free: else the pass their release starts
        // offers them (and other agents) the callers behind, who overtake this one (issue 10).
        if (head) this.takeHead(cc, department);
        if (releasing !== undefined) await this.endAgent(releasing);
        await this.enqueue(cc, department, head);
      },
      finish: (cc, outcome) => this.finish(cc, outcome),
      record: (cc, kind, agentId, detail) => this.event(cc, kind, agentId, detail),
    };
  }

  /** The agent's call is over: wrap-up (the state machine returns them to ready). */
  private async endAgent(agentId: number): Promise<void> {
    this.engaged.delete(agentId);
    await this.safeTransition(agentId, 'wrap_up', 'call_ended');
    this.schedule();
  }

  /** The customer's leg ended, in whatever state the call was. */
  private async onCustomerGone(cc: CustomerCall): Promise<void> {
    // Connected calls are the in-call session's to end.
    if (cc.state === 'ended' || cc.state === 'connected') return;
    this.stopTimers(cc);
    if (cc.waiting) {
      this.withdrawOffer(cc, 'ready', 'customer_abandoned');
      this.removeFromQueue(cc);
      await this.event(
        cc,
        'abandon',
        null,
        String(Math.round((this.now() - (cc.enteredAt ?? cc.startedAt)) / 1000)),
      );
      return this.finish(cc, cc.answeredAt ? 'answered' : 'abandoned');
    }
    return this.finish(cc, cc.answeredAt ? 'answered' : 'abandoned');
  }

  private async finish(cc: CustomerCall, reason: CallOutcomeReason): Promise<void> {
    if (cc.state === 'ended') return;
    // The customer's phone went silent and we hung up on it: whatever the call's state, that is
    // how it ended (the queue log and the agents' history say what happened before).
    const end = cc.leg.endReason;
    const outcome: CallOutcomeReason = end === 'media_timeout' || end === 'session_expired' ? end : reason;
    this.stopTimers(cc);
    this.removeFromQueue(cc);
    cc.transition('ended');
    this.calls.delete(cc);
    const endedAt = this.now();
    await this.deps.store.calls.updateCdr(cc.id, {
      endedAt,
      outcome,
      talkSeconds: Math.round(cc.talkMs / 1000),
      agentIds: cc.agentIds,
      transfers: cc.transfers,
    });
    await this.logEnded(cc, outcome, endedAt);
    for (const fn of this.listeners) {
      fn({
        at: endedAt,
        kind: 'ended',
        callId: cc.id,
        companyId: cc.companyId,
        departmentId: cc.department.id,
        agentId: null,
        detail: outcome,
      });
    }
  }

  /** The operator's line for a call's end: the one to read when a customer complains. */
  private async logEnded(cc: CustomerCall, outcome: CallOutcomeReason, endedAt: number): Promise<void> {
    const agents: string[] = [];
    for (const id of cc.agentIds) {
      const agent = await this.deps.store.directory.getAgent(id).catch(() => null);
      agents.push(agent?.login ?? String(id));
    }
    this.log.info(
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

  close(): void {
    this.offState();
    for (const cc of this.calls) this.stopTimers(cc);
  }
}
