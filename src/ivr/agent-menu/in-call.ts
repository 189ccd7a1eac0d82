import type { Logger } from 'pino';
import type { DialResult, LegBridge } from '../../call/engine.ts';
import { isDeadLeg, type Leg } from '../../call/leg.ts';
import type { ConnectedCall, CustomerCall } from '../../acd/customer-call.ts';
import type { InCallHooks } from '../../acd/in-call-port.ts';
import { callerIdentityFor } from '../../acd/caller-id.ts';
import type { CompanySettings, Department, QueueEventKind } from '../../store/store.ts';
import type { AnnounceNumberMode, ExternalTransferMode } from '../../store/vocabulary.ts';
import { destinationAllowed } from '../../store/company-settings.ts';
import type { TimerHandle } from '../../util/clock.ts';
import { digitsToPromptIds, type PromptId } from '../../call/prompts.ts';
import { normaliseNumber } from '../../util/phone-number.ts';
import { awaitAcceptance } from '../../acd/accept.ts';

/**
 * The connected part of a customer call and the agent's in-call menu (seed
 * section 2, SPEC §5). No voice prompts reach the agent here: an accept beep
 * and an error beep only.
 *
 *   talking ─*─▶ menu ─1/2/3─▶ collecting ─#─▶ dialing ─▶ consulting ─hang-up─▶ transferred
 *      ▲          │  └─4─▶ waiting                │              │
 *      └──5/timeout┘                              └─fail─▶ talking (agent there) or the queue
 *                     └─3─▶ announcing ─customer 1─▶ dialing
 */
export type InCallState =
  | 'talking'
  | 'menu'
  | 'collecting'
  | 'waiting'
  | 'dialing'
  | 'consulting'
  | 'consult_menu'
  | 'announcing'
  | 'transferred'
  | 'ended';

const TRANSITIONS: Record<InCallState, readonly InCallState[]> = {
  talking: ['menu', 'ended'],
  menu: ['talking', 'collecting', 'waiting', 'announcing', 'dialing', 'ended'],
  collecting: ['menu', 'talking', 'dialing', 'announcing', 'ended'],
  waiting: ['menu', 'talking', 'ended'],
  dialing: ['talking', 'consulting', 'transferred', 'ended'],
  consulting: ['consult_menu', 'talking', 'transferred', 'ended'],
  consult_menu: ['consulting', 'talking', 'transferred', 'ended'],
  announcing: ['talking', 'dialing', 'ended'],
  transferred: ['talking', 'ended'],
  ended: [],
};

/** SPEC §5: 10 s without a key in the menu returns the agent to the customer. */
export const MENU_TIMEOUT_MS = 10_000;
/** SPEC §5: the customer has 15 s to choose after an announced number, asked three times. */
export const ANNOUNCE_CHOICE_MS = 15_000;
export const ANNOUNCE_TRIES = 3;

type Collecting = 'external' | 'department' | 'announce';
type DialPurpose = 'external' | 'announce';

interface Target {
  leg: Leg;
  number: string;
  agentId: number | undefined;
}

export class InCallSession implements ConnectedCall {
  state: InCallState = 'talking';
  private agentId: number | undefined;
  private agentLeg: Leg | undefined;
  private target: Target | undefined;
  private bridge: LegBridge | undefined;
  private bridgedSince: number | undefined;
  private menuTimer: TimerHandle | undefined;
  private collecting: { kind: Collecting; digits: string } | undefined;
  private dialing: { cancel(): void } | undefined;
  private announce:
    | {
        number: string;
        mode: Exclude<AnnounceNumberMode, 'disabled'>;
        tries: number;
        timer: TimerHandle | undefined;
      }
    | undefined;
  private readonly log: Logger;
  private readonly offCustomer: () => void;

  constructor(
    readonly cc: CustomerCall,
    agentId: number,
    agentLeg: Leg,
    private readonly hooks: InCallHooks,
  ) {
    this.log = hooks.logger.child({ callId: cc.id });
    this.offCustomer = cc.leg.on('ended', () => this.bg(this.customerGone()));
    this.takeAgent(agentId, agentLeg);
    this.connect(cc.leg, agentLeg);
  }

