import type { Logger } from 'pino';
import type { InboundCall } from '../../call/engine.ts';
import type { Leg } from '../../call/leg.ts';
import type { Sounds } from '../../call/sounds.ts';
import type { CollectResult } from '../../call/digits.ts';
import type { AgentStateMachine } from '../../acd/agent-state.ts';
import type { AgentAvailability } from '../../acd/availability.ts';
import type { MonitorTarget } from '../../acd/acd.ts';
import { hearCall } from './monitor.ts';
import type { Agent, AgentState, AuthStore, DirectoryStore, Language } from '../../store/store.ts';
import { MIN_PIN_LENGTH, pinProblem } from '../../store/pin.ts';
import { LOCKOUT_POLICY, CALLER_LOCKOUT_POLICY } from '../../store/lockout.ts';
import { E164, contactSchema } from '../../store/validation.ts';
import { isAppError } from '../../util/errors.ts';
import type { Clock } from '../../util/clock.ts';
import { StatefulFlow, type TransitionTable } from '../../util/state-machine.ts';
import { stateToPromptId, type PromptId } from '../../call/prompts.ts';

/** Timeouts of the service IVR (SPEC §4); tests shorten them. */
export interface ServiceIvrTimings {
  /** Wait for the first key after a question. */
  firstDigitMs: number;
  /** Wait between keys (SPEC: 5 s). */
  interDigitMs: number;
  /** Wait for a menu key after the menu hint before repeating it. */
  menuIdleMs: number;
}

export const DEFAULT_IVR_TIMINGS: ServiceIvrTimings = {
  firstDigitMs: 10_000,
  interDigitMs: 5_000,
  menuIdleMs: 8_000,
};

/** Failed attempts (unknown login, wrong PIN, no input) before the call ends. */
export const MAX_ATTEMPTS = 3;
/** Menu hints in a row without a key before the call ends. */
export const MAX_IDLE_MENUS = 3;

/**
 * The phases a service-IVR call moves through. A self-move asks again (another
 * login, another PIN, the menu hint once more). The caller hanging up moves any
 * phase to `ended` at once, so the script learns it from the next move it tries.
 */
export type IvrPhase =
  | 'identify_login'
  | 'identify_pin'
  | 'menu'
  | 'pin_new'
  | 'pin_repeat'
  /** Key 9 (supervisors): the agent's short number or login, then #. */
  | 'monitor_select'
  /** Hearing the agent's call (./monitor.ts) until *, a hang-up or the call's end. */
  | 'monitoring'
  | 'ending'
  | 'ended';

export const IVR_PHASES: TransitionTable<IvrPhase> = {
  identify_login: ['identify_login', 'identify_pin', 'ending', 'ended'],
  identify_pin: ['identify_login', 'identify_pin', 'menu', 'ending', 'ended'],
  menu: ['menu', 'pin_new', 'monitor_select', 'ending', 'ended'],
  monitor_select: ['monitoring', 'menu', 'ended'],
  monitoring: ['menu', 'ended'],
  pin_new: ['pin_repeat', 'menu', 'ended'],
  pin_repeat: ['menu', 'ended'],
  ending: ['ended'],
  ended: [],
};

/** Menu keys and the state each one chooses (SPEC §4; 0 is ours, not the seed's). */
const STATE_KEYS: Record<string, { to: AgentState; reason: string }> = {
  '1': { to: 'logged_out', reason: 'ivr_logout' },
  '3': { to: 'temporarily_not_ready', reason: 'ivr_break' },
  '4': { to: 'not_ready', reason: 'ivr_not_ready' },
  '0': { to: 'ready', reason: 'ivr_ready' },
};

export interface ServiceIvrDeps {
  directory: DirectoryStore;
  auth: AuthStore;
  agentStates: AgentStateMachine;
  sounds: Sounds;
  clock: Clock;
  logger: Logger;
  timings: ServiceIvrTimings;
  /** Language before we know the agent's company. */
  defaultLanguage: Language;
  /** Told when an agent enters and leaves the service IVR: never offered customer calls meanwhile. */
  availability: Pick<AgentAvailability, 'enterMenu' | 'leaveMenu'>;
  /**
   * Whether `user` has a live registration from `address`: a call from a
   * registered SIP phone then identifies and reaches the agent as `sip:user`
   * (its From user is no phone number).
   */
  registeredFrom?: (user: string, address: string) => boolean;
  /** The call an agent talks in now, for a supervisor's key 9; absent: key 9 is unknown. */
  monitoring?: { target(agentId: number): MonitorTarget | undefined };
}

