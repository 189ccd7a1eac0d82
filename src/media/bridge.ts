/**
 * Two-way audio relay between two RTP sessions (a call's two legs). Each received
 * audio payload is sent on the other session at once with `sendRelayed` (its own
 * SSRC/seq/ts), transcoded PCMU↔PCMA by byte table when the codecs differ. No jitter
 * buffer, no mixing. DTMF is not relayed: telephone-events reach each session's onDtmf.
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
}

class SessionBridge implements Bridge {
  private bridged = true;
  private readonly toB: (payload: Buffer, codec: Codec) => void;
  private readonly toA: (payload: Buffer, codec: Codec) => void;

  constructor(
    readonly a: RtpSession,
    readonly b: RtpSession,
  ) {
    this.toB = (payload, codec) => b.sendRelayed(payload, codec);
    this.toA = (payload, codec) => a.sendRelayed(payload, codec);
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

  unbridge(): void {
    if (!this.bridged) return;
    this.bridged = false;
    if (this.a.onAudio === this.toB) this.a.onAudio = null;
    if (this.b.onAudio === this.toA) this.b.onAudio = null;
    this.a.setRelaying(false);
    this.b.setRelaying(false);
  }
}

/** Relays a→b and b→a until unbridge(); clears both sessions' sources. */
export function bridge(a: RtpSession, b: RtpSession): Bridge {
  if (a === b) throw new RangeError('cannot bridge a session to itself');
  return new SessionBridge(a, b);
}
