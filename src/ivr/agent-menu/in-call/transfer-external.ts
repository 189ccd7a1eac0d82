import { resolveDestination } from './destination.ts';
import { DialTask } from './dial-task.ts';
import { TRANSFER_POLICIES, type TransferMode } from './policy.ts';
import type { Leg } from './ports.ts';

/**
 * `* 1 <number> #`: the customer to an external number or a colleague's short number, the way
 * the company's `externalTransfer` mode says (its row in `TRANSFER_POLICIES`). In a
 * consultation the task stays with the session for the agent's keys: `*` opens the consult
 * menu (the target waits unheard), `5` there drops the target, no key goes back.
 */
export class TransferExternal<L extends Leg> extends DialTask<L> {
  readonly name = 'transfer-external';
  private mode: TransferMode | undefined;

  protected async run(): Promise<void> {
    const { ctx, digits } = this;
    const { world } = ctx;
    const settings = await this.step(world.desk.settings());
    const mode = settings.externalTransfer;
    if (mode === 'disabled') return ctx.refuse('external transfer disabled');
    const dest = await this.step(resolveDestination(world, digits, settings, ctx.agent?.id));
    if (!dest) return ctx.refuse(`destination ${digits} not allowed`);
    const policy = TRANSFER_POLICIES[mode];
    this.mode = mode;
    if (!ctx.move('dialing', 'transfer-external')) return;
    world.call.transfers++;
    if (policy.releaseAgent === 'before_dial') await ctx.releaseAgent();
    const listener = policy.ringback === 'customer' ? world.call.leg : ctx.agent?.leg;
    listener?.loop(world.sounds.tone('ringback'));
    const result = await this.dial(dest, settings, listener);
    await this.connect({ type: 'external', mode }, dest, result, policy.consult);
  }

  override async agentKey(key: string): Promise<void> {
    const { ctx } = this;
    if (ctx.machine.is('consulting')) {
      if (key === '*') this.openConsultMenu();
      return;
    }
    if (!ctx.machine.is('consult_menu')) return;
    if (key === '5') return this.dropTarget();
    await ctx.beep(ctx.agent?.leg, 'error');
  }

  private openConsultMenu(): void {
    const { ctx } = this;
    if (!ctx.move('consult_menu', 'agent *')) return;
    ctx.disconnect();
    this.arm(ctx.world.menuTimeoutMs, () => {
      // No key: back to the consultation.
      const { agent, target } = ctx;
      if (agent && target && ctx.move('consulting', 'consult menu timeout'))
        ctx.connect(agent.leg, target.leg);
    });
    ctx.bg(ctx.beep(ctx.agent?.leg, 'accept'));
  }

  /** `* 5` in a consultation: the target is dropped and the agent is back with the customer. */
  private async dropTarget(): Promise<void> {
    const { ctx } = this;
    const target = ctx.dropTarget();
    if (target) {
      await ctx.record('transfer', {
        type: 'external',
        to: target.number,
        mode: this.mode,
        outcome: 'dropped',
      });
      ctx.world.call.transfers = Math.max(0, ctx.world.call.transfers - 1);
      await target.leg.hangup();
      if (target.agentId !== undefined) await ctx.world.desk.releaseAgent(target.agentId);
    }
    await ctx.returnToAgent();
  }
}