/**
 * One call to the agents' service number: identification (caller id or login),
 * PIN, then the status menu. SPEC §4 and seed section 1.
 *
 * An async script whose phase is a StateMachine: every phase change is a
 * `transition()`, and after an await the script goes on only if its next move
 * is still allowed (a hang-up meanwhile has ended the machine).
 */
export class ServiceIvrSession extends StatefulFlow<IvrPhase> {
  private lang: Language;
  private attempts = 0;
  private agent: Agent | undefined;
  private readonly leg: Leg;

  constructor(
    private readonly call: InboundCall,
    private readonly deps: ServiceIvrDeps,
  ) {
    super({ name: 'service-ivr', initial: 'identify_login', transitions: IVR_PHASES, clock: deps.clock });
    this.leg = call.leg;
    this.lang = deps.defaultLanguage;
    this.machine.onRefused(({ from, to, reason }) =>
      deps.logger.debug({ from, to, reason }, 'service IVR: move refused'),
    );
    this.leg.on('ended', () => this.machine.transition('ended', 'hangup'));
  }

  get phase(): IvrPhase {
    return this.machine.state;
  }

  private move(to: IvrPhase, reason: string): boolean {
    return this.machine.transition(to, reason);
  }

  private say(ids: PromptId[], bargeIn = true): Promise<unknown> {
    return this.leg.play(this.deps.sounds.prompts(this.lang, ids), { bargeIn });
  }

  private ask(ids: PromptId[], max = 16): Promise<CollectResult> {
    const { timings } = this.deps;
    return this.say(ids).then(() =>
      this.leg.collect({
        max,
        terminator: '#',
        firstDigitTimeoutMs: timings.firstDigitMs,
        interDigitTimeoutMs: timings.interDigitMs,
      }),
    );
  }

  async run(): Promise<void> {
    if (!(await this.call.answer())) {
      this.move('ended', 'not answered');
      return;
    }
    // Keys are not logged in the service IVR (only how many), except the login
    // number: a PIN may come at any time, typed ahead of its prompt.
    this.leg.secretInput(true);
    try {
      const agent = await this.identify();
      if (!agent || !this.move('menu', 'PIN accepted')) return;
      this.agent = agent;
      await this.deps.availability.enterMenu(agent.id);
      await this.login(agent);
      await this.menu();
    } finally {
      this.leg.secretInput(false);
      if (this.agent) await this.deps.availability.leaveMenu(this.agent.id);
      // Idempotent (nothing to do when the caller hung up); the leg ending ends the machine.
      await this.leg.hangup();
    }
  }

  /** Counts a failure; true when the caller still has attempts left. */
  private async fail(prompt: PromptId | undefined): Promise<boolean> {
    this.attempts++;
    if (prompt) await this.say([prompt], false);
    if (this.attempts >= MAX_ATTEMPTS) {
      await this.goodbye();
      return false;
    }
    return true;
  }

  private async goodbye(): Promise<void> {
    if (this.move('ending', 'goodbye')) await this.say(['goodbye'], false);
  }

  /** `sip:user` when the call comes from a phone registered as its From user (issue 10). */
  private get sipContact(): string | undefined {
    const user = this.call.caller;
    if (!user || !this.deps.registeredFrom?.(user, this.call.invite.source.address)) return undefined;
    return `sip:${user}`;
  }

  /** Caller id first (exactly one agent with that contact), else login id + PIN. */
  private async identify(): Promise<Agent | undefined> {
    const { directory } = this.deps;
    const callerContact = this.sipContact ?? this.call.caller;
    const byCaller = callerContact ? await directory.findAgentsByContact(callerContact) : [];
    const known = byCaller.length === 1 ? byCaller[0] : undefined;
    for (;;) {
      let agent = known;
      if (!agent) {
        if (!this.move('identify_login', 'ask login')) return undefined;
        this.leg.secretInput(false);
        const login = await this.ask(['enter_login']);
        this.leg.secretInput(true);
        if (login.reason === 'hangup') return undefined;
        if (login.digits === '') {
          if (!(await this.fail(undefined))) return undefined;
          continue;
        }
        agent = (await directory.getAgentByLogin(login.digits)) ?? undefined;
        if (!agent) {
          if (!(await this.fail('unknown_login'))) return undefined;
          continue;
        }
      }
      if (!this.move('identify_pin', known ? 'caller id' : 'login')) return undefined;
      await this.useCompanyLanguage(agent);
      // A courtesy: a locked caller is not asked for a PIN. The check that counts is attemptPin's.
      if (await this.isLocked(agent)) return this.refuseLocked(agent, []);
      const pin = await this.ask(['enter_pin'], 8);
      if (pin.reason === 'hangup') return undefined;
      const verdict =
        pin.digits === ''
          ? undefined
          : await directory.attemptPin({
              login: agent.login,
              pin: pin.digits,
              at: this.deps.clock.wallNow(),
              callerId: this.call.caller,
            });
      if (verdict?.result === 'ok') return agent;
      // Locked meanwhile (other calls took the last attempts): refused unchecked, right PIN or not.
      if (verdict?.result === 'locked') return this.refuseLocked(agent, []);
      this.deps.logger.info({ login: agent.login }, 'service IVR: wrong PIN');
      if (verdict?.result === 'wrong' && (verdict.lockedLogin || verdict.lockedCaller)) {
        this.warnLocked(agent, verdict.lockedLogin, verdict.lockedCaller);
        return this.refuseLocked(agent, ['wrong_pin']);
      }
      if (!(await this.fail('wrong_pin'))) return undefined;
      this.leg.flushDigits();
    }
  }

