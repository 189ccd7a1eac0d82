import type { Logger } from 'pino';
import type { MonitorTarget } from '../../acd/acd.ts';
import type { AgentAvailability } from '../../acd/availability.ts';
import type { ContactResolver } from '../../call/contact-resolver.ts';
import type { CallEngine, Dialing } from '../../call/engine.ts';
import type { Leg } from '../../call/leg.ts';
import type { MonitorMode } from '../../media/media-session.ts';
import type { Agent, DirectoryStore } from '../../store/store.ts';
import type { Clock } from '../../util/clock.ts';
import { StatefulFlow, type TransitionTable } from '../../util/state-machine.ts';
import { hearCall } from './monitor.ts';

/**
 * Monitoring started from the console (issue 14 item 4): we call the supervisor's phone and, once
 * they answer, they hear the agent's call exactly as after key 9 in the service menu (./monitor.ts:
 * 1/2/3 change the mode, `*` or a hang-up end it). Their media is opened next to the customer's
 * (`near`), so with media workers no session has to move. The call's end hangs the supervisor up.
 *
 *   ringing ──▶ hearing ──▶ ended
 *      └────────────────────▲      (no answer, the monitored call ended while ringing)
 */
export type MonitorCallState = 'ringing' | 'hearing' | 'ended';

export const MONITOR_CALL_TRANSITIONS: TransitionTable<MonitorCallState> = {
  ringing: ['hearing', 'ended'],
  hearing: ['ended'],
  ended: [],
};

export interface MonitorCallDeps {
  engine: Pick<CallEngine, 'dial'>;
  resolver: Pick<ContactResolver, 'resolve'>;
  directory: Pick<DirectoryStore, 'getCompany'>;
  /** The supervisor is offered no customer call while their phone rings or hears (as in the service IVR). */
  availability: Pick<AgentAvailability, 'enterMenu' | 'leaveMenu'>;
  /** The call an agent talks in now (Acd.monitorTarget). */
  target(agentId: number): MonitorTarget | undefined;
  clock: Clock;
  logger: Logger;
}

/** What asking for a monitoring call gives: the supervisor's phone rings, or why it does not. */
export type MonitorCallStart =
  { kind: 'calling'; callId: string } | { kind: 'no_call' } | { kind: 'no_route'; contact: string };

/** One call to a supervisor's phone to hear one agent's call. */
class MonitorCall extends StatefulFlow<MonitorCallState> {
  constructor(
    private readonly deps: MonitorCallDeps,
    private readonly supervisor: Agent,
    private readonly agent: Agent,
    private readonly callId: string,
    private readonly mode: MonitorMode,
  ) {
    super({
      name: 'monitor-call',
      initial: 'ringing',
      transitions: MONITOR_CALL_TRANSITIONS,
      clock: deps.clock,
    });
  }

  /** Waits for the answer, then hears the call until monitoring ends; the supervisor is hung up after. */
  async run(dialing: Dialing, target: MonitorTarget): Promise<void> {
    const log = this.deps.logger;
    const ids = { supervisor: this.supervisor.login, agent: this.agent.login, callId: this.callId };
    // The call ending while the supervisor's phone rings: nothing left to hear.
    const stopRinging = (): void => {
      if (this.machine.is('ringing')) dialing.cancel();
    };
    const offs = [target.customer.on('ended', stopRinging), target.agent.on('ended', stopRinging)];
    const result = await dialing.result;
    offs.forEach((off) => off());
    if (result.kind !== 'answered') {
      this.machine.transition('ended', result.kind);
      log.debug({ ...ids, result: result.kind, status: result.status }, 'monitoring call not answered');
      return;
    }
    const leg: Leg = result.leg;
    // The agent may have transferred or the call ended meanwhile: hear only the same call's agent.
    const now = this.deps.target(this.agent.id);
    if (!this.machine.transition('hearing', 'answered') || now?.callId !== this.callId) {
      this.machine.transition('ended', 'call gone');
      log.debug(ids, 'monitoring call answered after the call was gone');
      await leg.hangup();
      return;
    }
    await hearCall(
      leg,
      { supervisor: this.supervisor.login, agent: this.agent.login },
      now,
      this.mode,
      this.deps,
    );
    this.machine.transition('ended', 'monitoring ended');
    if (!leg.ended) await leg.hangup();
  }
}

/** Calls supervisors' phones for the console's listen/whisper/barge. */
export class MonitorCalls {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: MonitorCallDeps) {}

  /**
   * Rings `supervisor`'s phone (their session contact or contact) to hear `agent`'s call in `mode`;
   * resolves once the phone is being called. The caller checks who may monitor whom.
   */
  async call(supervisor: Agent, agent: Agent, mode: MonitorMode): Promise<MonitorCallStart> {
    const { deps } = this;
    const target = deps.target(agent.id);
    if (!target) return { kind: 'no_call' };
    const company = await deps.directory.getCompany(supervisor.companyId);
    const contact = supervisor.sessionContact ?? supervisor.contact;
    const targets = deps.resolver.resolve(contact, supervisor.companyId, company?.settings.country);
    if (!targets.length) {
      deps.logger.warn({ supervisor: supervisor.login, contact }, 'no route to the supervisor phone');
      return { kind: 'no_route', contact };
    }
    await deps.availability.enterMenu(supervisor.id);
    const dialing = await deps.engine.dial({
      targets,
      callerId: { user: agent.login, displayName: `Monitor ${agent.login}` },
      near: target.customer,
      timeoutMs: (company?.settings.ringSeconds ?? 20) * 1000,
    });
    const flow = new MonitorCall(deps, supervisor, agent, target.callId, mode);
    const run = flow
      .run(dialing, target)
      .catch((err: unknown) => deps.logger.error({ err, callId: target.callId }, 'monitoring call failed'))
      .then(() => deps.availability.leaveMenu(supervisor.id))
      .finally(() => this.running.delete(run));
    this.running.add(run);
    deps.logger.info(
      { supervisor: supervisor.login, agent: agent.login, callId: target.callId, mode },
      'calling the supervisor to monitor',
    );
    return { kind: 'calling', callId: target.callId };
  }

  /** Settles once no monitoring call is running (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.running]);
  }
}
