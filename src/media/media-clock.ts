/**
 * One shared 20 ms ticker for all media sessions (not a timer per session).
 *
 * Drift-free: the n-th tick is due at `start + n × 20 ms` on the monotonic
 * `performance.now()`; each setTimeout is set to the time remaining until the next due
 * tick (Node timers have 1 ms granularity, so a tick may run up to ~1 ms late, or up to
 * `earlyMs` early, never accumulating). When the event loop was blocked and several
 * ticks are due, at most `maxBurst` (3) run back to back per wake-up; the rest follow on
 * the next wake-ups (scheduled at once). When more than `resyncFrames` (10 = 200 ms) are
 * behind, the missed ticks are dropped and the schedule restarts from now; `frame`
 * still counts them, so sessions keep RTP timestamps on wall time.
 *
 * The clock runs only while it has members: removing the last one clears the timer.
 * A throwing member is counted in `errors` and does not stop the others.
 */

export interface Tickable {
  tick(): void;
}

export interface MediaClockOptions {
  periodMs?: number;
  maxBurst?: number;
  resyncFrames?: number;
  /** A tick may fire this much before its due time (timer granularity), default 0.5 ms. */
  earlyMs?: number;
}

export class MediaClock {
  readonly periodMs: number;
  private readonly maxBurst: number;
  private readonly resyncFrames: number;
  private readonly earlyMs: number;
  private readonly members = new Set<Tickable>();
  private timer: NodeJS.Timeout | null = null;
  private startMs = 0;
  private n = 0; // ticks done since startMs
  private everStarted = false;
  private frameBase = 0;
  /** Member tick() calls that threw. */
  errors = 0;
  /** Ticks dropped by resynchronisation after long stalls. */
  dropped = 0;
  /** Wake-ups that had more than one tick due. */
  lateWakeups = 0;

  constructor(options: MediaClockOptions = {}) {
    this.periodMs = options.periodMs ?? 20;
    this.maxBurst = options.maxBurst ?? 3;
    this.resyncFrames = options.resyncFrames ?? 10;
    this.earlyMs = options.earlyMs ?? 0.5;
  }

  /** Joins; the first member starts the ticker. Adding twice is a no-op. */
  add(t: Tickable): void {
    this.members.add(t);
    if (this.timer === null) this.start();
  }

  /** Leaves (safe inside tick()); the last member leaving stops the ticker. */
  remove(t: Tickable): void {
    this.members.delete(t);
    if (this.members.size === 0) this.halt();
  }

  has(t: Tickable): boolean {
    return this.members.has(t);
  }

  get size(): number {
    return this.members.size;
  }

  /** True while a timer is pending. */
  get running(): boolean {
    return this.timer !== null;
  }

  /**
   * Frames of real time counted by this clock: +1 per tick, plus ticks dropped by a
   * resync, plus whole periods spent idle (no members). Monotonic.
   */
  get frame(): number {
    return this.frameBase + this.n;
  }

  /** Nominal time (performance.now() scale) of the tick being run or last run. */
  get tickTimeMs(): number {
    return this.startMs + this.n * this.periodMs;
  }

  /** Removes all members and stops. */
  stop(): void {
    this.members.clear();
    this.halt();
  }

  private start(): void {
    const now = performance.now();
    if (this.everStarted) {
      // Count the idle time too, so `frame` stays proportional to real time.
      const idle = Math.floor((now - (this.startMs + this.n * this.periodMs)) / this.periodMs);
      this.frameBase += this.n + (idle > 0 ? idle : 0);
    }
    this.everStarted = true;
    this.n = 0;
    this.startMs = now;
    this.schedule();
  }

  private halt(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private schedule(): void {
    const due = this.startMs + (this.n + 1) * this.periodMs;
    const wait = due - performance.now();
    this.timer = setTimeout(this.onTimer, wait > 1 ? Math.floor(wait) : 1);
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const now = performance.now();
    let due = Math.floor((now + this.earlyMs - this.startMs) / this.periodMs) - this.n;
    if (due > this.resyncFrames) {
      // Long stall: drop all but one missed tick and restart the schedule from now.
      this.dropped += due - 1;
      this.frameBase += this.n + due - 1;
      this.n = 0;
      this.startMs = now - this.periodMs;
      due = 1;
    }
    if (due > 1) this.lateWakeups++;
    const burst = due < this.maxBurst ? due : this.maxBurst;
    for (let i = 0; i < burst; i++) {
      this.n++;
      for (const m of this.members) {
        try {
          m.tick();
        } catch {
          this.errors++;
        }
      }
      if (this.members.size === 0) return; // last member left during the tick
    }
    if (this.members.size === 0 || this.timer !== null) return;
    if (due > burst) this.timer = setTimeout(this.onTimer, 0);
    else this.schedule();
  };
}
