import type { SessionContext } from './context.ts';
import type { Leg } from './ports.ts';
import { Task } from './task.ts';

/** `* 2 <code>`: the customer goes to the back of another department's queue; the agent leaves. */
export class TransferDepartment<L extends Leg> extends Task {
  readonly name = 'transfer-department';

  constructor(
    private readonly ctx: SessionContext<L>,
    private readonly code: string,
  ) {
    super(ctx.machine);
  }

  protected async run(): Promise<void> {
    const { ctx, code } = this;
    const { world } = ctx;
    const department = await this.step(world.directory.getDepartmentByCode(world.call.companyId, code));
    if (!department) return ctx.refuse(`unknown department ${code}`);
    await ctx.beep(ctx.agent?.leg, 'accept');
    await ctx.record('transfer', { type: 'department', to: code, outcome: 'queued' });
    this.alive();
    world.call.transfers++;
    await ctx.releaseAgent();
    await ctx.requeue(department, false);
  }
}