  private async isLocked(agent: Agent): Promise<boolean> {
    const until = await this.deps.directory.pinLockedUntil(
      agent.login,
      this.call.caller,
      this.deps.clock.wallNow(),
    );
    return until !== null;
  }

  private async refuseLocked(agent: Agent, before: PromptId[]): Promise<undefined> {
    this.deps.logger.info({ login: agent.login, callerId: this.call.caller }, 'service IVR: locked, refused');
    await this.say([...before, 'locked'], false);
    await this.goodbye();
    return undefined;
  }

  /** Once per lock, for the operator: someone may be guessing PINs (never the PIN itself). */
  private warnLocked(agent: Agent, login: boolean, caller: boolean): void {
    const { logger } = this.deps;
    const callerId = this.call.caller;
    if (login) {
      const { maxFailures, lockMs } = LOCKOUT_POLICY;
      logger.warn(
        { login: agent.login, callerId, minutes: lockMs / 60_000 },
        `service IVR: login locked after ${maxFailures} wrong PINs`,
      );
    }
    if (caller) {
      const { maxFailures, lockMs } = CALLER_LOCKOUT_POLICY;
      logger.warn(
        { login: agent.login, callerId, minutes: lockMs / 60_000 },
        `service IVR: caller id locked after ${maxFailures} wrong PINs across logins`,
      );
    }
  }

  private async useCompanyLanguage(agent: Agent): Promise<void> {
    const company = await this.deps.directory.getCompany(agent.companyId);
    if (company) this.lang = company.settings.language;
  }

  /** SPEC §4: a successful login makes a logged-out agent ready and records the session contact. */
  private async login(agent: Agent): Promise<void> {
    const { directory, agentStates } = this.deps;
    const company = await directory.getCompany(agent.companyId);
    // A registered SIP phone is reached through its registration, never by its From user as a number.
    // Otherwise the caller id (normalised already: 8495… → +7495…) if it is a number we can call back;
    // one that is not (anonymous, a short number) leaves the profile contact rather than failing the login.
    const callerContact = this.sipContact ?? (E164.test(this.call.caller) ? this.call.caller : undefined);
    let contact = company?.settings.deliverTo === 'profile' || !callerContact ? agent.contact : callerContact;
    if (!callerContact && company?.settings.deliverTo !== 'profile')
      this.deps.logger.info(
        { login: agent.login, callerId: this.call.caller || 'anonymous' },
        'service IVR: caller id is no callable number, calls go to the profile contact',
      );
    if (!contactSchema.safeParse(contact).success) {
      this.deps.logger.warn(
        { login: agent.login, callerId: this.call.caller },
        'service IVR: caller id is no number and no registered SIP user: using the profile contact',
      );
      contact = agent.contact;
    }
    await directory.setSessionContact(agent.id, contact);
    const current = await agentStates.getState(agent.id);
    if (current.state === 'logged_out') {
      await agentStates.transition(agent.id, 'ready', { reason: 'ivr_login', source: 'ivr' });
    }
    this.deps.logger.info({ login: agent.login, contact }, 'service IVR: agent logged in');
    await this.say(['registered']);
  }

  private async menu(): Promise<void> {
    let idle = 0;
    // Each round re-enters `menu`: refused once the caller hung up or the call is ending.
    while (this.move('menu', 'menu hint')) {
      await this.say(['main_menu']);
      const key = await this.leg.collect({
        max: 1,
        firstDigitTimeoutMs: this.deps.timings.menuIdleMs,
        interDigitTimeoutMs: 1,
      });
      if (key.reason === 'hangup') return;
      if (key.digits === '') {
        if (++idle >= MAX_IDLE_MENUS) return this.goodbye();
        continue;
      }
      idle = 0;
      await this.onMenuKey(key.digits);
    }
  }

