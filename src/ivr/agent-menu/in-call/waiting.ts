import type { SessionContext } from './context.ts';
import type { Leg } from './ports.ts';
import { Task } from './task.ts';

/** `* 4`: the customer stays on hold, the agent hears silence until `*` (the menu) or `5` (back). */
export class Waiting<L extends Leg> extends Task {
  readonly name = 'waiting';

  constructor(private readonly ctx: SessionContext<L>) {
    super(ctx.machine);
  }

  protected async run(): Promise<void> {
    this.ctx.agent?.leg.silence();
  }

  override async agentKey(key: string): Promise<void> {
    if (key === '*') return this.ctx.openMenu();
    if (key === '5') return this.ctx.returnToAgent();
  }
}
