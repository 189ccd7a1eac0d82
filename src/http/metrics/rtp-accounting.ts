import { Histogram, type Registry } from 'prom-client';
import type { Leg } from '../../call/leg.ts';
import type { RtpStats } from '../../media/media-session.ts';

export const RTP_KEYS = [
  'packetsSent',
  'packetsReceived',
  'bytesSent',
  'bytesReceived',
  'malformed',
  'dtmfPackets',
  'sourceDropped',
  'learningDropped',
  'packetsLost',
] as const;

export type RtpTotals = Pick<RtpStats, (typeof RTP_KEYS)[number]>;

const zero = (): RtpTotals =>
  Object.fromEntries(RTP_KEYS.map((k) => [k, 0])) as Record<(typeof RTP_KEYS)[number], number>;

/** Seconds; G.711 at 20 ms a packet: beyond 30–50 ms a jitter buffer starts to be heard. */
const JITTER_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2];

/**
 * RTP counters over the server's life: legs that ended (folded in when they end)
 * plus the legs alive now. A leg is noticed by a sweep each second and at each
 * scrape, so only a leg that lives less than a second between two sweeps is missed.
 * The one place /metrics reads a leg's media (`leg.mediaSession.stats()`).
 */
export class RtpAccounting {
  private readonly ended = zero();
  private readonly seen = new WeakSet<Leg>();
  private readonly timer: NodeJS.Timeout;
  private readonly jitter: Histogram;

  constructor(
    register: Registry,
    private readonly legs: () => ReadonlySet<Leg>,
  ) {
    this.jitter = new Histogram({
      name: 'agentline_rtp_jitter_seconds',
      help: 'Highest interarrival jitter (RFC 3550) of the audio a call leg received, observed when the leg ends.',
      buckets: JITTER_BUCKETS,
      registers: [register],
    });
    this.timer = setInterval(() => this.sweep(), 1000);
    this.timer.unref();
  }

  sweep(): void {
    for (const leg of this.legs()) {
      if (this.seen.has(leg)) continue;
      this.seen.add(leg);
      leg.on('ended', () => {
        const stats = leg.mediaSession.stats();
        for (const k of RTP_KEYS) this.ended[k] += stats[k];
        if (stats.packetsReceived > 1) this.jitter.observe(stats.maxJitterSeconds);
      });
    }
  }

  totals(): RtpTotals {
    this.sweep();
    const t = { ...this.ended };
    for (const leg of this.legs())
      if (leg.state !== 'ended') for (const k of RTP_KEYS) t[k] += leg.mediaSession.stats()[k];
    return t;
  }

  /** The highest current jitter of the legs alive now (0 without any). */
  liveJitter(): number {
    let max = 0;
    for (const leg of this.legs())
      if (leg.state !== 'ended') max = Math.max(max, leg.mediaSession.stats().jitterSeconds);
    return max;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