  private async onMenuKey(key: string): Promise<void> {
    const agent = this.agent;
    if (!agent) return;
    if (key === '*') {
      // Leave the menu: the state stays as it is.
      return this.goodbye();
    }
    if (key === '2') return this.changePin(agent);
    if (key === '9') return this.monitor(agent);
    const choice = STATE_KEYS[key];
    if (!choice) {
      await this.leg.play(this.deps.sounds.tone('error'));
      return;
    }
    try {
      await this.deps.agentStates.transition(agent.id, choice.to, { reason: choice.reason, source: 'ivr' });
      if (choice.to === 'logged_out') await this.deps.directory.setSessionContact(agent.id, null);
    } catch (err) {
      if (!isAppError(err, 'invalid_transition')) throw err;
      await this.leg.play(this.deps.sounds.tone('error'));
    }
    await this.sayState(agent);
  }

  private async sayState(agent: Agent): Promise<void> {
    const { state } = await this.deps.agentStates.getState(agent.id);
    const id = stateToPromptId(state);
    await this.say(id ? ['state_is', id] : ['state_is']);
  }

  /**
   * Key 9, for supervisors only (the flag is read again: it may have been taken away since the
   * login): the accept beep, then an agent's short number or login and #; the supervisor hears
   * that agent's call (./monitor.ts) until *, a hang-up or the call's end, then the menu again.
   * Someone who is no supervisor, an unknown agent, another company's or one in no call: the
   * error beep, back to the menu.
   */
  private async monitor(login: Agent): Promise<void> {
    const { directory, timings, monitoring } = this.deps;
    const supervisor = await directory.getAgent(login.id);
    if (!supervisor?.supervisor || !monitoring) {
      await this.leg.play(this.deps.sounds.tone('error'));
      return;
    }
    if (!this.move('monitor_select', 'key 9')) return;
    await this.leg.play(this.deps.sounds.tone('accept'));
    const entry = await this.leg.collect({
      max: 12,
      terminator: '#',
      firstDigitTimeoutMs: timings.firstDigitMs,
      interDigitTimeoutMs: timings.interDigitMs,
    });
    if (entry.reason === 'hangup') return;
    const digits = entry.digits;
    const agent =
      digits === ''
        ? null
        : ((await directory.getAgentByShortNumber(supervisor.companyId, digits)) ??
          (await directory.getAgentByLogin(digits)));
    const target =
      agent && agent.companyId === supervisor.companyId && agent.id !== supervisor.id
        ? monitoring.target(agent.id)
        : undefined;
    if (!agent || !target) {
      this.deps.logger.info(
        { supervisor: supervisor.login, entry: digits },
        'monitoring refused: no such call',
      );
      await this.leg.play(this.deps.sounds.tone('error'));
      return;
    }
    if (!this.move('monitoring', 'agent picked')) return;
    await this.hear(supervisor, agent.login, target);
  }

  private async hear(supervisor: Agent, agentLogin: string, target: MonitorTarget): Promise<void> {
    const who = { supervisor: supervisor.login, agent: agentLogin };
    const why = await hearCall(this.leg, who, target, 'listen', this.deps);
    if (why === undefined && !this.leg.ended) await this.leg.play(this.deps.sounds.tone('error'));
  }

  /** Key 2: new PIN, then again; refused with a reason when they differ, it is weak or too short. */
  private async changePin(agent: Agent): Promise<void> {
    if (!this.move('pin_new', 'key 2')) return;
    const company = await this.deps.directory.getCompany(agent.companyId);
    const first = await this.ask(['new_pin'], 8);
    if (first.reason === 'hangup') return;
    const problem = pinProblem(first.digits, company?.settings.minPinLength ?? MIN_PIN_LENGTH);
    if (problem) {
      // No prompt of its own for "too short": "too simple" covers it.
      this.deps.logger.info({ login: agent.login, problem }, 'service IVR: new PIN refused');
      await this.say(['pin_weak'], false);
      this.move('menu', 'new PIN refused');
      return;
    }
    if (!this.move('pin_repeat', 'new PIN')) return;
    const second = await this.ask(['repeat_pin'], 8);
    if (second.reason === 'hangup') return;
    if (second.digits !== first.digits) {
      await this.say(['pin_mismatch'], false);
    } else {
      await this.deps.directory.setPin(agent.login, first.digits);
      this.deps.logger.info({ login: agent.login }, 'service IVR: PIN changed');
      await this.say(['pin_changed'], false);
    }
    this.move('menu', 'PIN change done');
  }
}
