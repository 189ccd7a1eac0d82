import type { Logger } from 'pino';
import type { Department, QueueEventKind } from '../../../store/store.ts';
import type { TimerHandle } from '../../../util/clock.ts';
import { StateMachine } from '../../../util/state-machine.ts';
import { Announce } from './announce.ts';
import type { Party, SessionContext, Target } from './context.ts';
import { agentGone, customerGone, endedBySupervisor, targetGone } from './hangups.ts';
import { entryRules, feedEntry, menuChoice, type EntryKind } from './keys.ts';
import type { Bridge, InCallWorld, Leg, SessionOutcome } from './ports.ts';
import { IN_CALL_TRANSITIONS, type InCallState } from './states.ts';
import type { Task } from './task.ts';
import { TransferDepartment } from './transfer-department.ts';
import { TransferExternal } from './transfer-external.ts';
import { Waiting } from './waiting.ts';

/** Moving here stops the running task: the agent (or a timeout) took the session back, or it is over. */
const KILLS_TASK: ReadonlySet<InCallState> = new Set(['talking', 'menu', 'collecting', 'ended']);

/**
 * The in-call session of one connected call (states.ts): routes the agent's keys, owns the
 * parties and the media bridge, and runs one task at a time (transfers, the announcement,
 * waiting). What the three parties' hang-ups do is hangups.ts's.
 */
export class InCallCore<L extends Leg> implements SessionContext<L> {
  readonly machine: StateMachine<InCallState>;
  readonly log: Logger;
  private current: Party<L> | undefined;
  private reached: Target<L> | undefined;
  private bridge: Bridge<L> | undefined;
  private bridgedSince: number | undefined;
  /** The agent the customer is bridged with (undefined: nobody's, or an outside number). */
  private bridgedAgent: number | undefined;
  private menuTimer: TimerHandle | undefined;
  private entry: { kind: EntryKind; digits: string; done: boolean } | undefined;
  private task: Task | undefined;
  private readonly offCustomer: () => void;

  constructor(
    readonly world: InCallWorld<L>,
    agentId: number,
    agentLeg: L,
  ) {
    this.log = world.log;
    this.machine = new StateMachine<InCallState>({
      name: 'in-call',
      initial: 'talking',
      transitions: IN_CALL_TRANSITIONS,
      clock: world.clock,
    });
    this.machine.onChange(({ from, to, reason }) => {
      this.log.debug({ from, to, reason }, 'in-call state');
      if (KILLS_TASK.has(to)) this.stopTask();
      if (to === 'ended') this.offCustomer();
    });
    this.machine.onRefused(({ from, to, reason }) => {
      // After the end every late event is refused, as it should be; before it, a refusal is a bug.
      if (from !== 'ended') this.log.warn({ from, to, reason }, 'in-call move refused');
    });
    this.offCustomer = world.call.leg.on('ended', () => this.bg(customerGone(this)));
    this.takeAgent(agentId, agentLeg);
    this.connect(world.call.leg, agentLeg);
  }

  get state(): InCallState {
    return this.machine.state;
  }

  get agent(): Party<L> | undefined {
    return this.current;
  }

  get target(): Target<L> | undefined {
    return this.reached;
  }

  /** The agent's leg while bridged with the customer in `talking` (a supervisor may hear it). */
  get talkingAgentLeg(): L | undefined {
    const agent = this.current?.leg;
    const b = this.bridge;
    const customer = this.world.call.leg;
    if (!agent || !b || !this.machine.is('talking')) return undefined;
    const pair = (b.a === agent && b.b === customer) || (b.b === agent && b.a === customer);
    return pair ? agent : undefined;
  }

  move(to: InCallState, reason: string): boolean {
    return this.machine.state === to || this.machine.transition(to, reason);
  }

  // ── parties and media ───────────────────────────────────────────────────
  private takeAgent(id: number, leg: L): void {
    this.current = { id, leg };
    leg.setDigitHandler((d) => this.bg(this.onAgentKey(d)));
    leg.on('ended', () => this.bg(agentGone(this, leg)));
  }

