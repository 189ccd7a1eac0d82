import type { Clock } from '../../util/clock.ts';

/** How many requests a key may make: `rate` per second sustained, `burst` at once. */
export interface Allowance {
  rate: number;
  burst: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  /** clock.now() of the last refill. */
  at: number;
  /** When the bucket will be full again: from then on it holds no information. */
  fullAt: number;
}

/**
 * Token buckets keyed by a string (a source address). Each `take` names the
 * allowance to apply, so a key's class (a trunk, a registered phone, anyone) is
 * decided by the caller at the moment of the request and may change over time.
 *
 * No timers: buckets refill lazily from the clock. Memory is bounded by
 * `maxKeys`: when the map is full, buckets that have refilled completely (and so
 * hold no information) are dropped; if every bucket is still in use the oldest
 * ones go. Spoofed UDP sources can create many keys, hence the bound.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;

  constructor(
    private readonly clock: Clock,
    opts: { maxKeys?: number } = {},
  ) {
    this.maxKeys = opts.maxKeys ?? 50_000;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key`, or says how long until one is there. */
  take(key: string, allowance: Allowance): TakeResult {
    const { rate, burst } = allowance;
    if (!(rate > 0)) return { ok: true }; // rate 0: no limit
    const now = this.clock.now();
    const cap = Math.max(1, burst);
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.evict(now);
      b = { tokens: cap, at: now, fullAt: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(cap, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      b.fullAt = now + ((cap - b.tokens) / rate) * 1000;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) / rate) * 1000) };
  }

  private evict(now: number): void {
    for (const [k, b] of this.buckets) if (b.fullAt <= now) this.buckets.delete(k);
    // Still full: drop the least recently refilled tenth (Map order is insertion
    // order, and an active key is not re-inserted, so this is approximate).
    if (this.buckets.size >= this.maxKeys) {
      let n = Math.ceil(this.maxKeys / 10);
      for (const k of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(k);
      }
    }
  }
}
