import { isIPv6 } from 'node:net';

export interface ThrottleOptions {
  /** Failures allowed per key within `windowMs`; the next attempt is refused. */
  failures: number;
  windowMs: number;
  /** Monotonic milliseconds. */
  now: () => number;
  /** Keys remembered at most (the oldest are forgotten first), so a flood cannot grow memory. */
  maxKeys?: number;
}

export const DEFAULT_AUTH_THROTTLE = { failures: 10, windowMs: 60_000 } as const;

/**
 * Failed sign-ins and wrong bearer tokens per source address, in a sliding window: after
 * `failures` within `windowMs` every further attempt from that source is refused (429,
 * `Retry-After`) without being evaluated, until the oldest failure leaves the window —
 * so guesses cost a minute per ten, whatever rate they are sent at.
 */
export class FailureThrottle {
  private readonly failuresByKey = new Map<string, number[]>();
  private readonly maxKeys: number;

  constructor(private readonly opts: ThrottleOptions) {
    this.maxKeys = opts.maxKeys ?? 10_000;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfterMs(key: string): number {
    const list = this.recent(key);
    if (list.length < this.opts.failures) return 0;
    const oldest = list[list.length - this.opts.failures] ?? 0;
    return Math.max(1, oldest + this.opts.windowMs - this.opts.now());
  }

  /**
   * Counts an attempt as failed now, before it is evaluated, so that parallel attempts
   * cannot all pass `retryAfterMs` while the first is still being checked; `forgive`
   * takes it back when the attempt succeeds.
   */
  fail(key: string): () => void {
    const list = this.recent(key);
    const at = this.opts.now();
    list.push(at);
    // Re-insert: Map order is then least recently failed first, the order in which to forget.
    this.failuresByKey.delete(key);
    this.failuresByKey.set(key, list);
    while (this.failuresByKey.size > this.maxKeys) {
      const first = this.failuresByKey.keys().next().value;
      if (first === undefined) break;
      this.failuresByKey.delete(first);
    }
    let forgiven = false;
    return () => {
      if (forgiven) return;
      forgiven = true;
      const current = this.failuresByKey.get(key);
      const i = current?.indexOf(at) ?? -1;
      if (current && i >= 0) current.splice(i, 1);
    };
  }

  private recent(key: string): number[] {
    const list = this.failuresByKey.get(key) ?? [];
    const since = this.opts.now() - this.opts.windowMs;
    while (list.length && (list[0] ?? 0) <= since) list.shift();
    if (!list.length) this.failuresByKey.delete(key);
    return list;
  }
}

/**
 * The throttle key of a source address: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4),
 * IPv6 by its /64 — one subscriber's prefix, which it can fill with addresses at will.
 */
export function sourceKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return (
    groups
      .slice(0, 4)
      .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
      .join(':') + '::/64'
  );
}