  get currentAgentId(): number | undefined {
    return this.agentId;
  }

  private get menuTimeout(): number {
    return this.hooks.menuTimeoutMs ?? MENU_TIMEOUT_MS;
  }

  /** Reads the state afresh (after an await, TypeScript's narrowing no longer holds). */
  private is(state: InCallState): boolean {
    return this.state === state;
  }

  private transition(to: InCallState): void {
    if (this.state === to) return;
    if (!TRANSITIONS[this.state].includes(to)) throw new Error(`in-call: ${this.state} → ${to}`);
    this.log.debug({ from: this.state, to }, 'in-call state');
    this.state = to;
    this.cc.leg.clearTimer(this.menuTimer);
    this.menuTimer = undefined;
  }

  // ── parties and media ───────────────────────────────────────────────────
  private takeAgent(agentId: number, leg: Leg): void {
    this.agentId = agentId;
    this.agentLeg = leg;
    leg.setDigitHandler((d) => this.bg(this.onAgentKey(d)));
    leg.on('ended', () => this.bg(this.agentGone(leg)));
  }

  /** Bridges the customer (or the agent) with another leg; talk time counts while the customer is bridged. */
  private connect(a: Leg, b: Leg): void {
    this.disconnect();
    this.bridge = this.hooks.engine.bridge(a, b);
    if (a === this.cc.leg || b === this.cc.leg) this.bridgedSince = this.hooks.clock.wallNow();
  }

  private disconnect(): void {
    this.bridge?.unbridge();
    this.bridge = undefined;
    if (this.bridgedSince !== undefined) {
      this.cc.talkMs += this.hooks.clock.wallNow() - this.bridgedSince;
      this.bridgedSince = undefined;
    }
  }

  private holdCustomer(): void {
    this.disconnect();
    this.cc.leg.loop(this.hooks.sounds.music());
  }

  private beep(leg: Leg | undefined, kind: 'accept' | 'error'): Promise<unknown> {
    if (!leg || leg.ended) return Promise.resolve();
    return leg.play(this.hooks.sounds.tone(kind));
  }

  private armMenuTimer(onTimeout: () => void): void {
    this.cc.leg.clearTimer(this.menuTimer);
    this.menuTimer = this.cc.leg.setTimer(() => {
      this.log.debug({ state: this.state }, 'agent menu timeout');
      onTimeout();
    }, this.menuTimeout);
  }

  /** Back to talking with the agent (after 5, a timeout, or a failed transfer). */
  private async returnToAgent(beep: 'accept' | 'error' = 'accept'): Promise<void> {
    const leg = this.agentLeg;
    if (!leg || leg.ended || this.state === 'ended') return;
    this.transition('talking');
    this.collecting = undefined;
    this.disconnect();
    this.cc.leg.silence();
    await this.beep(leg, beep);
    if (this.state === 'talking' && !leg.ended && !this.cc.leg.ended) this.connect(this.cc.leg, leg);
  }

  // ── agent keys ──────────────────────────────────────────────────────────
  private async onAgentKey(key: string): Promise<void> {
    switch (this.state) {
      case 'talking':
        if (key === '*') return this.openMenu();
        return;
      case 'menu':
        return this.onMenuKey(key);
      case 'collecting':
        return this.onCollectKey(key);
      case 'waiting':
        if (key === '*') return this.openMenu();
        if (key === '5') return this.returnToAgent();
        return;
      case 'consulting':
        if (key === '*') return this.openConsultMenu();
        return;
      case 'consult_menu':
        if (key === '5') return this.dropTarget();
        await this.beep(this.agentLeg, 'error');
        return;
      default:
        return;
    }
  }

