/**
 * The audio of a monitored call (listen / whisper / barge, issue 14 item 4): three parties —
 * the customer, the agent and the supervisor — and, per mode, who hears whom. A bridge
 * relays G.711 payloads untouched; a party that hears two others needs real mixing: each
 * received payload is decoded to linear into its party's queue, and once per 20 ms tick of
 * the media clock every queue gives one frame; a party's output is the sum of the frames of
 * those it hears, clipped to 16 bits, which its session encodes in its own codec.
 *
 * Pure: no sockets, no timers. The clock's frame counter says when a new tick began, so the
 * first output read on a tick advances every queue once, whichever session ticks first.
 */

import { decodeFrame, type Codec } from './codec/g711.ts';
import { FRAME_SIZE, type FrameSource } from './frame-source.ts';

export type MixParty = 'customer' | 'agent' | 'supervisor';
export type MonitorMode = 'listen' | 'whisper' | 'barge';

export const MIX_PARTIES: readonly MixParty[] = ['customer', 'agent', 'supervisor'];
export const MONITOR_MODES: readonly MonitorMode[] = ['listen', 'whisper', 'barge'];

/**
 * Who hears whom. The supervisor always hears both; the agent hears the supervisor from
 * whisper on, the customer only in barge. Nobody ever hears themselves.
 */
export const HEARS: Readonly<Record<MonitorMode, Readonly<Record<MixParty, readonly MixParty[]>>>> = {
  listen: { customer: ['agent'], agent: ['customer'], supervisor: ['customer', 'agent'] },
  whisper: { customer: ['agent'], agent: ['customer', 'supervisor'], supervisor: ['customer', 'agent'] },
  barge: {
    customer: ['agent', 'supervisor'],
    agent: ['customer', 'supervisor'],
    supervisor: ['customer', 'agent'],
  },
};

/** True when `party` hears more than one other in `mode`: the plain relay cannot serve it. */
export function needsMix(mode: MonitorMode, party: MixParty): boolean {
  return HEARS[mode][party].length > 1;
}

/** Queued audio per party, at most this much (older samples go): it bounds the added delay. */
const MAX_QUEUED = FRAME_SIZE * 3;

/** One party's received audio, decoded, oldest first. */
class PartyQueue {
  private readonly buf = new Int16Array(MAX_QUEUED + 480);
  private length = 0;
  private readonly scratch = new Int16Array(480);
  /** The frame this party contributes on the current tick (silence when nothing came). */
  readonly frame = new Int16Array(FRAME_SIZE);

  push(payload: Buffer, codec: Codec): void {
    const n = decodeFrame(codec, payload, this.scratch);
    this.buf.set(this.scratch.subarray(0, n), this.length);
    this.length += n;
    if (this.length > MAX_QUEUED) {
      this.buf.copyWithin(0, this.length - MAX_QUEUED, this.length);
      this.length = MAX_QUEUED;
    }
  }

  /** Takes one frame into `frame`: a whole one, or silence until a whole one is there. */
  advance(): void {
    if (this.length < FRAME_SIZE) {
      this.frame.fill(0);
      return;
    }
    this.frame.set(this.buf.subarray(0, FRAME_SIZE));
    this.buf.copyWithin(0, FRAME_SIZE, this.length);
    this.length -= FRAME_SIZE;
  }

  clear(): void {
    this.length = 0;
    this.frame.fill(0);
  }
}

export class Mixer {
  private readonly queues: Record<MixParty, PartyQueue> = {
    customer: new PartyQueue(),
    agent: new PartyQueue(),
    supervisor: new PartyQueue(),
  };
  private lastFrame = Number.NaN;
  private current: MonitorMode;

  /** `frameNow`: the media clock's frame counter (MediaClock.frame). */
  constructor(
    private readonly frameNow: () => number,
    mode: MonitorMode,
  ) {
    this.current = mode;
  }

  get mode(): MonitorMode {
    return this.current;
  }

  set mode(mode: MonitorMode) {
    this.current = mode;
  }

  /** A payload `party` sent (a view, copied at once). */
  push(party: MixParty, payload: Buffer, codec: Codec): void {
    this.queues[party].push(payload, codec);
  }

  /** Forgets what `party` queued (its output just started: old audio would only add delay). */
  reset(party: MixParty): void {
    this.queues[party].clear();
  }

  /** Writes the 20 ms `party` hears now into `out`. */
  mixFor(party: MixParty, out: Int16Array): void {
    const frame = this.frameNow();
    if (frame !== this.lastFrame) {
      this.lastFrame = frame;
      for (const p of MIX_PARTIES) this.queues[p].advance();
    }
    const heard = HEARS[this.current][party].map((p) => this.queues[p].frame);
    for (let i = 0; i < FRAME_SIZE; i++) {
      let sum = 0;
      for (const f of heard) sum += f[i]!;
      out[i] = sum > 32767 ? 32767 : sum < -32768 ? -32768 : sum;
    }
  }

  /** What `party`'s session plays while it is mixed: never ends (monitoring stops it). */
  source(party: MixParty): FrameSource {
    return {
      read: (out) => {
        this.mixFor(party, out);
        return true;
      },
    };
  }
}
