import { digitsToPromptIds, type PromptId } from '../../../call/prompts.ts';
import { resolveDestination } from './destination.ts';
import { DialTask } from './dial-task.ts';
import type { Leg } from './ports.ts';
import { ANNOUNCE_TRIES } from './states.ts';

/** The customer's answer to an announced number: 1 connect, 2 back to the agent, `*` leave. */
type Choice = '1' | '2' | '*';

function isChoice(key: string): key is Choice {
  return key === '1' || key === '2' || key === '*';
}

/**
 * `* 3 <number> #`: the customer hears the number ("The number is: 8, 9, 2 … To be connected
 * press 1, to return to the agent 2, to leave star"), up to three times with 15 s to choose;
 * no choice counts as 2.
 */
export class Announce<L extends Leg> extends DialTask<L> {
  readonly name = 'announce';
  private tries = 0;
  private decide: ((choice: Choice) => void) | undefined;

  protected async run(): Promise<void> {
    const { ctx, digits } = this;
    const { world } = ctx;
    const customer = world.call.leg;
    const settings = await this.step(world.desk.settings());
    const mode = settings.announceNumber;
    if (mode === 'disabled') return ctx.refuse('announce disabled');
    if (digits.length < 2) return ctx.refuse('announce needs at least two digits');
    const first = await this.step(resolveDestination(world, digits, settings, ctx.agent?.id));
    if (!first) return ctx.refuse(`destination ${digits} not allowed`);
    if (!ctx.move('announcing', 'announce')) return;
    await this.step(ctx.beep(ctx.agent?.leg, 'accept'));
    if (mode === 'release_agent') await ctx.releaseAgent();
    else ctx.agent?.leg.silence();
    this.alive();
    ctx.disconnect();
    customer.setDigitHandler((d) => {
      if (isChoice(d)) this.decide?.(d);
    });
    const choice = await this.step(
      new Promise<Choice>((resolve) => {
        this.decide = resolve;
        this.offer();
      }),
    );
    this.decide = undefined;
    customer.setDigitHandler(null);
    customer.silence();
    const detail = { type: 'announce', to: digits, mode };
    if (choice === '*') {
      await ctx.record('transfer', { ...detail, outcome: 'customer_left' });
      await ctx.releaseAgent();
      await customer.play(world.sounds.prompts(world.call.settings.language, ['goodbye']));
      await customer.hangup();
      return;
    }
    if (choice === '2') {
      await ctx.record('transfer', { ...detail, outcome: 'back' });
      return this.back('accept');
    }
    const now = await this.step(world.desk.settings());
    const dest = await this.step(resolveDestination(world, digits, now, ctx.agent?.id));
    // The setting changed meanwhile: treated as "back".
    if (!dest) return this.back('error');
    if (!ctx.move('dialing', 'customer 1')) return;
    world.call.transfers++;
    customer.loop(world.sounds.tone('ringback'));
    const result = await this.dial(dest, now, customer);
    await this.connect({ type: 'announce', mode }, dest, result, false);
  }

  /** Plays the offer; once it is heard, the customer has `announceChoiceMs` to choose. */
  private offer(): void {
    const { world } = this.ctx;
    this.spawn(
      async () => {
        this.tries++;
        const ids: PromptId[] = ['announce_number', ...digitsToPromptIds(this.digits), 'announce_offer'];
        const outcome = await this.step(
          world.call.leg.play(world.sounds.prompts(world.call.settings.language, ids)),
        );
        if (outcome !== 'done' || !this.decide) return;
        this.arm(world.announceChoiceMs, () => {
          if (this.tries >= ANNOUNCE_TRIES) this.decide?.('2');
          else this.offer();
        });
      },
      (err) => world.log.error({ err }, 'announce offer failed'),
    );
  }

  /** Back to the agent if still there, else to the head of the queue. */
  private async back(beep: 'accept' | 'error'): Promise<void> {
    const { ctx } = this;
    const agent = ctx.agent;
    if (agent && !agent.leg.ended) return ctx.returnToAgent(beep);
    return ctx.requeue(ctx.world.call.department, true);
  }
}
