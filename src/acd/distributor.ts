/**
 * Who takes a waiting call (SPEC §3, §6): serialised distribution passes over
 * the queues, the department's strategy, the offer (ringing the agent's phone
 * with the customer's number), the accept key and the whisper. Once the agent
 * is through, the call is handed on (`Connect`).
 */
import type { Logger } from 'pino';
import { isCalleeFailure, type CallEngine } from '../call/engine.ts';
import type { ContactResolver } from '../call/contact-resolver.ts';
import type { Leg } from '../call/leg.ts';
import { digitsToPromptIds } from '../call/prompts.ts';
import type { Sounds } from '../call/sounds.ts';
import type { AgentState, Department, Store } from '../store/store.ts';
import { awaitAcceptance } from './accept.ts';
import type { AgentAvailability } from './availability.ts';
import type { CallLog } from './call-log.ts';
import { callerIdentityFor } from './caller-id.ts';
import type { CustomerCall } from './customer-call.ts';
import type { CallQueues } from './queue.ts';
import type { SharedQueue } from './shared-queue.ts';
import { orderCandidates, type Candidate } from './strategies.ts';

/** How long the word of another node's offer may take before the offer is taken as lost. */
const OFFER_WORD_MS = 5000;

/** How long an agent whose phone could not be reached is not offered the same call again. */
const UNREACHABLE_RETRY_MS = 30_000;

export interface DistributorDeps {
  engine: CallEngine;
  store: Pick<Store, 'directory'>;
  availability: AgentAvailability;
  sounds: Sounds;
  resolver: ContactResolver;
  callLog: CallLog;
  queues: CallQueues;
  logger: Logger;
  /** Several nodes (PostgreSQL): passes over every node's waiting calls (issue 15). */
  shared?: SharedQueue;
}

/** The agent took the call: `answeredAt` (wall ms) ended the customer's wait. */
export type Connect = (cc: CustomerCall, agentId: number, agentLeg: Leg, answeredAt: number) => Promise<void>;

/** A supervisor's forced state for an agent, given instead of the call's own when the call lets them go. */
interface Forced {
  to: AgentState;
  reason: string;
  released: () => void;
}

export class Distributor {
  private readonly lastOffered = new Map<number, number>();
  /** Agents whose phone answered an offer and who hear the whisper / accept prompt now. */
  private readonly answering = new Map<number, { cc: CustomerCall; leg: Leg }>();
  private readonly forced = new Map<number, Forced>();
  private distributing: Promise<void> = Promise.resolve();
  private distributeAgain = false;
  private readonly log: Logger;
  private readonly offFree: () => void;
  private readonly offOffer: () => void;

  constructor(
    private readonly deps: DistributorDeps,
    private readonly connected: Connect,
  ) {
    this.log = deps.logger;
    // An agent who becomes ready, or leaves the service IVR, may take a waiting call.
    this.offFree = deps.availability.onMayBeFree(() => this.schedule());
    // A pass on another node gave one of our calls an agent: ring them, in turn with our passes.
    this.offOffer =
      deps.shared?.onOffer((callId, agentId) => {
        this.distributing = this.distributing.then(() =>
          this.offerGiven(callId, agentId).catch((err: unknown) =>
            this.log.error({ err, callId, agentId }, 'offer from another node failed'),
          ),
        );
      }) ?? (() => undefined);
  }

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

  close(): void {
    this.offFree();
    this.offOffer();
  }

  private async distributeOnce(): Promise<void> {
    if (this.deps.shared) return this.distributeShared(this.deps.shared);
    for (const [, queue] of this.deps.queues.entries()) {
      for (const cc of [...queue]) {
        if (cc.state !== 'queued') continue;
        const agentId = await this.pickAgent(cc);
        if (agentId === undefined) break; // nobody free in this department
        await this.offer(cc, agentId);
      }
    }
  }

  /**
   * A pass over every node's queues: for each department, its oldest call no agent is offered
   * gets the agent the strategy picks, both taken in one step in the store; the node holding
   * the call rings them. Another pass follows while calls get agents.
   */
  private async distributeShared(shared: SharedQueue): Promise<void> {
    for (const head of await shared.heads()) {
      const local = head.nodeId === shared.nodeId ? this.deps.queues.byId(head.callId) : undefined;
      if (head.nodeId === shared.nodeId && local?.state !== 'queued') continue;
      const department =
        local?.department ?? (await this.deps.store.directory.getDepartment(head.departmentId));
      if (!department) continue;
      const agentId = await this.pickAgentIn(department, local?.unreachable ?? new Set(head.unreachable));
      if (agentId === undefined) continue;
      if (!(await shared.take(head, agentId, `offer:${head.callId}`))) continue;
      this.lastOffered.set(department.id, agentId);
      this.distributeAgain = true; // the department's next call may have a free agent too
      if (local) await this.offerReserved(local, agentId);
      else await shared.tellOffer(head, agentId);
    }
  }

