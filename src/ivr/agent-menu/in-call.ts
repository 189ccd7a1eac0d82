import type { Leg } from '../../call/leg.ts';
import type { ConnectedCall, CustomerCall } from '../../acd/customer-call.ts';
import type { InCallHooks } from '../../acd/in-call-port.ts';
import { InCallCore } from './in-call/session.ts';
import { ANNOUNCE_CHOICE_MS, MENU_TIMEOUT_MS, type InCallState } from './in-call/states.ts';
import { engineTelephony } from './in-call/telephony.ts';

/**
 * The in-call session Acd's factory builds once an agent answered (`acd/in-call-port.ts`):
 * the Acd hooks bound to this call, handed to the session core (`in-call/session.ts`) as its
 * ports.
 */
export class InCallSession implements ConnectedCall {
  private readonly core: InCallCore<Leg>;

  constructor(
    readonly cc: CustomerCall,
    agentId: number,
    agentLeg: Leg,
    hooks: InCallHooks,
  ) {
    this.core = new InCallCore<Leg>(
      {
        call: cc,
        desk: {
          settings: () => hooks.settings(cc.companyId),
          releaseAgent: (id) => hooks.releaseAgent(id),
          reserveAgent: (id) => hooks.reserveAgent(id),
          settleReservedAgent: (id, answered, reason) => hooks.settleReservedAgent(id, answered, reason),
          requeue: (department, head, releasing) => hooks.requeue(cc, department, head, releasing),
          finish: (outcome) => hooks.finish(cc, outcome),
          record: (kind, id, detail) => hooks.record(cc, kind, id, detail),
          toggleRecording: () => hooks.toggleRecording(cc),
        },
        telephony: engineTelephony(cc, hooks.engine, hooks.resolver, hooks.sounds),
        directory: hooks.directory,
        sounds: hooks.sounds,
        clock: hooks.clock,
        log: hooks.logger.child({ callId: cc.id }),
        menuTimeoutMs: hooks.menuTimeoutMs ?? MENU_TIMEOUT_MS,
        announceChoiceMs: hooks.announceChoiceMs ?? ANNOUNCE_CHOICE_MS,
      },
      agentId,
      agentLeg,
    );
  }

  get state(): InCallState {
    return this.core.state;
  }

  get currentAgentId(): number | undefined {
    return this.core.agent?.id;
  }

  endBySupervisor(): Promise<boolean> {
    return this.core.endBySupervisor();
  }

  dropAgent(agentId: number): Promise<boolean> {
    return this.core.dropAgent(agentId);
  }

  get talkingAgentLeg(): Leg | undefined {
    return this.core.talkingAgentLeg;
  }
}
