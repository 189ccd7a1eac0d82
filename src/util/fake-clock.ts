import type { Clock, TimerHandle } from './clock.ts';

interface FakeTimer {
  id: number;
  due: number;
  fn: () => void;
}

/**
 * A Clock for tests: time stands still until `advance(ms)` moves it. Due timers
 * run in order of due time (ties: in the order they were scheduled), each one
 * with `now()` set to its due time; timers scheduled by a callback run in the
 * same `advance` if they fall due before its end.
 *
 * `advanceAsync(ms)` does the same but lets promise chains settle after each
 * timer (for code whose timer callbacks start async work that schedules more
 * timers).
 */
export class FakeClock implements Clock {
  private mono: number;
  private readonly wallOffset: number;
  private readonly timers = new Map<number, FakeTimer>();
  private nextId = 1;

  /** @param start monotonic start (ms); @param wallStart epoch ms that `now() === start` maps to. */
  constructor(start = 0, wallStart = Date.UTC(2024, 0, 1)) {
    this.mono = start;
    this.wallOffset = wallStart - start;
  }

  now(): number {
    return this.mono;
  }

  wallNow(): number {
    return this.mono + this.wallOffset;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.timers.set(id, { id, due: this.mono + delay, fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.timers.delete(handle.id);
  }

  pending(): number {
    return this.timers.size;
  }

  /** Due time of the next timer, or undefined when none is pending. */
  nextDue(): number | undefined {
    return this.nextTimer()?.due;
  }

  /** Moves time forward by `ms`, running every timer that falls due. Returns how many ran. */
  advance(ms: number): number {
    const target = this.mono + Math.max(0, ms);
    let ran = 0;
    for (let t = this.nextTimer(); t && t.due <= target; t = this.nextTimer()) {
      this.timers.delete(t.id);
      this.mono = Math.max(this.mono, t.due);
      t.fn();
      ran++;
    }
    this.mono = target;
    return ran;
  }

  /** Like `advance`, but waits for pending promise work after each timer (and once at the start). */
  async advanceAsync(ms: number): Promise<number> {
    const target = this.mono + Math.max(0, ms);
    let ran = 0;
    await settle();
    for (let t = this.nextTimer(); t && t.due <= target; t = this.nextTimer()) {
      this.timers.delete(t.id);
      this.mono = Math.max(this.mono, t.due);
      t.fn();
      ran++;
      await settle();
    }
    this.mono = target;
    return ran;
  }

  /** Runs timers already due at the current time (e.g. zero-delay ones). */
  runDue(): number {
    return this.advance(0);
  }

  private nextTimer(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers.values()) {
      if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    }
    return best;
  }
}

/** Resolves after the current microtask queue (and one macrotask turn) has drained. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