  /** Another node's pass took agent `agentId` (held, offered) for our call `callId`. */
  private async offerGiven(callId: string, agentId: number): Promise<void> {
    const cc = this.deps.queues.byId(callId);
    if (cc?.state === 'queued' && !cc.unreachable.has(agentId)) return this.offerReserved(cc, agentId);
    // Gone (hung up, overflowed) before the word came, or their phone just failed for this call
    // (the pass read the queue before we wrote it): the agent is free again, the call waits on.
    if (cc) this.deps.shared?.putBack(cc);
    await this.release(agentId, 'ready', 'offer_withdrawn');
    this.schedule();
  }

  /**
   * Offers of another node's pass whose word never came (that node died between its claim and
   * its NOTIFY, or our LISTEN connection was down): the call still waits here, nobody rings the
   * agent. After `olderThanMs` the agent is let go and the call waits again.
   */
  reconcile(olderThanMs = OFFER_WORD_MS): Promise<void> {
    const shared = this.deps.shared;
    if (!shared) return Promise.resolve();
    const run = this.distributing.then(async () => {
      for (const [callId, agentId] of await shared.offeredSince(olderThanMs)) {
        const cc = this.deps.queues.byId(callId);
        if (cc?.state !== 'queued') continue; // rung (offering), or gone: not ours to undo
        this.log.warn({ callId, agentId }, 'an offer from another node never arrived: the agent is let go');
        shared.putBack(cc);
        await this.deps.availability.release(agentId, 'ready', 'offer_lost');
      }
    });
    this.distributing = run.catch((err: unknown) => this.log.error({ err }, 'offer reconciliation failed'));
    return this.distributing;
  }

  /** Nobody could be offered `cc` in its department now. */
  async nobodyFree(cc: CustomerCall): Promise<boolean> {
    return (await this.pickAgent(cc)) === undefined;
  }

  /** `cc` waits in its department's queue. */
  private pickAgent(cc: CustomerCall): Promise<number | undefined> {
    return this.pickAgentIn(cc.department, cc.unreachable);
  }

  private async pickAgentIn(
    department: Department,
    unreachable: ReadonlySet<number> = new Set(),
  ): Promise<number | undefined> {
    const departmentId = department.id;
    // One query for the department, not one per agent: a pass asks this for every waiting call.
    const candidates: Candidate[] = [];
    for (const a of await this.deps.availability.freeIn(departmentId))
      if (!unreachable.has(a.agentId))
        candidates.push({ agentId: a.agentId, priority: a.priority, readySince: a.since });
    const ordered = orderCandidates(department.strategy, candidates, this.lastOffered.get(departmentId));
    return ordered[0]?.agentId;
  }

  /**
   * Reserves the agent (offered) within the distribution pass, then rings
   * their phone outside it, so that one slow phone never holds up the queue.
   */
  private async offer(cc: CustomerCall, agentId: number): Promise<void> {
    if (cc.state !== 'queued') return;
    if (!(await this.deps.availability.reserve(agentId, `offer:${cc.id}`))) return;
    this.lastOffered.set(cc.department.id, agentId);
    await this.offerReserved(cc, agentId);
  }

  /** The agent is held for `cc` (offered): their phone rings, unless the call left meanwhile. */
  private async offerReserved(cc: CustomerCall, agentId: number): Promise<void> {
    const agent = await this.deps.store.directory.getAgent(agentId);
    if (!agent || !cc.transition('offering', `offer:${agentId}`)) {
      // The customer left (or overflowed) while the agent was being reserved.
      this.deps.shared?.putBack(cc);
      await this.release(agentId, 'ready', 'offer_withdrawn');
      return;
    }
    cc.offer = { agentId, dialing: undefined };
    void this.ring(cc, agentId, agent.sessionContact ?? agent.contact, agent.login);
  }

