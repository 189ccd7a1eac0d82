/**
 * Even RTP ports from [min, max]; port+1 (RTCP) is implied and reserved with it.
 *
 * Free ports form a FIFO ring: `acquire` takes the least recently released port, so a
 * port is reused as late as possible (stray packets of an ended call rarely reach the
 * next one). O(1), no allocation. A port that fails to bind is simply released again by
 * the session (it goes to the back of the ring) and the next one is tried.
 */
export class PortPool {
  readonly min: number;
  readonly max: number;
  private readonly ring: Uint16Array;
  private readonly inUse: Uint8Array;
  private head = 0;
  private count: number;

  /** `min`/`max`: inclusive range; `min` is rounded up to even; each slot needs port and port+1 ≤ max. */
  constructor(min: number, max: number) {
    const first = min + (min & 1);
    if (!Number.isInteger(min) || !Number.isInteger(max) || first < 1024 || max > 65535 || first + 1 > max) {
      throw new RangeError(`bad RTP port range ${min}-${max}`);
    }
    this.min = first;
    this.max = max;
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

  /** An even port, or undefined when all are taken. */
  acquire(): number | undefined {
    if (this.count === 0) return undefined;
    const port = this.ring[this.head]!;
    this.head = (this.head + 1) % this.ring.length;
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
