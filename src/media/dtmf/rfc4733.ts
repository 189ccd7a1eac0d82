/**
 * RFC 4733 telephone-events (DTMF over RTP).
 *
 * Payload (§2.3):
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     event     |E|R| volume    |          duration             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Events 0-9 are the digits, 10 `*`, 11 `#`, 12-15 `A`-`D` (§3.2). Volume is −dBm0 (0-63).
 *
 * Receiving (§2.5.1.x / §2.5.2): every packet of one event carries the event's start
 * timestamp; the duration grows; the end packet (E=1) is sent three times. We identify
 * an event by (SSRC, RTP timestamp, event code) and report it on the first packet we
 * see of it — the start packet normally, an update or an end packet when the start was
 * lost. Sequence numbers are NOT used to tell events apart: sipp's shipped pcaps, played
 * one after another, reuse one SSRC with sequence numbers going backwards (INTEROP.md),
 * and a new timestamp is what RFC 4733 makes the mark of a new event. A packet that
 * matches an event we last heard more than `replayGapMs` ago (default 300 ms) counts as
 * a new event, so the same pcap played twice still yields two digits.
 *
 * Sending (§2.5.1): one packet per 20 ms media frame; the first has the marker bit and
 * duration 160; updates every frame with the duration so far; the final duration is
 * sent in three end packets (E=1) on consecutive frames, each with a new sequence number
 * and the same timestamp (the event's start timestamp throughout).
 */

export const DTMF_EVENTS = '0123456789*#ABCD';

/** Event code for a DTMF character (case-insensitive for A-D), or -1. */
export function dtmfEventCode(digit: string): number {
  return DTMF_EVENTS.indexOf(digit.toUpperCase());
}

/** DTMF character for an event code 0-15, or undefined. */
export function dtmfDigit(event: number): string | undefined {
  return event >= 0 && event < 16 ? DTMF_EVENTS[event] : undefined;
}

export interface TelephoneEvent {
  event: number;
  end: boolean;
  /** −dBm0, 0-63. */
  volume: number;
  /** In timestamp units (1/8 ms at 8 kHz). */
  duration: number;
}

export const TELEPHONE_EVENT_SIZE = 4;

/** Writes a 4-byte telephone-event payload at `offset`; returns 4. */
export function writeTelephoneEvent(
  out: Buffer,
  offset: number,
  event: number,
  end: boolean,
  volume: number,
  duration: number,
): number {
  out[offset] = event & 0xff;
  out[offset + 1] = (end ? 0x80 : 0) | (volume & 0x3f);
  out[offset + 2] = (duration >>> 8) & 0xff;
  out[offset + 3] = duration & 0xff;
  return TELEPHONE_EVENT_SIZE;
}

/** Reads a telephone-event payload into `into` (reuse one object); false if shorter than 4 bytes. */
export function readTelephoneEvent(
  buf: Buffer,
  offset: number,
  length: number,
  into: TelephoneEvent,
): boolean {
  if (length < TELEPHONE_EVENT_SIZE) return false;
  into.event = buf[offset]!;
  into.end = (buf[offset + 1]! & 0x80) !== 0;
  into.volume = buf[offset + 1]! & 0x3f;
  into.duration = (buf[offset + 2]! << 8) | buf[offset + 3]!;
  return true;
}

export interface DtmfReceiverOptions {
  /** Milliseconds, monotonic; the time reported with each digit. */
  now: () => number;
  /** A packet for an event not heard for this long starts a new event (default 300). */
  replayGapMs?: number;
}

const HISTORY = 8;

/**
 * Turns a stream of telephone-event packets into digits, each reported once.
 * Allocation-free per packet (fixed ring of recent events in typed arrays).
 */
export class DtmfReceiver {
  /** Called once per event: the digit and now() when its first packet arrived. */
  onDigit: ((digit: string, atMs: number) => void) | null = null;

  private readonly now: () => number;
  private readonly replayGapMs: number;
  private readonly ssrcs = new Uint32Array(HISTORY);
  private readonly stamps = new Uint32Array(HISTORY);
  private readonly events = new Uint8Array(HISTORY);
  private readonly lastSeen = new Float64Array(HISTORY);
  private used = 0;
  private nextSlot = 0;
  /** Packets ignored: too short or an event code above 15 (non-DTMF events). */
  ignored = 0;

  constructor(options: DtmfReceiverOptions) {
    this.now = options.now;
    this.replayGapMs = options.replayGapMs ?? 300;
  }

  /**
   * Feeds one telephone-event payload (`payload[offset .. offset+length)`).
   * `seq` is accepted for diagnostics but not used to identify events (see file header).
   * Returns the digit if this packet started a new event, else undefined.
   */
  feed(
    ssrc: number,
    _seq: number,
    timestamp: number,
    payload: Buffer,
    offset = 0,
    length: number = payload.length - offset,
  ): string | undefined {
    if (length < TELEPHONE_EVENT_SIZE) {
      this.ignored++;
      return undefined;
    }
    const event = payload[offset]!;
    if (event > 15) {
      this.ignored++;
      return undefined;
    }
    const now = this.now();
    ssrc >>>= 0;
    timestamp >>>= 0;
    for (let i = 0; i < this.used; i++) {
      if (this.stamps[i] === timestamp && this.ssrcs[i] === ssrc && this.events[i] === event) {
        const fresh = now - this.lastSeen[i]! <= this.replayGapMs;
        this.lastSeen[i] = now;
        if (fresh) return undefined; // update, end or retransmitted end of a known event
        return this.report(event, now); // same pcap played again: a new event
      }
    }
    const slot = this.nextSlot;
    this.nextSlot = (slot + 1) % HISTORY;
    if (this.used < HISTORY) this.used++;
    this.ssrcs[slot] = ssrc;
    this.stamps[slot] = timestamp;
    this.events[slot] = event;
    this.lastSeen[slot] = now;
    return this.report(event, now);
  }

