/**
 * The one way a stateful flow is written (docs/architecture.md, "State machines").
 *
 * A flow declares its states as a string union and its allowed moves as a table;
 * `transition(to, reason)` is the only way its state changes. A state may own
 * timers (`arm()`): they are cleared when the state is left, so no timer outlives
 * the state it was meant for, and a flow that reaches a final state (one with no
 * moves out) holds none.
 *
 * One policy for a move the table does not allow: it is refused — the state,
 * and the timers, stay as they were — `transition()` returns false, and the
 * `refused` listeners hear of it. Async flows meet such moves legitimately (the
 * caller hung up while an offer was being made); the return value is how they
 * find out, and nothing else needs to check the state after an await.
 */
import type { Clock, TimerHandle } from './clock.ts';

export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

export interface StateChange<S extends string> {
  readonly from: S;
  readonly to: S;
  readonly reason: string;
}

export type StateListener<S extends string> = (change: StateChange<S>) => void;

export interface StateMachineOptions<S extends string> {
  /** For error texts and logs: `leg`, `customer-call`, `in-call` … */
  readonly name: string;
  readonly initial: S;
  readonly transitions: TransitionTable<S>;
  readonly clock: Clock;
}

/** True when `table` lets a flow move from `from` to `to`. */
export function canMove<S extends string>(table: TransitionTable<S>, from: S, to: S): boolean {
  return table[from].includes(to);
}

/** States with no move out: reaching one ends the flow. */
export function finalStates<S extends string>(table: TransitionTable<S>): S[] {
  return (Object.keys(table) as S[]).filter((s) => table[s].length === 0);
}

/** Every move `table` allows, as `from>to`: a flow's test drives it through all of them. */
export function allMoves<S extends string>(table: TransitionTable<S>): string[] {
  return (Object.keys(table) as S[]).flatMap((from) => table[from].map((to) => `${from}>${to}`));
}

export class StateMachine<S extends string> {
  readonly name: string;
  private current: S;
  private readonly table: TransitionTable<S>;
  private readonly clock: Clock;
  /** Timers owned by the current state; with the states they outlive a move between (`arm`'s `during`). */
  private readonly owned = new Map<TimerHandle, readonly S[] | undefined>();
  private readonly changed = new Set<StateListener<S>>();
  private readonly refusedListeners = new Set<StateListener<S>>();
  /** Wall-clock-free ms (clock.now()) the current state was entered. */
  private enteredAt: number;

  constructor(options: StateMachineOptions<S>) {
    this.name = options.name;
    this.current = options.initial;
    this.table = options.transitions;
    this.clock = options.clock;
    this.enteredAt = options.clock.now();
  }

  get state(): S {
    return this.current;
  }

  /** Milliseconds spent in the current state. */
  get timeInState(): number {
    return this.clock.now() - this.enteredAt;
  }

  /** True when the current state is one of `states`. */
  is(...states: readonly S[]): boolean {
    return states.includes(this.current);
  }

  can(to: S): boolean {
    return canMove(this.table, this.current, to);
  }

  get final(): boolean {
    return this.table[this.current].length === 0;
  }

  /**
   * Moves to `to` if the table allows it: clears the timers the old state armed,
   * then tells the listeners (who may arm the new state's timers). A self-move
   * listed in the table re-enters the state (its timers restart).
   */
  transition(to: S, reason: string): boolean {
    const from = this.current;
    if (!canMove(this.table, from, to)) {
      for (const listener of this.refusedListeners) listener({ from, to, reason });
      return false;
    }
    this.clearOwned(to);
    this.current = to;
    this.enteredAt = this.clock.now();
    for (const listener of this.changed) listener({ from, to, reason });
    return true;
  }

  /**
   * A timer owned by the current state: cleared if the state is left first; it
   * only fires in the state that armed it.
   *
   * `during`: the timer belongs to a group of states (the current one among them)
   * rather than to this one: moves within the group keep it (self-moves too),
   * the first move out of the group clears it. A customer's maximum wait runs
   * on while offers come and go (`queued ⇄ offering`).
   */
  arm(ms: number, fire: () => void, during?: readonly S[]): TimerHandle {
    const handle = this.clock.setTimeout(() => {
      this.owned.delete(handle);
      fire();
    }, ms);
    this.owned.set(handle, during);
    return handle;
  }

  /** Clears one timer the current state armed (a state that restarts a countdown). */
  disarm(handle: TimerHandle | undefined): void {
    if (handle === undefined || !this.owned.delete(handle)) return;
    this.clock.clearTimeout(handle);
  }

  /** Timers armed by the current state and not yet fired or cleared. */
  get armed(): number {
    return this.owned.size;
  }

  onChange(listener: StateListener<S>): () => void {
    this.changed.add(listener);
    return () => this.changed.delete(listener);
  }

  onRefused(listener: StateListener<S>): () => void {
    this.refusedListeners.add(listener);
    return () => this.refusedListeners.delete(listener);
  }

  /** Clears every owned timer and forgets the listeners (the owner is being torn down). */
  dispose(): void {
    this.clearOwned();
    this.changed.clear();
    this.refusedListeners.clear();
  }

  /** Clears the timers that do not outlive a move to `to` (all of them without `to`). */
  private clearOwned(to?: S): void {
    for (const [handle, during] of this.owned) {
      if (to !== undefined && during?.includes(to)) continue;
      this.clock.clearTimeout(handle);
      this.owned.delete(handle);
    }
  }
}

/**
 * A flow that owns its machine: others read its state and watch its moves
 * (the event every transition emits); only the flow itself makes them.
 */
export abstract class StatefulFlow<S extends string> {
  protected readonly machine: StateMachine<S>;

  constructor(options: StateMachineOptions<S>) {
    this.machine = new StateMachine(options);
  }

  get state(): S {
    return this.machine.state;
  }

  onStateChange(listener: StateListener<S>): () => void {
    return this.machine.onChange(listener);
  }

  /** Moves the flow's table refused (a flow's test checks one). */
  onRefused(listener: StateListener<S>): () => void {
    return this.machine.onRefused(listener);
  }
}
