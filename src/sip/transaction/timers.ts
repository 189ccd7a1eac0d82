import type { Clock, TimerHandle } from '../../util/clock.ts';

/** RFC 3261 §17 timer base values (Table 4). Tests may shrink them. */
export interface TimerConfig {
  /** RTT estimate, default 500 ms. */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s. */
  t2: number;
  /** Maximum duration a message remains in the network, default 5 s. */
  t4: number;
}

export const DEFAULT_TIMERS: TimerConfig = { t1: 500, t2: 4000, t4: 5000 };

/**
 * A transaction's timers (§17): retransmission (A, E or G), timeout (B, F, H or J) and the
 * wait before Terminated (D, K or I). Each machine sets them; `clear` stops the three at once.
 */
export class TxTimers {
  retransmit: TimerHandle | undefined;
  timeout: TimerHandle | undefined;
  wait: TimerHandle | undefined;

  constructor(private readonly clock: Clock) {}

  clear(): void {
    this.clock.clearTimeout(this.retransmit);
    this.clock.clearTimeout(this.timeout);
    this.clock.clearTimeout(this.wait);
    this.retransmit = this.timeout = this.wait = undefined;
  }
}
