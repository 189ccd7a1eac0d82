import type { TimerHandle } from '../../../util/clock.ts';
import type { StateMachine } from '../../../util/state-machine.ts';
import type { InCallState } from './states.ts';

/** Thrown through a task's `exec()` when the task was killed while it waited. */
class Killed extends Error {
  constructor(task: string) {
    super(`${task} killed`);
  }
}

/**
 * One step the session runs for the agent (jambonz's verbs): a transfer, an announcement,
 * waiting. `exec()` runs it; `kill()` stops it from outside — the customer hung up, the menu
 * timed out, the agent pressed `*` — cancelling its dial and clearing its timers. A killed
 * task stops at its next `step()`: the one place a task looks at whether it still runs, in
 * place of a state check after every await.
 */
export abstract class Task {
  abstract readonly name: string;
  private dead = false;
  private readonly onKilled = new Set<() => void>();
  private readonly timers = new Set<TimerHandle>();
  private wake: (() => void) | undefined;
  private readonly killedSignal = new Promise<void>((resolve) => (this.wake = resolve));

  constructor(protected readonly machine: StateMachine<InCallState>) {}

  get killed(): boolean {
    return this.dead;
  }

  /** Runs the task; resolves when it is over (done, or killed). */
  async exec(): Promise<void> {
    try {
      await this.run();
    } catch (err) {
      if (!(err instanceof Killed)) throw err;
    }
  }

  protected abstract run(): Promise<void>;

  /** A key from the agent while the task holds the session (waiting, a consultation). */
  agentKey(_key: string): Promise<void> {
    return Promise.resolve();
  }

  /** Stops the task: its dial is cancelled, its timers cleared, its pending step unwinds. */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    for (const handle of this.timers) this.machine.disarm(handle);
    this.timers.clear();
    for (const fn of this.onKilled) fn();
    this.onKilled.clear();
    this.wake?.();
  }

  /** Awaits `p`; if the task is killed first (or meanwhile), unwinds instead. */
  protected async step<T>(p: Promise<T>): Promise<T> {
    const v = await Promise.race([p, this.killedSignal.then(() => undefined)]);
    if (this.dead) throw new Killed(this.name);
    return v as T;
  }

  /** Runs part of the task in the background (a repeated prompt); a kill just stops it. */
  protected spawn(part: () => Promise<void>, failed: (err: unknown) => void): void {
    part().catch((err: unknown) => {
      if (!(err instanceof Killed)) failed(err);
    });
  }

  /** Unwinds now if the task was killed. */
  protected alive(): void {
    if (this.dead) throw new Killed(this.name);
  }

  /** Runs `fn` on kill (cancels a dial); the returned function forgets it. */
  protected onKill(fn: () => void): () => void {
    if (this.dead) {
      fn();
      return () => {};
    }
    this.onKilled.add(fn);
    return () => this.onKilled.delete(fn);
  }

  /** A timer owned by the session's current state and by this task: either ending clears it. */
  protected arm(ms: number, fire: () => void): TimerHandle {
    const handle = this.machine.arm(ms, () => {
      this.timers.delete(handle);
      fire();
    });
    this.timers.add(handle);
    return handle;
  }
}