  /** `*`: the customer hears music, the agent an accept beep, and the menu waits 10 s. */
  private async openMenu(): Promise<void> {
    this.transition('menu');
    this.holdCustomer();
    this.armMenuTimer(() => this.bg(this.returnToAgent()));
    await this.beep(this.agentLeg, 'accept');
  }

  private async onMenuKey(key: string): Promise<void> {
    this.armMenuTimer(() => this.bg(this.returnToAgent()));
    switch (key) {
      case '1':
        return this.startCollecting('external');
      case '2':
        return this.startCollecting('department');
      case '3':
        return this.startCollecting('announce');
      case '4':
        this.transition('waiting');
        this.agentLeg?.silence();
        return;
      case '5':
        return this.returnToAgent();
      default:
        await this.beep(this.agentLeg, 'error');
    }
  }

  private startCollecting(kind: Collecting): void {
    this.transition('collecting');
    this.collecting = { kind, digits: '' };
    this.armMenuTimer(() => this.bg(this.returnToAgent()));
  }

  private async onCollectKey(key: string): Promise<void> {
    const c = this.collecting;
    if (!c) return;
    this.armMenuTimer(() => this.bg(this.returnToAgent()));
    if (key === '*') {
      // Start again from the menu.
      this.collecting = undefined;
      return this.openMenu();
    }
    if (c.kind === 'department') {
      if (!/[0-9]/.test(key)) return this.refuse();
      c.digits += key;
      if (c.digits.length === 3) return this.transferToDepartment(c.digits);
      return;
    }
    if (key === '#') {
      const digits = c.digits;
      if (c.kind === 'external') return this.transferExternal(digits);
      return this.announceNumber(digits);
    }
    if (/[0-9]/.test(key)) c.digits += key;
    else await this.refuse();
  }

  /** A wrong or refused entry: error beep, back to the menu (the customer stays on hold). */
  private async refuse(why?: string): Promise<void> {
    if (why) this.log.info({ why }, 'agent menu entry refused');
    this.collecting = undefined;
    this.transition('menu');
    this.armMenuTimer(() => this.bg(this.returnToAgent()));
    await this.beep(this.agentLeg, 'error');
  }

  // ── 2: transfer to a department ─────────────────────────────────────────
  private async transferToDepartment(code: string): Promise<void> {
    const c = this.collecting;
    const department = await this.hooks.directory.getDepartmentByCode(this.cc.companyId, code);
    // Anything may have happened meanwhile (either party hung up, the menu timed out).
    if (!this.is('collecting') || this.collecting !== c) return;
    if (!department) return this.refuse(`unknown department ${code}`);
    this.collecting = undefined;
    await this.beep(this.agentLeg, 'accept');
    await this.record('transfer', { type: 'department', to: code, outcome: 'queued' });
    if (this.state === 'ended') return;
    this.cc.transfers++;
    await this.releaseCurrentAgent();
    await this.requeue(department, false);
  }

  // ── 1: transfer to an external number or a short number ─────────────────
  /** Resolves what the agent keyed: a colleague's short number, or a number allowed by the company. */
  private async resolveDialled(
    digits: string,
    settings: CompanySettings,
  ): Promise<{ number: string; contact: string; agentId: number | undefined } | undefined> {
    if (digits.length < 2) return undefined;
    const colleague = await this.hooks.directory.getAgentByShortNumber(this.cc.companyId, digits);
    const number = colleague ? digits : normaliseNumber(digits, settings.country);
    const companyAgents = colleague ? [colleague] : await this.hooks.directory.findAgentsByContact(number);
    const isAgent = companyAgents.some((a) => a.companyId === this.cc.companyId);
    if (!destinationAllowed(settings.allowedDestinations, number, isAgent)) {
      this.log.warn({ number, agentId: this.agentId }, 'destination not allowed (toll-fraud protection)');
      return undefined;
    }
    if (colleague)
      return { number, contact: colleague.sessionContact ?? colleague.contact, agentId: colleague.id };
    return { number, contact: number, agentId: undefined };
  }

