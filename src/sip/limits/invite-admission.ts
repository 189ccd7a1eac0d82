import type { Logger } from 'pino';
import type { Clock } from '../../util/clock.ts';
import { RateLimiter, type Allowance } from './rate-limiter.ts';

/** Who a source address is, as far as call limits go. */
export type SourceKind = 'trunk' | 'registered' | 'anonymous';

/**
 * Knows some source addresses and what they may do: the `--trunk` host today, a
 * trunk table (each trunk with its own rate) or the registrar's bindings. The
 * first source that knows an address decides its allowance.
 */
export interface AllowanceSource {
  allowanceFor(address: string): { kind: SourceKind; allowance: Allowance } | undefined;
}

export type RefusalCause = 'rate' | 'max_calls' | 'ports_low';

export interface Refusal {
  status: 503;
  reason: string;
  /** Seconds, for the Retry-After header (RFC 3261 §20.33). */
  retryAfter: number;
  cause: RefusalCause;
}

export interface InviteAdmissionOptions {
  clock: Clock;
  logger?: Logger;
  /** Any source not known to `sources`. */
  anonymous: Allowance;
  sources?: AllowanceSource[];
  /** Concurrent calls (legs) at most; 0: no cap. */
  maxCalls?: number;
  activeCalls?: () => number;
  /** The RTP port pool: free pairs and capacity. */
  ports?: () => { free: number; capacity: number };
}

/** Seconds a caller refused for capacity (calls, ports) is asked to wait. */
export const CAPACITY_RETRY_AFTER_S = 10;
/** Warn lines about refusals come at most this often per cause. */
const WARN_EVERY_MS = 60_000;

/**
 * The gate new INVITEs (those that start a dialog) pass before any transaction,
 * leg or media port exists for them, so that a flood is answered cheaply:
 *
 * 1. calls per source address per second — a token bucket per address; trunks and
 *    registered phones get their own, higher allowance (RFC 3261 §21.5.4: 503 with
 *    Retry-After);
 * 2. a global cap on concurrent calls, when configured;
 * 3. the port pool: below a reserve of free ports only trunks and registered phones
 *    get in, and nobody once it is empty, so a flood of anonymous INVITEs never
 *    drains what customers on the trunk and the agents' own legs need.
 */
export class InviteAdmission {
  readonly counters: Record<RefusalCause, number> & { admitted: number } = {
    admitted: 0,
    rate: 0,
    max_calls: 0,
    ports_low: 0,
  };
  private readonly limiter: RateLimiter;
  private readonly lastWarn = new Map<RefusalCause, { at: number; since: number }>();

  constructor(private readonly opts: InviteAdmissionOptions) {
    this.limiter = new RateLimiter(opts.clock);
  }

  /** Free port pairs below which anonymous sources are refused: 5 % of the pool, at least 2. */
  static reserveFor(capacity: number): number {
    return Math.max(2, Math.ceil(capacity * 0.05));
  }

  classify(address: string): { kind: SourceKind; allowance: Allowance } {
    for (const s of this.opts.sources ?? []) {
      const hit = s.allowanceFor(address);
      if (hit) return hit;
    }
    return { kind: 'anonymous', allowance: this.opts.anonymous };
  }

  /** Undefined: let it in. Else the 503 to send. */
  check(address: string): Refusal | undefined {
    const { kind, allowance } = this.classify(address);
    const taken = this.limiter.take(`${kind}|${address}`, allowance);
    if (!taken.ok)
      return this.refuse(
        'rate',
        address,
        'Too Many Calls',
        Math.max(1, Math.ceil(taken.retryAfterMs / 1000)),
      );
    const max = this.opts.maxCalls ?? 0;
    if (max > 0 && (this.opts.activeCalls?.() ?? 0) >= max)
      return this.refuse('max_calls', address, 'Too Many Calls', CAPACITY_RETRY_AFTER_S);
    const ports = this.opts.ports?.();
    if (ports) {
      const floor = kind === 'anonymous' ? InviteAdmission.reserveFor(ports.capacity) : 0;
      if (ports.free <= floor)
        return this.refuse('ports_low', address, 'No Media Ports', CAPACITY_RETRY_AFTER_S);
    }
    this.counters.admitted++;
    return undefined;
  }

  private refuse(cause: RefusalCause, address: string, reason: string, retryAfter: number): Refusal {
    this.counters[cause]++;
    const now = this.opts.clock.now();
    const last = this.lastWarn.get(cause);
    if (!last || now - last.at >= WARN_EVERY_MS) {
      // An operator acts on these: a flood, or limits too tight for real traffic.
      this.opts.logger?.warn(
        { cause, source: address, refusedSinceLastWarn: this.counters[cause] - (last?.since ?? 0) },
        'new INVITEs refused with 503 (call limits)',
      );
      this.lastWarn.set(cause, { at: now, since: this.counters[cause] });
    }
    return { status: 503, reason, retryAfter, cause };
  }
}