  /** Forgets all events (e.g. on a re-INVITE that changes the stream). */
  reset(): void {
    this.used = 0;
    this.nextSlot = 0;
  }

  private report(event: number, now: number): string {
    const digit = DTMF_EVENTS[event]!;
    this.onDigit?.(digit, now);
    return digit;
  }
}

export interface DtmfSenderOptions {
  /** Tone length (default 100 ms, rounded up to whole 20 ms frames). */
  toneMs?: number;
  /** Pause between digits (default 60 ms, whole frames). */
  gapMs?: number;
  /** −dBm0 (default 10). */
  volume?: number;
}

/** What `DtmfSender.next` produced for one 20 ms frame. */
export const DtmfFrame = {
  /** Nothing queued. */
  Idle: 0,
  /** A telephone-event payload was written; see `marker`, `eventTimestampFrame`. */
  Event: 1,
  /** Pause between queued digits: no event packet this frame. */
  Gap: 2,
} as const;
export type DtmfFrame = (typeof DtmfFrame)[keyof typeof DtmfFrame];

const FRAME_MS = 20;
const FRAME_TS = 160;
const END_REPEATS = 3;

/**
 * Frame-by-frame RFC 4733 event generator: queue digits, then call `next()` once per
 * 20 ms frame. No allocation per frame. The caller supplies the RTP timestamp: for an
 * event, all packets use the timestamp of the frame where `marker` was true.
 */
export class DtmfSender {
  /** True on the frame that starts an event (set the RTP marker bit, take the timestamp). */
  marker = false;
  private queue = '';
  private index = 0;
  private frame = 0; // frame within the current digit's cycle
  private readonly toneFrames: number;
  private readonly gapFrames: number;
  private readonly volume: number;

  constructor(options: DtmfSenderOptions = {}) {
    this.toneFrames = Math.max(1, Math.ceil((options.toneMs ?? 100) / FRAME_MS));
    this.gapFrames = Math.max(0, Math.ceil((options.gapMs ?? 60) / FRAME_MS));
    this.volume = options.volume ?? 10;
  }

  /** Queues digits (0-9 * # A-D); throws on others. */
  enqueue(digits: string): void {
    for (const d of digits) {
      if (dtmfEventCode(d) < 0) throw new RangeError(`not a DTMF digit: ${JSON.stringify(d)}`);
    }
    if (this.index >= this.queue.length) {
      this.queue = digits.toUpperCase();
      this.index = 0;
      this.frame = 0;
    } else {
      this.queue += digits.toUpperCase();
    }
  }

  /** Digits queued or in progress. */
  get active(): boolean {
    return this.index < this.queue.length;
  }

  /** Drops everything queued (an event in progress is cut without end packets). */
  clear(): void {
    this.queue = '';
    this.index = 0;
    this.frame = 0;
  }

  /**
   * Advances one frame; writes a 4-byte payload at `out[offset]` when it returns
   * `DtmfFrame.Event`.
   */
  next(out: Buffer, offset: number): DtmfFrame {
    this.marker = false;
    if (this.index >= this.queue.length) return DtmfFrame.Idle;
    const f = this.frame;
    const cycle = this.toneFrames + END_REPEATS - 1 + this.gapFrames;
    let result: DtmfFrame;
    if (f < this.toneFrames + END_REPEATS - 1) {
      const event = dtmfEventCode(this.queue[this.index]!);
      const end = f >= this.toneFrames - 1;
      const duration = Math.min(f + 1, this.toneFrames) * FRAME_TS;
      writeTelephoneEvent(out, offset, event, end, this.volume, duration);
      this.marker = f === 0;
      result = DtmfFrame.Event;
    } else {
      result = DtmfFrame.Gap;
    }
    this.frame = f + 1;
    if (this.frame >= cycle) {
      this.frame = 0;
      this.index++;
      if (this.index >= this.queue.length) this.clear();
    }
    return result;
  }
}

/** One planned packet of a digit (for tests and documentation). */
export interface PlannedEventPacket extends TelephoneEvent {
  marker: boolean;
  /** Frame number (20 ms units) from the start of the sequence. */
  frame: number;
}

/** The packet series `DtmfSender` produces for `digits` (gaps omitted). */
export function planDtmf(digits: string, options: DtmfSenderOptions = {}): PlannedEventPacket[] {
  const s = new DtmfSender(options);
  s.enqueue(digits);
  const buf = Buffer.alloc(4);
  const ev: TelephoneEvent = { event: 0, end: false, volume: 0, duration: 0 };
  const plan: PlannedEventPacket[] = [];
  for (let frame = 0; s.active; frame++) {
    if (s.next(buf, 0) === DtmfFrame.Event) {
      readTelephoneEvent(buf, 0, 4, ev);
      plan.push({ ...ev, marker: s.marker, frame });
    }
  }
  return plan;
}