  private async transferExternal(digits: string): Promise<void> {
    const c = this.collecting;
    const settings = await this.hooks.settings(this.cc.companyId);
    if (!this.is('collecting') || this.collecting !== c) return;
    const mode = settings.externalTransfer;
    if (mode === 'disabled') return this.refuse('external transfer disabled');
    const dest = await this.resolveDialled(digits, settings);
    if (!this.is('collecting') || this.collecting !== c) return;
    if (!dest) return this.refuse(`destination ${digits} not allowed`);
    this.collecting = undefined;
    this.transition('dialing');
    this.cc.transfers++;
    if (mode === 'release_immediately') {
      await this.releaseCurrentAgent();
      this.cc.leg.loop(this.hooks.sounds.tone('ringback'));
    } else {
      this.agentLeg?.loop(this.hooks.sounds.tone('ringback'));
    }
    const result = await this.dial(
      dest,
      settings,
      mode === 'release_immediately' ? this.cc.leg : this.agentLeg,
    );
    await this.onDialResult('external', mode, dest.number, result, dest.agentId);
  }

  /** Rings the target; early media (183) reaches whoever hears the ringback. */
  private async dial(
    dest: { number: string; contact: string; agentId: number | undefined },
    settings: CompanySettings,
    listener: Leg | undefined,
  ): Promise<DialResult> {
    if (dest.agentId !== undefined && !(await this.hooks.reserveAgent(dest.agentId))) {
      return { kind: 'busy', status: 486, reason: 'Agent not available' };
    }
    const targets = this.hooks.resolver.resolve(dest.contact, this.cc.companyId, settings.country);
    if (!targets.length) {
      // The reserved colleague must not stay `offered` (and engaged) for good.
      if (dest.agentId !== undefined) await this.hooks.settleReservedAgent(dest.agentId, false);
      return { kind: 'failed', status: 404, reason: 'No route' };
    }
    const dialing = await this.hooks.engine.dial({
      targets,
      ...callerIdentityFor(this.cc, settings.presentedCallerId),
      timeoutMs: settings.ringSeconds * 1000,
      onProgress: (early) => {
        if (early && dialing.leg && listener && !listener.ended && this.state === 'dialing')
          this.connect(listener, dialing.leg);
      },
    });
    this.dialing = dialing;
    // The customer left while the leg was being set up: stop ringing the target now.
    if (this.state === 'ended') dialing.cancel();
    let result = await dialing.result;
    this.dialing = undefined;
    let reason: string | undefined;
    if (result.kind === 'answered' && dest.agentId !== undefined && settings.acceptCall === 'key') {
      // A colleague's phone answered: as for an offer from the queue, only their key takes the call.
      const leg = result.leg;
      const offCustomer = this.cc.leg.on('ended', () => void leg.hangup());
      const verdict = await awaitAcceptance(leg, settings, this.hooks.sounds, []);
      offCustomer();
      if (verdict !== 'accepted') {
        this.log.info({ agentId: dest.agentId, verdict }, 'transfer answered but not accepted');
        await leg.hangup();
        result = { kind: 'no_answer', status: 200, reason: 'not_accepted' };
        reason = 'transfer_not_accepted';
      }
    }
    if (dest.agentId !== undefined)
      await this.hooks.settleReservedAgent(dest.agentId, result.kind === 'answered', reason);
    return result;
  }

  private async onDialResult(
    purpose: DialPurpose,
    mode: Exclude<ExternalTransferMode | AnnounceNumberMode, 'disabled'>,
    number: string,
    result: DialResult,
    targetAgentId: number | undefined,
  ): Promise<void> {
    if (this.state === 'ended' || this.cc.leg.ended) {
      if (result.kind === 'answered') await result.leg.hangup();
      if (targetAgentId !== undefined && result.kind === 'answered')
        await this.hooks.releaseAgent(targetAgentId);
      return;
    }
    this.log.info({ purpose, mode, number, result: result.kind }, 'transfer dial result');
    if (result.kind !== 'answered') {
      const outcome = result.reason === 'not_accepted' ? 'not_accepted' : result.kind;
      await this.record('transfer', { type: purpose, to: number, mode, outcome });
      this.cc.transfers = Math.max(0, this.cc.transfers - 1);
      return this.transferFailed();
    }
    const leg = result.leg;
    this.target = { leg, number, agentId: targetAgentId };
    leg.on('ended', () => this.bg(this.targetGone(leg)));
    if (purpose === 'external' && mode === 'consult' && this.agentLeg && !this.agentLeg.ended) {
      this.transition('consulting');
      this.connect(this.agentLeg, leg);
      return;
    }
    await this.record('transfer', { type: purpose, to: number, mode, outcome: 'connected' });
    await this.completeTransfer();
  }

