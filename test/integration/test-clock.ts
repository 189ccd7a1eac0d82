import { SystemClock, type TimerHandle } from '../../src/util/clock.ts';

/**
 * The real clock, with two knobs for tests: the wall time can be moved
 * forward (lockout expiry), and timers of a minute or more run 600× faster
 * (a 15-minute break ends in 1.5 s) while short protocol timers keep real time.
 */
export class TestClock extends SystemClock {
  wallOffset = 0;
  compressLongTimers = false;
  /** When set, the wall clock stands still at this time until moved (exact CDR figures). */
  frozenWall: number | undefined;

  override wallNow(): number {
    return this.frozenWall ?? super.wallNow() + this.wallOffset;
  }

  override setTimeout(fn: () => void, ms: number): TimerHandle {
    return super.setTimeout(fn, this.compressLongTimers && ms >= 60_000 ? ms / 600 : ms);
  }
}
