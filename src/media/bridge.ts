/**
 * Two-way audio relay between two RTP sessions (a call's two legs). Each received
 * audio payload is sent on the other session at once with `sendRelayed` (its own
 * SSRC/seq/ts), transcoded PCMU↔PCMA by byte table when the codecs differ. No jitter
 * buffer, no mixing. DTMF is not relayed: telephone-events reach each session's onDtmf.
 *
 * A monitored call (local/monitor.ts) taps both directions (`tap`) and may take a side off
 * the relay (`setMixed`): that session then plays mixed audio (../mixer.ts) as its source.
 */

import type { Codec } from './codec/g711.ts';
import type { RtpSession } from './rtp/session.ts';

export interface Bridge {
  readonly a: RtpSession;
  readonly b: RtpSession;
  /** True until unbridge(). */
  readonly active: boolean;
  /** Removes the relay hooks; sources stay null (the caller decides what plays next). */
  unbridge(): void;
  /** Sees every audio payload either side receives, before it is relayed. */
  tap: ((from: RtpSession, payload: Buffer, codec: Codec) => void) | null;
  /** Stops (true) or resumes (false) relaying into `to`, one of the two sides. */
  setMixed(to: RtpSession, on: boolean): void;
  /** Called once, on unbridge(). */
  onUnbridge: (() => void) | null;
}

class SessionBridge implements Bridge {
  private bridged = true;
  tap: Bridge['tap'] = null;
  onUnbridge: (() => void) | null = null;
  private mixedA = false;
  private mixedB = false;
  private readonly toB: (payload: Buffer, codec: Codec) => void;
  private readonly toA: (payload: Buffer, codec: Codec) => void;

  constructor(
    readonly a: RtpSession,
    readonly b: RtpSession,
  ) {
    this.toB = (payload, codec) => {
      this.tap?.(a, payload, codec);
      if (!this.mixedB) b.sendRelayed(payload, codec);
    };
    this.toA = (payload, codec) => {
      this.tap?.(b, payload, codec);
      if (!this.mixedA) a.sendRelayed(payload, codec);
    };
    a.setSource(null);
    b.setSource(null);
    // A bridge relays what comes (silence too); the legs' idle fill waits until it is undone.
    a.setRelaying(true);
    b.setRelaying(true);
    a.onAudio = this.toB;
    b.onAudio = this.toA;
  }

  get active(): boolean {
    return this.bridged;
  }

  setMixed(to: RtpSession, on: boolean): void {
    if (to === this.a) this.mixedA = on;
    else if (to === this.b) this.mixedB = on;
  }

  unbridge(): void {
    if (!this.bridged) return;
    this.bridged = false;
    this.tap = null;
    if (this.a.onAudio === this.toB) this.a.onAudio = null;
    if (this.b.onAudio === this.toA) this.b.onAudio = null;
    this.a.setRelaying(false);
    this.b.setRelaying(false);
    const done = this.onUnbridge;
    this.onUnbridge = null;
    done?.();
  }
}

/** Relays a→b and b→a until unbridge(); clears both sessions' sources. */
export function bridge(a: RtpSession, b: RtpSession): Bridge {
  if (a === b) throw new RangeError('cannot bridge a session to itself');
  return new SessionBridge(a, b);
}