  connect(a: L, b: L): void {
    const customer = this.world.call.leg;
    this.disconnect();
    this.bridge = this.world.telephony.bridge(a, b);
    if (a !== customer && b !== customer) return;
    this.bridgedSince = this.world.clock.wallNow();
    const other = a === customer ? b : a;
    this.bridgedAgent =
      this.current?.leg === other
        ? this.current.id
        : this.reached?.leg === other
          ? this.reached.agentId
          : undefined;
  }

  disconnect(): void {
    this.bridge?.unbridge();
    this.bridge = undefined;
    if (this.bridgedSince !== undefined) {
      const ms = this.world.clock.wallNow() - this.bridgedSince;
      const { call } = this.world;
      call.talkMs += ms;
      if (this.bridgedAgent !== undefined)
        call.agentTalkMs.set(this.bridgedAgent, (call.agentTalkMs.get(this.bridgedAgent) ?? 0) + ms);
      this.bridgedSince = this.bridgedAgent = undefined;
    }
  }

  beep(leg: L | undefined, kind: 'accept' | 'error'): Promise<unknown> {
    if (!leg || leg.ended) return Promise.resolve();
    return leg.play(this.world.sounds.tone(kind));
  }

  setTarget(target: Target<L>): void {
    this.reached = target;
    target.leg.on('ended', () => this.bg(targetGone(this, target.leg)));
  }

  forgetAgent(): Party<L> | undefined {
    const a = this.current;
    this.current = undefined;
    return a;
  }

  dropTarget(): Target<L> | undefined {
    const t = this.reached;
    this.reached = undefined;
    return t;
  }

  private run(task: Task): void {
    this.stopTask();
    this.task = task;
    this.bg(task.exec());
  }

  private stopTask(): void {
    this.task?.kill();
    this.task = undefined;
  }

  /** Re-arms the menu's 10 s: no key in time, back to the customer. */
  private armMenuTimer(): void {
    this.machine.disarm(this.menuTimer);
    this.menuTimer = this.machine.arm(this.world.menuTimeoutMs, () => {
      this.log.debug({ state: this.state }, 'agent menu timeout');
      this.bg(this.returnToAgent());
    });
  }

