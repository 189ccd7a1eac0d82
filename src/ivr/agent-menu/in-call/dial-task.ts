import type { CompanySettings } from '../../../store/store.ts';
import type { DialPurpose, SessionContext } from './context.ts';
import type { Destination } from './destination.ts';
import type { DialResult, Leg } from './ports.ts';
import { Task } from './task.ts';

/** A task that rings a target for the call (`transfer-external`, `announce`). */
export abstract class DialTask<L extends Leg> extends Task {
  constructor(
    protected readonly ctx: SessionContext<L>,
    /** What the agent keyed. */
    protected readonly digits: string,
  ) {
    super(ctx.machine);
  }

  /**
   * Rings the target; early media (183) reaches `listener` while the session is dialing. A
   * colleague is reserved first and settled after (answered: busy; else ready again), and with
   * `acceptCall: key` only their key takes the call, as for an offer from the queue. A kill
   * cancels the ringing; the result still comes back, for `connect()` to clean up.
   */
  protected async dial(
    dest: Destination,
    settings: CompanySettings,
    listener: L | undefined,
  ): Promise<DialResult<L>> {
    const { desk, telephony, call, log } = this.ctx.world;
    if (dest.agentId !== undefined && !(await desk.reserveAgent(dest.agentId))) {
      return { kind: 'busy', status: 486, reason: 'Agent not available' };
    }
    const dialing = await telephony.dial(dest.contact, settings, (early) => {
      if (early && dialing?.leg && listener && !listener.ended && this.ctx.machine.is('dialing'))
        this.ctx.connect(listener, dialing.leg);
    });
    if (!dialing) {
      // The reserved colleague must not stay `offered` (and engaged) for good.
      if (dest.agentId !== undefined) await desk.settleReservedAgent(dest.agentId, false);
      return { kind: 'failed', status: 404, reason: 'No route' };
    }
    const forget = this.onKill(() => dialing.cancel());
    let result = await dialing.result;
    forget();
    let reason: string | undefined;
    if (result.kind === 'answered' && dest.agentId !== undefined && settings.acceptCall === 'key') {
      const leg = result.leg;
      const offCustomer = call.leg.on('ended', () => void leg.hangup());
      const verdict = await telephony.accept(leg, settings);
      offCustomer();
      if (verdict !== 'accepted') {
        log.info({ agentId: dest.agentId, verdict }, 'transfer answered but not accepted');
        await leg.hangup();
        result = { kind: 'no_answer', status: 200, reason: 'not_accepted' };
        reason = 'transfer_not_accepted';
      }
    }
    if (dest.agentId !== undefined)
      await desk.settleReservedAgent(dest.agentId, result.kind === 'answered', reason);
    return result;
  }

  /**
   * After the dial: a failure gives the customer back to the agent (or the queue); an answer
   * starts a consultation (`consult`, the agent still there) or puts the customer through.
   * True when a consultation began.
   */
  protected async connect(
    purpose: DialPurpose,
    dest: Destination,
    result: DialResult<L>,
    consult: boolean,
  ): Promise<boolean> {
    const { ctx } = this;
    const { call, desk, log } = ctx.world;
    const detail = { type: purpose.type, to: dest.number, mode: purpose.mode };
    if (this.killed || call.leg.ended) {
      if (result.kind === 'answered') {
        await result.leg.hangup();
        if (dest.agentId !== undefined) await desk.releaseAgent(dest.agentId);
      }
      return false;
    }
    log.info(
      { purpose: purpose.type, mode: purpose.mode, number: dest.number, result: result.kind },
      'transfer dial result',
    );
    if (result.kind !== 'answered') {
      const outcome = result.reason === 'not_accepted' ? 'not_accepted' : result.kind;
      await ctx.record('transfer', { ...detail, outcome });
      call.transfers = Math.max(0, call.transfers - 1);
      await ctx.transferFailed();
      return false;
    }
    ctx.setTarget({ leg: result.leg, number: dest.number, agentId: dest.agentId, purpose });
    const agent = ctx.agent;
    if (consult && agent && !agent.leg.ended) {
      if (!ctx.move('consulting', 'target answered')) return false;
      ctx.connect(agent.leg, result.leg);
      return true;
    }
    await ctx.record('transfer', { ...detail, outcome: 'connected' });
    await ctx.completeTransfer();
    return false;
  }
}
