import { randomInt } from 'node:crypto';

/**
 * Even RTP ports from [min, max]; port+1 (RTCP) is implied and reserved with it.
 *
 * Free ports form a FIFO ring, and `acquire` takes a random one from its older half: the
 * next port cannot be predicted from the last (a scan of the range finds a call only by
 * probing every port), and a port released a moment ago waits behind the others, so the
 * stray packets of an ended call rarely reach the next one. O(1), no allocation. A port
 * that fails to bind is simply released again by the session (it goes to the back of the
 * ring) and another one is tried.
 */
export class PortPool {
  readonly min: number;
  readonly max: number;
  private readonly ring: Uint16Array;
  private readonly inUse: Uint8Array;
  private readonly random: (n: number) => number;
  private head = 0;
  private count: number;

  /**
   * `min`/`max`: inclusive range; `min` is rounded up to even; each slot needs port and port+1 ≤ max.
   * `random(n)`: an integer in [0, n) (default crypto.randomInt), injectable for tests.
   */
  constructor(min: number, max: number, random: (n: number) => number = (n) => randomInt(n)) {
    const first = min + (min & 1);
    if (!Number.isInteger(min) || !Number.isInteger(max) || first < 1024 || max > 65535 || first + 1 > max) {
      throw new RangeError(`bad RTP port range ${min}-${max}`);
    }
    this.min = first;
    this.max = max;
    this.random = random;
    const n = Math.floor((max - first + 1) / 2);
    this.ring = new Uint16Array(n);
    this.inUse = new Uint8Array(n);
    for (let i = 0; i < n; i++) this.ring[i] = first + 2 * i;
    this.count = n;
  }

  /** Number of RTP ports (pairs) in the range. */
  get capacity(): number {
    return this.ring.length;
  }

  /** Ports currently free. */
  get free(): number {
    return this.count;
  }

  /** A random even port among the longest-free half, or undefined when all are taken. */
  acquire(): number | undefined {
    if (this.count === 0) return undefined;
    const size = this.ring.length;
    // Swap the pick with the head: the head moves into the older half, so order is kept roughly.
    const pick = (this.head + this.random(Math.ceil(this.count / 2))) % size;
    const port = this.ring[pick]!;
    this.ring[pick] = this.ring[this.head]!;
    this.head = (this.head + 1) % size;
    this.count--;
    this.inUse[(port - this.min) >> 1] = 1;
    return port;
  }

  /** Gives a port back; releasing a port that is not in use (or not ours) is ignored. */
  release(port: number): void {
    const i = (port - this.min) >> 1;
    if (port < this.min || port > this.max || (port & 1) !== (this.min & 1) || this.inUse[i] !== 1) return;
    this.inUse[i] = 0;
    this.ring[(this.head + this.count) % this.ring.length] = port;
    this.count++;
  }
}