  async returnToAgent(beep: 'accept' | 'error' = 'accept'): Promise<void> {
    const agent = this.current;
    const customer = this.world.call.leg;
    if (!agent || agent.leg.ended || !this.move('talking', 'back to the agent')) return;
    this.entry = undefined;
    this.disconnect();
    customer.silence();
    await this.beep(agent.leg, beep);
    if (this.machine.is('talking') && !agent.leg.ended && !customer.ended) this.connect(customer, agent.leg);
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
        return this.onEntryKey(key);
      case 'waiting':
      case 'consulting':
      case 'consult_menu':
        return this.task?.agentKey(key);
      case 'dialing':
      case 'announcing':
      case 'transferred':
      case 'ended':
        return;
    }
  }

  async openMenu(): Promise<void> {
    if (!this.move('menu', 'agent *')) return;
    this.entry = undefined;
    this.disconnect();
    this.world.call.leg.loop(this.world.sounds.music());
    this.armMenuTimer();
    await this.beep(this.current?.leg, 'accept');
  }

  private async onMenuKey(key: string): Promise<void> {
    this.armMenuTimer();
    const choice = menuChoice(key);
    switch (choice) {
      case 'external':
      case 'department':
      case 'announce':
        if (!this.move('collecting', `menu ${key}`)) return;
        this.entry = { kind: choice, digits: '', done: false };
        this.armMenuTimer();
        return;
      case 'wait':
        if (!this.move('waiting', 'menu 4')) return;
        this.run(new Waiting(this));
        await this.record('hold', null);
        return;
      case 'back':
        return this.returnToAgent();
      case 'record': {
        // Back to the customer either way: a beep says it worked, an error beep that it did not.
        const r = await this.world.desk.toggleRecording();
        this.log.info({ recording: r }, 'agent *7');
        return this.returnToAgent(r === 'started' || r === 'stopped' ? 'accept' : 'error');
      }
      case undefined:
        await this.beep(this.current?.leg, 'error');
    }
  }

  private async onEntryKey(key: string): Promise<void> {
    const entry = this.entry;
    if (!entry) return;
    this.armMenuTimer();
    const step = feedEntry(entryRules(entry.kind, this.world.menuTimeoutMs), entry.digits, key);
    // Start again from the menu.
    if (step.kind === 'restart') return this.openMenu();
    if (step.kind === 'refuse') return this.refuse();
    // What the agent keys once the entry is complete waits for its task.
    if (entry.done) return;
    entry.digits = step.digits;
    if (step.kind === 'more') return;
    entry.done = true;
    if (entry.kind === 'external') this.run(new TransferExternal(this, step.digits));
    else if (entry.kind === 'department') this.run(new TransferDepartment(this, step.digits));
    else this.run(new Announce(this, step.digits));
  }

  async refuse(why?: string): Promise<void> {
    if (why) this.log.info({ why }, 'agent menu entry refused');
    if (!this.move('menu', 'entry refused')) return;
    this.entry = undefined;
    this.armMenuTimer();
    await this.beep(this.current?.leg, 'error');
  }

  // ── transfers ───────────────────────────────────────────────────────────
  async completeTransfer(): Promise<void> {
    const target = this.reached;
    if (!target || target.leg.ended) return this.transferFailed();
    if (!this.move('transferred', 'target connected')) return;
    await this.releaseAgent();
    // The customer or the target hung up meanwhile: their handlers have ended the call.
    if (!this.machine.is('transferred') || target.leg.ended || this.world.call.leg.ended) return;
    this.connect(this.world.call.leg, target.leg);
    if (target.agentId !== undefined) {
      // A colleague took the call: they now have the in-call menu.
      this.reached = undefined;
      this.world.call.agentIds.push(target.agentId);
      this.takeAgent(target.agentId, target.leg);
      this.move('talking', 'colleague took the call');
    }
  }

  async transferFailed(): Promise<void> {
    const agent = this.current;
    if (agent && !agent.leg.ended) return this.returnToAgent('error');
    await this.requeue(this.world.call.department, true);
  }

  // ── supervisor ──────────────────────────────────────────────────────────
  /** A supervisor ends the call for everyone. */
  endBySupervisor(): Promise<boolean> {
    return endedBySupervisor(this);
  }

  /**
   * A supervisor takes an agent out: their leg ends as `supervisor`, which the hang-up handlers
   * treat as a phone that died (the customer back at the head of the queue, never dropped).
   */
  async dropAgent(agentId: number): Promise<boolean> {
    if (this.machine.final) return false;
    const leg =
      this.current?.id === agentId
        ? this.current.leg
        : this.reached?.agentId === agentId
          ? this.reached.leg
          : undefined;
    if (!leg) return false;
    await leg.hangup('supervisor');
    return true;
  }

  // ── helpers ─────────────────────────────────────────────────────────────
  bg(p: Promise<unknown>): void {
    p.catch((err: unknown) => this.log.error({ err, state: this.state }, 'in-call handler failed'));
  }

  async releaseAgent(): Promise<void> {
    const agent = this.current;
    this.current = undefined;
    if (!agent) return;
    agent.leg.setDigitHandler(null);
    if (this.bridge && (this.bridge.a === agent.leg || this.bridge.b === agent.leg)) this.disconnect();
    await agent.leg.hangup();
    await this.world.desk.releaseAgent(agent.id);
  }

  async requeue(department: Department, head: boolean, releasing?: number): Promise<void> {
    // Already over (ended, or requeued by a concurrent path): never queue the call twice.
    if (!this.machine.transition('ended', 'requeue')) {
      if (releasing !== undefined) await this.world.desk.releaseAgent(releasing);
      return;
    }
    this.disconnect();
    this.world.call.leg.setDigitHandler(null);
    await this.world.desk.requeue(department, head, releasing);
  }

  /** Ends the session and the call; a second end (two hang-ups at once) finishes nothing twice. */
  async end(outcome: SessionOutcome): Promise<void> {
    if (this.machine.transition('ended', outcome)) await this.world.desk.finish(outcome);
  }

  async record(
    kind: QueueEventKind,
    detail: Record<string, unknown> | null,
    agentId: number | null | undefined = this.current?.id,
  ): Promise<void> {
    await this.world.desk.record(kind, agentId ?? null, detail ? JSON.stringify(detail) : null);
  }
}