  /** Customer ↔ target; the agent (if still there) is released. */
  private async completeTransfer(): Promise<void> {
    const target = this.target;
    if (!target || target.leg.ended) return this.transferFailed();
    this.transition('transferred');
    await this.releaseCurrentAgent();
    // The customer or the target hung up meanwhile: their handlers have ended the call.
    if (!this.is('transferred') || target.leg.ended || this.cc.leg.ended) return;
    this.connect(this.cc.leg, target.leg);
    if (target.agentId !== undefined) {
      // A colleague took the call: they now have the in-call menu.
      this.target = undefined;
      this.cc.agentIds.push(target.agentId);
      this.takeAgent(target.agentId, target.leg);
      this.transition('talking');
    }
  }

  /** SPEC §5: the agent gets the customer back (error beep) if still there; otherwise the queue. */
  private async transferFailed(): Promise<void> {
    if (this.agentLeg && !this.agentLeg.ended) return this.returnToAgent('error');
    await this.requeue(this.cc.department, true);
  }

  private openConsultMenu(): void {
    this.transition('consult_menu');
    this.disconnect();
    this.armMenuTimer(() => {
      // No key: back to the consultation.
      if (this.state !== 'consult_menu' || !this.target || !this.agentLeg) return;
      this.transition('consulting');
      this.connect(this.agentLeg, this.target.leg);
    });
    this.bg(this.beep(this.agentLeg, 'accept'));
  }

  /** `*` `5` in a consultation: the target is dropped and the agent is back with the customer. */
  private async dropTarget(): Promise<void> {
    const target = this.target;
    this.target = undefined;
    if (target) {
      await this.record('transfer', {
        type: 'external',
        to: target.number,
        mode: 'consult',
        outcome: 'dropped',
      });
      this.cc.transfers = Math.max(0, this.cc.transfers - 1);
      await target.leg.hangup();
      if (target.agentId !== undefined) await this.hooks.releaseAgent(target.agentId);
    }
    await this.returnToAgent();
  }

  // ── 3: announce a number to the customer ────────────────────────────────
  private async announceNumber(digits: string): Promise<void> {
    const c = this.collecting;
    const settings = await this.hooks.settings(this.cc.companyId);
    if (!this.is('collecting') || this.collecting !== c) return;
    const mode = settings.announceNumber;
    if (mode === 'disabled') return this.refuse('announce disabled');
    if (digits.length < 2) return this.refuse('announce needs at least two digits');
    const dest = await this.resolveDialled(digits, settings);
    if (!this.is('collecting') || this.collecting !== c) return;
    if (!dest) return this.refuse(`destination ${digits} not allowed`);
    this.collecting = undefined;
    this.transition('announcing');
    const ann = { number: digits, mode, tries: 0, timer: undefined };
    this.announce = ann;
    await this.beep(this.agentLeg, 'accept');
    if (!this.is('announcing') || this.announce !== ann) return;
    if (mode === 'release_agent') await this.releaseCurrentAgent();
    else this.agentLeg?.silence();
    if (!this.is('announcing') || this.announce !== ann) return;
    this.disconnect();
    this.cc.leg.setDigitHandler((d) => this.bg(this.onCustomerKey(d)));
    await this.offerAnnounced();
  }