  /** Calls the agent's phone with the customer's number as caller id. */
  private async ring(cc: CustomerCall, agentId: number, contact: string, login: string): Promise<void> {
    try {
      await this.deps.callLog.event(cc, 'offer', agentId);
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
      await this.answered(cc, agentId, result.leg);
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
    const waits = cc.is('offering') ? cc.transition('queued', `offer_failed:${why}`) : cc.waiting;
    if (!agentsFault) {
      cc.unreachable.add(agentId);
      // Written before the call waits again: no node's pass gives it this agent meanwhile.
      this.deps.shared?.unreachable(cc, agentId, true);
    }
    if (waits) this.deps.shared?.putBack(cc);
    // The history says why: `no_answer` (busy, declined, rang out) or `not_accepted` (no accept key).
    if (agentsFault)
      await this.release(agentId, 'temporarily_not_ready', why === 'not_accepted' ? why : 'no_answer');
    else {
      // The route may come back (trunk up again): offer this call to them again later.
      if (waits)
        cc.armForLife(UNREACHABLE_RETRY_MS, () => {
          cc.unreachable.delete(agentId);
          this.deps.shared?.unreachable(cc, agentId, false);
          this.schedule();
        });
      await this.release(agentId, 'ready', `offer_failed:${why}`);
    }
    await this.deps.callLog.event(cc, 'no_answer', agentId, why);
    this.schedule();
  }

  /** Takes back a pending offer (customer gone, overflow): the agent phone stops ringing. */
  withdrawOffer(cc: CustomerCall, reason: string): void {
    const offer = cc.offer;
    if (!offer) return;
    cc.offer = undefined;
    offer.dialing?.cancel();
    void this.release(offer.agentId, 'ready', reason).then(() => this.schedule());
  }

  /** The agent's part in a call is over: wrap-up (the state machine returns them to ready). */
  async releaseAgent(agentId: number, to: AgentState = 'wrap_up', reason = 'call_ended'): Promise<void> {
    await this.release(agentId, to, reason);
    this.schedule();
  }

  /**
   * A supervisor forces `to` on the agent: the next time a call lets them go, they get `to`
   * (with `reason`) instead of the call's own state. Resolves once that happened.
   */
  expectRelease(agentId: number, to: AgentState, reason: string): Promise<void> {
    return new Promise((released) => this.forced.set(agentId, { to, reason, released }));
  }

  /**
   * Takes a supervisor's agent out of the offer they ring for or answered (whisper, accept key):
   * the phone stops ringing or is hung up, the call stays at the head of its queue for the next
   * agent. False: no offer of ours holds them.
   */
  async endOffer(agentId: number): Promise<boolean> {
    const answering = this.answering.get(agentId);
    // Hung up, the accept prompt or the whisper fails and the answer path puts the call back.
    if (answering) return answering.leg.hangup('supervisor').then(() => true);
    const cc = this.ringingFor(agentId);
    const offer = cc?.offer;
    if (!cc || !offer) return false;
    cc.offer = undefined;
    offer.dialing?.cancel();
    // Back to `queued` where it is, at the head, before the agent is let go (as offerFailed).
    cc.transition('queued', 'offer_withdrawn');
    await this.release(agentId, 'ready', 'offer_withdrawn');
    await this.deps.callLog.event(cc, 'no_answer', agentId, 'withdrawn');
    this.schedule();
    return true;
  }

  /** The call the agent is offered now (ringing, or answered and not yet taken). */
  offeredTo(agentId: number): CustomerCall | undefined {
    return this.answering.get(agentId)?.cc ?? this.ringingFor(agentId);
  }

  /** The waiting call whose offer rings the agent's phone now. */
  private ringingFor(agentId: number): CustomerCall | undefined {
    for (const [, queue] of this.deps.queues.entries())
      for (const cc of queue) if (cc.offer?.agentId === agentId) return cc;
    return undefined;
  }

  /** Every release of an agent goes here: a supervisor's forced state wins over the call's. */
  private async release(agentId: number, to: AgentState, reason: string): Promise<void> {
    const forced = this.forced.get(agentId);
    this.forced.delete(agentId);
    await this.deps.availability.release(agentId, forced?.to ?? to, forced?.reason ?? reason);
    forced?.released();
  }

  /** The agent's phone answered: the accept key or the whisper, then the call is theirs. */
  private async answered(cc: CustomerCall, agentId: number, agentLeg: Leg): Promise<void> {
    if (cc.leg.ended) {
      await agentLeg.hangup();
      return;
    }
    this.answering.set(agentId, { cc, leg: agentLeg });
    try {
      await this.take(cc, agentId, agentLeg);
    } finally {
      this.answering.delete(agentId);
    }
  }

  private async take(cc: CustomerCall, agentId: number, agentLeg: Leg): Promise<void> {
    const { availability, queues } = this.deps;
    // The agent answered now: that ends the customer's wait (ASA). No overflow
    // (max wait) may take the call away while the agent hears the whisper.
    const answeredAt = this.deps.callLog.now();
    cc.stopWaitTimers();
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
        await this.releaseAgent(agentId, 'ready', 'customer_abandoned');
        return;
      }
      if (verdict !== 'accepted') {
        this.log.info({ callId: cc.id, agentId, verdict }, 'offer answered but not accepted');
        await agentLeg.hangup();
        queues.armWaitTimers(cc);
        return await this.offerFailed(cc, agentId, 'not_accepted', true);
      }
      await availability.settle(agentId, 'busy', `call:${cc.id}`);
    } else {
      await availability.settle(agentId, 'busy', `call:${cc.id}`);
      await agentLeg.play(this.deps.sounds.prompts(cc.settings.language, whisper));
    }
    if (cc.leg.ended || agentLeg.ended) {
      // The agent hung up during the whisper: back to the head of the queue (where the call
      // still is) before the agent is free, so no pass skips it for the callers behind.
      const back = !cc.leg.ended && cc.is('offering') && cc.transition('queued', 'agent_left_whisper');
      await agentLeg.hangup();
      await this.releaseAgent(agentId);
      if (back && cc.waiting) {
        this.deps.shared?.putBack(cc);
        queues.startWaiting(cc);
        this.schedule();
      }
      return;
    }
    // Connected: the wait timers (cleared on the way out of the queue) are over.
    if (!cc.transition('connected', `agent:${agentId}`)) {
      // Overflowed or ended while the agent heard the whisper: theirs is no call any more.
      await agentLeg.hangup();
      await this.releaseAgent(agentId);
      return;
    }
    queues.remove(cc);
    await this.connected(cc, agentId, agentLeg, answeredAt);
  }
}
