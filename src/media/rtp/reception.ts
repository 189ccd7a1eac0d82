/**
 * Reception statistics of one incoming RTP stream (RFC 3550 §6.4.1, appendices A.1, A.3, A.8),
 * kept for /metrics: packets lost and interarrival jitter. Allocation-free; fed once per
 * admitted packet.
 *
 * - Lost = expected − received, expected from the extended highest sequence number (A.3). A
 *   late packet after its gap was counted does not take the count back: the figure only grows
 *   (it is summed into a counter), so reordering beyond the highest number reads as loss.
 * - A new SSRC, or a jump of more than MAX_DROPOUT, starts a new count (the peer restarted
 *   its stream: a re-INVITE, a new source); what the old one lost is kept.
 * - Jitter (A.8): J += (|D| − J) / 16 over audio packets only — telephone-event packets
 *   repeat their event's start timestamp, so they say nothing about the network.
 */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
/** G.711, the only audio we carry: 8000 timestamp units a second. */
const CLOCK_RATE = 8000;

export class ReceptionStats {
  /** Packets lost over the session's life (all streams). */
  lost = 0;
  /** Current interarrival jitter estimate, seconds. */
  jitterSeconds = 0;
  /** The highest jitter estimate the session saw, seconds. */
  maxJitterSeconds = 0;

  private ssrc = -1;
  private baseSeq = 0;
  /** Extended highest sequence number (cycles · 65536 + seq). */
  private maxSeq = 0;
  private received = 0;
  /** Lost by earlier streams. */
  private lostBefore = 0;
  private lastArrival = -1;
  private lastTs = 0;
  /** J of A.8 in timestamp units. */
  private jitter = 0;

  /** Every admitted packet of the peer's stream. */
  packet(ssrc: number, seq: number): void {
    if (ssrc !== this.ssrc) {
      this.restart(ssrc, seq);
      return;
    }
    const delta = (seq - this.maxSeq) & 0xffff;
    if (delta !== 0 && delta < MAX_DROPOUT) {
      // In order, with a permissible gap; wrapping past 65535 adds a cycle.
      this.maxSeq += delta;
    } else if (delta !== 0 && delta <= 0x10000 - MAX_MISORDER) {
      // A very large jump: the sender restarted its numbering.
      this.restart(ssrc, seq);
      return;
    }
    // (delta 0 or a little behind: a duplicate or reordered packet, counted as received.)
    this.received++;
    const lostNow = this.maxSeq - this.baseSeq + 1 - this.received;
    if (this.lostBefore + lostNow > this.lost) this.lost = this.lostBefore + lostNow;
  }

  /** An audio packet's RTP timestamp and its arrival (ms, monotonic). */
  timing(ts: number, arrivalMs: number): void {
    if (this.lastArrival >= 0) {
      // D(i-1, i) in timestamp units; `| 0` takes the timestamp difference modulo 2^32, signed.
      const d = ((arrivalMs - this.lastArrival) * CLOCK_RATE) / 1000 - ((ts - this.lastTs) | 0);
      this.jitter += (Math.abs(d) - this.jitter) / 16;
      this.jitterSeconds = this.jitter / CLOCK_RATE;
      if (this.jitterSeconds > this.maxJitterSeconds) this.maxJitterSeconds = this.jitterSeconds;
    }
    this.lastArrival = arrivalMs;
    this.lastTs = ts;
  }

  private restart(ssrc: number, seq: number): void {
    this.lostBefore = this.lost;
    this.ssrc = ssrc;
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.received = 1;
    this.lastArrival = -1;
  }
}
