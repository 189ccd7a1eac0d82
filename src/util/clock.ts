/**
 * Injected time source. Protocol timers (SIP transactions, IVR timeouts, agent
 * breaks) go through a Clock so tests can run them fast and so every timer a
 * component owns can be counted and cleared.
 */
export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Wall-clock milliseconds since the epoch (for records). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  /** Timers scheduled and not yet fired or cleared (leak checks in tests). */
  pending(): number;
}

/** The real clock, backed by Node timers and performance.now(). */
export class SystemClock implements Clock {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private nextId = 1;

  now(): number {
    return performance.now();
  }

  wallNow(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, ms);
    this.timers.set(id, t);
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.timers.get(handle.id);
    if (t) {
      clearTimeout(t);
      this.timers.delete(handle.id);
    }
  }

  pending(): number {
    return this.timers.size;
  }
}