  /** "The number is: 8, 9, 2 … To be connected press 1, to return to the agent 2, to leave star." */
  private async offerAnnounced(): Promise<void> {
    const a = this.announce;
    if (!a || this.state !== 'announcing') return;
    a.tries++;
    const ids: PromptId[] = ['announce_number', ...digitsToPromptIds(a.number), 'announce_offer'];
    const lang = this.cc.settings.language;
    const outcome = await this.cc.leg.play(this.hooks.sounds.prompts(lang, ids));
    if (outcome !== 'done' || this.state !== 'announcing' || this.announce !== a) return;
    a.timer = this.cc.leg.setTimer(() => {
      if (this.announce !== a) return;
      if (a.tries >= ANNOUNCE_TRIES) this.bg(this.onCustomerKey('2'));
      else this.bg(this.offerAnnounced());
    }, this.hooks.announceChoiceMs ?? ANNOUNCE_CHOICE_MS);
  }

  private async onCustomerKey(key: string): Promise<void> {
    const a = this.announce;
    if (!a || this.state !== 'announcing') return;
    if (key !== '1' && key !== '2' && key !== '*') return;
    this.announce = undefined;
    this.cc.leg.clearTimer(a.timer);
    this.cc.leg.setDigitHandler(null);
    this.cc.leg.silence();
    if (key === '*') {
      await this.record('transfer', {
        type: 'announce',
        to: a.number,
        mode: a.mode,
        outcome: 'customer_left',
      });
      await this.releaseCurrentAgent();
      await this.cc.leg.play(this.hooks.sounds.prompts(this.cc.settings.language, ['goodbye']));
      await this.cc.leg.hangup();
      return;
    }
    if (key === '2') {
      await this.record('transfer', { type: 'announce', to: a.number, mode: a.mode, outcome: 'back' });
      if (this.agentLeg && !this.agentLeg.ended) return this.returnToAgent();
      return this.requeue(this.cc.department, true);
    }
    const settings = await this.hooks.settings(this.cc.companyId);
    const dest = await this.resolveDialled(a.number, settings);
    if (!this.is('announcing')) return; // the customer hung up meanwhile
    if (!dest) {
      // The setting changed meanwhile: treat as "back".
      if (this.agentLeg && !this.agentLeg.ended) return this.returnToAgent('error');
      return this.requeue(this.cc.department, true);
    }
    this.transition('dialing');
    this.cc.transfers++;
    this.cc.leg.loop(this.hooks.sounds.tone('ringback'));
    const result = await this.dial(dest, settings, this.cc.leg);
    await this.onDialResult('announce', a.mode, dest.number, result, dest.agentId);
  }

  // ── hang-ups ────────────────────────────────────────────────────────────
  private async agentGone(leg: Leg): Promise<void> {
    if (leg !== this.agentLeg || this.state === 'ended') return;
    const agentId = this.agentId;
    this.agentLeg = undefined;
    this.agentId = undefined;
    // A customer going back to the queue is put at its head before the agent is freed (the
    // requeue does both, in that order); in every other case the agent is freed first.
    const requeueing =
      this.state === 'menu' ||
      this.state === 'collecting' ||
      this.state === 'waiting' ||
      (this.state === 'talking' && isDeadLeg(leg.endReason));
    if (agentId !== undefined && !requeueing) await this.hooks.releaseAgent(agentId);
    switch (this.state) {
      case 'talking':
        if (isDeadLeg(leg.endReason)) {
          // The agent's phone died (no RTP or no session refresh, no BYE): nobody ended the call
          // on purpose, so the customer is not dropped but goes back to the head of the queue.
          await this.record('complete_agent', { reason: leg.endReason }, agentId);
          return this.requeue(this.cc.department, true, agentId);
        }
        // The agent ended the call: complete.
        await this.record('complete_agent', null, agentId);
        this.disconnect();
        await this.end('answered');
        await this.cc.leg.hangup();
        return;
      case 'menu':
      case 'collecting':
      case 'waiting':
        // The customer was on hold: nobody may be dropped, back to the head of the queue.
        return this.requeue(this.cc.department, true, agentId);
      case 'consulting':
      case 'consult_menu':
        // Hanging up in a consultation completes the transfer.
        await this.record('transfer', {
          type: 'external',
          to: this.target?.number,
          mode: 'consult',
          outcome: 'connected',
        });
        return this.completeTransfer();
      default:
        // dialing / announcing carry on without the agent; their failure paths requeue.
        return;
    }
  }

