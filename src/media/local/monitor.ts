/**
 * Listen / whisper / barge on one process's sessions (the media port's `monitor`): the
 * supervisor's session plays what ../mixer.ts mixes for it, and the pair's bridge is tapped so
 * the mixer gets both parties' audio. A side of the pair that must hear more than the other
 * party (the agent from whisper on, the customer in barge) is taken off the relay and plays
 * its own mix instead; the rest of the pair stays on the plain relay, untouched. Nothing is
 * played to the agent when monitoring starts: no tone, no gap.
 */

import { AppError } from '../../util/errors.ts';
import type { Bridge } from '../bridge.ts';
import type { MediaMonitor } from '../media-session.ts';
import { Mixer, needsMix, type MonitorMode } from '../mixer.ts';
import type { RtpSession } from '../rtp/session.ts';

export class LocalMonitor implements MediaMonitor {
  onEnded: (() => void) | null = null;
  private live = true;
  private readonly mixer: Mixer;
  private readonly mixing = { customer: false, agent: false };

  constructor(
    private readonly supervisor: RtpSession,
    private readonly pair: Bridge,
    private readonly customer: RtpSession,
    private readonly agent: RtpSession,
    mode: MonitorMode,
  ) {
    if (!pair.active) throw new AppError('not_bridged', 'the call to monitor is not bridged');
    if (pair.tap !== null) throw new AppError('not_bridged', 'the call is monitored already');
    this.mixer = new Mixer(() => supervisor.clockFrame, mode);
    pair.tap = (from, payload, codec) =>
      this.mixer.push(from === customer ? 'customer' : 'agent', payload, codec);
    pair.onUnbridge = () => this.end(true);
    supervisor.onAudio = (payload, codec) => this.mixer.push('supervisor', payload, codec);
    supervisor.setSource(this.mixer.source('supervisor'));
    this.apply(mode);
  }

  get active(): boolean {
    return this.live;
  }

  get mode(): MonitorMode {
    return this.mixer.mode;
  }

  setMode(mode: MonitorMode): void {
    if (this.live) this.apply(mode);
  }

  stop(): void {
    this.end(false);
  }

  private apply(mode: MonitorMode): void {
    this.mixer.mode = mode;
    for (const [party, rtp] of [
      ['customer', this.customer],
      ['agent', this.agent],
    ] as const) {
      const mix = needsMix(mode, party);
      if (mix === this.mixing[party]) continue;
      this.mixing[party] = mix;
      this.pair.setMixed(rtp, mix);
      rtp.setSource(mix ? this.mixer.source(party) : null);
    }
  }

  /** `unbridged`: the pair's bridge is gone already (its owner decides what they hear next). */
  private end(unbridged: boolean): void {
    if (!this.live) return;
    this.live = false;
    if (!unbridged) {
      this.pair.tap = null;
      this.pair.onUnbridge = null;
      for (const rtp of [this.customer, this.agent]) this.pair.setMixed(rtp, false);
    }
    for (const [party, rtp] of [
      ['customer', this.customer],
      ['agent', this.agent],
    ] as const)
      if (this.mixing[party]) rtp.setSource(null);
    this.supervisor.onAudio = null;
    this.supervisor.setSource(null);
    if (unbridged) this.onEnded?.();
  }
}