  private async targetGone(leg: Leg): Promise<void> {
    const t = this.target;
    if (this.state === 'ended' || t?.leg !== leg) return;
    this.target = undefined;
    if (this.state === 'transferred' && isDeadLeg(leg.endReason)) {
      // The target's phone died: as for the agent's, the customer goes back to the head
      // (before the target is freed).
      await this.record('complete_agent', { reason: leg.endReason }, t.agentId ?? null);
      return this.requeue(this.cc.department, true, t.agentId);
    }
    if (this.state === 'transferred') {
      // Customer and target talked; the target ended the call.
      await this.record('complete_agent', null, null);
      this.disconnect();
      await this.end('transferred');
      await this.cc.leg.hangup();
      return;
    }
    // Consultation target hung up: the agent is back with the customer.
    if (t.agentId !== undefined) await this.hooks.releaseAgent(t.agentId);
    return this.transferFailed();
  }

  private async customerGone(): Promise<void> {
    if (this.state === 'ended') return;
    await this.record('complete_customer', null, this.agentId ?? null);
    this.disconnect();
    this.dialing?.cancel();
    const outcome = this.cc.transfers > 0 ? 'transferred' : 'answered';
    const legs = [this.agentLeg, this.target?.leg];
    const agents = [this.agentId, this.target?.agentId];
    await this.end(outcome);
    for (const l of legs) if (l && !l.ended) await l.hangup();
    for (const id of agents) if (id !== undefined) await this.hooks.releaseAgent(id);
  }

  // ── helpers ─────────────────────────────────────────────────────────────
  /** Runs an event handler in the background: a failure is logged, never an unhandled rejection. */
  private bg(p: Promise<unknown>): void {
    p.catch((err: unknown) => this.log.error({ err, state: this.state }, 'in-call handler failed'));
  }

  private async releaseCurrentAgent(): Promise<void> {
    const leg = this.agentLeg;
    const id = this.agentId;
    this.agentLeg = undefined;
    this.agentId = undefined;
    if (leg) {
      leg.setDigitHandler(null);
      if (this.bridge && (this.bridge.a === leg || this.bridge.b === leg)) this.disconnect();
      await leg.hangup();
    }
    if (id !== undefined) await this.hooks.releaseAgent(id);
  }

  private async requeue(department: Department, head: boolean, releasing?: number): Promise<void> {
    // Already over (ended, or requeued by a concurrent path): never queue the call twice.
    if (this.state === 'ended') {
      if (releasing !== undefined) await this.hooks.releaseAgent(releasing);
      return;
    }
    this.disconnect();
    this.cc.leg.setDigitHandler(null);
    this.transitionToEnded();
    await this.hooks.requeue(this.cc, department, head, releasing);
  }

  private async end(outcome: 'answered' | 'transferred'): Promise<void> {
    this.transitionToEnded();
    await this.hooks.finish(this.cc, outcome);
  }

  /** This session is over (the call ended or went back to a queue); later events are ignored. */
  private transitionToEnded(): void {
    this.cc.leg.clearTimer(this.menuTimer);
    if (this.announce) this.cc.leg.clearTimer(this.announce.timer);
    this.announce = undefined;
    this.state = 'ended';
    this.offCustomer();
  }

  private async record(
    kind: QueueEventKind,
    detail: Record<string, unknown> | null,
    agentId: number | null | undefined = this.agentId,
  ): Promise<void> {
    await this.hooks.record(this.cc, kind, agentId ?? null, detail ? JSON.stringify(detail) : null);
  }
}
