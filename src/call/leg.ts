import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { FrameSource } from '../media/player.ts';
import type { RtpSession } from '../media/rtp/session.ts';
import { parseInfoDtmf } from '../media/dtmf/sip-info.ts';
import type { InviteSession, DialogUser } from '../sip/user-agent.ts';
import { answerOffer, type LocalMedia, type MediaParams } from './sdp.ts';
import { feedDigit, type CollectOptions, type CollectResult } from './digits.ts';

/**
 * One leg: one SIP dialog plus one RTP session. The leg owns every timer it
 * starts and releases its RTP ports when it ends, whichever way it ends.
 *
 *   ringing ──answer──▶ answered ──hangup/BYE──▶ ended
 *      └──────cancel/reject/fail──────────────────┘
 */
export type LegState = 'ringing' | 'answered' | 'ended';
export type LegDirection = 'inbound' | 'outbound';
export type EndReason =
  'local_hangup' | 'remote_hangup' | 'cancelled' | 'rejected' | 'failed' | 'no_ack' | 'shutdown';

const ALLOWED: Record<LegState, readonly LegState[]> = {
  ringing: ['answered', 'ended'],
  answered: ['ended'],
  ended: [],
};

export type PlayOutcome = 'done' | 'interrupted' | 'stopped' | 'hangup';

export interface LegEvents {
  dtmf: (digit: string, atMs: number) => void;
  ended: (reason: EndReason) => void;
}

let legCounter = 0;

export class Leg {
  readonly id = `leg-${++legCounter}`;
  state: LegState = 'ringing';
  endReason: EndReason | undefined;
  session: InviteSession | undefined;
  media: MediaParams | undefined;
  /** Keys received and not yet consumed by a collection (type-ahead). */
  private digitBuffer = '';
  /** Keys received since secretInput(true), or undefined when keys may be logged. */
  private secretDigits: number | undefined;
  private readonly timers = new Set<TimerHandle>();
  private readonly listeners: { [K in keyof LegEvents]: Set<LegEvents[K]> } = {
    dtmf: new Set(),
    ended: new Set(),
  };
  private playing: { source: FrameSource; done: (o: PlayOutcome) => void; bargeIn: boolean } | undefined;
  private collecting: ((digit: string | undefined) => void) | undefined;
  private digitHandler: ((digit: string) => void) | null = null;
  private readonly sdpVersion = { value: 1 };

  constructor(
    readonly direction: LegDirection,
    readonly rtp: RtpSession,
    readonly local: Omit<LocalMedia, 'sessionVersion'>,
    /** The other party's number as they presented it (caller id) or the number we dial. */
    readonly remoteNumber: string,
    /** The number this leg called or was called on. */
    readonly localNumber: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    rtp.onDtmf = (digit, atMs) => this.onDigit(digit, atMs);
    rtp.onSourceEnd = () => this.finishPlay('done');
  }

  on<K extends keyof LegEvents>(event: K, fn: LegEvents[K]): () => void {
    this.listeners[event].add(fn);
    return () => this.listeners[event].delete(fn);
  }

  get isUp(): boolean {
    return this.state === 'answered';
  }

  /** Read through a getter so that checks after an await are not narrowed away. */
  get ended(): boolean {
    return this.state === 'ended';
  }

  get timerCount(): number {
    return this.timers.size;
  }

  localMedia(): LocalMedia {
    return { ...this.local, sessionVersion: this.sdpVersion.value };
  }

  /** Applies negotiated media to the RTP session. */
  applyMedia(media: MediaParams): void {
    this.media = media;
    this.rtp.setCodec({
      codec: media.codec,
      payloadType: media.payloadType,
      dtmfPayloadType: media.dtmfPayloadType,
    });
    this.rtp.setRemote(media.remoteHost, media.remotePort);
  }

  /** Binds the SIP session once the dialog is confirmed. */
  attach(session: InviteSession): void {
    this.session = session;
    const user: DialogUser = {
      onBye: () => this.end('remote_hangup'),
      onInfo: (contentType, body) => {
        const digit = parseInfoDtmf(contentType, body.toString('utf8'));
        if (digit !== undefined) this.onDigit(digit, this.clock.now());
      },
      onReinvite: (offer) => {
        if (offer === undefined) return { status: 488, reason: 'Offer required' };
        this.sdpVersion.value++;
        const answer = answerOffer(offer, this.localMedia());
        if (!answer.ok) return { status: answer.status, reason: answer.reason };
        this.applyMedia(answer.media);
        return { sdp: answer.sdp };
      },
    };
    session.user = user;
    this.transition('answered');
  }

  private transition(to: LegState): boolean {
    if (!ALLOWED[this.state].includes(to)) return false;
    this.state = to;
    return true;
  }

  // ── timers ──────────────────────────────────────────────────────────────
  /** A timer owned by this leg: cleared when it fires, when cancelled, or when the leg ends. */
  setTimer(fn: () => void, ms: number): TimerHandle {
    // An ended leg owns nothing any more: a timer armed now would outlive it.
    if (this.state === 'ended') return { id: -1 };
    const handle = this.clock.setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, ms);
    this.timers.add(handle);
    return handle;
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (!handle) return;
    this.clock.clearTimeout(handle);
    this.timers.delete(handle);
  }

  // ── media ───────────────────────────────────────────────────────────────
  /**
   * Plays a source until it finishes, another play replaces it, a key is
   * pressed (when barge-in is on; the key stays buffered for the next
   * collection), or the leg ends.
   */
  play(source: FrameSource, opts: { bargeIn?: boolean } = {}): Promise<PlayOutcome> {
    if (this.state === 'ended') return Promise.resolve('hangup');
    this.finishPlay('stopped');
    if (opts.bargeIn && this.digitBuffer.length > 0) return Promise.resolve('interrupted');
    return new Promise((resolve) => {
      this.playing = { source, done: resolve, bargeIn: opts.bargeIn ?? false };
      this.rtp.setSource(source);
    });
  }

  /** Starts a source that loops until replaced (music on hold, ringback). */
  loop(source: FrameSource): void {
    if (this.state === 'ended') return;
    this.finishPlay('stopped');
    this.rtp.setSource(source);
  }

  /** Stops whatever plays; the leg sends nothing until told otherwise. */
  silence(): void {
    this.finishPlay('stopped');
    this.rtp.setSource(null);
  }

  private finishPlay(outcome: PlayOutcome): void {
    const p = this.playing;
    if (!p) return;
    this.playing = undefined;
    if (outcome !== 'done') this.rtp.setSource(null);
    p.done(outcome);
  }

  sendDtmf(digits: string): void {
    if (this.state === 'answered') this.rtp.sendDtmf(digits);
  }

  // ── digits ──────────────────────────────────────────────────────────────
  private onDigit(digit: string, atMs: number): void {
    if (this.state !== 'answered') return;
    if (this.secretDigits === undefined) this.log.debug({ leg: this.id, digit }, 'dtmf');
    else this.secretDigits++;
    for (const fn of this.listeners.dtmf) fn(digit, atMs);
    if (this.digitHandler) {
      this.digitHandler(digit);
      return;
    }
    if (this.collecting) {
      this.collecting(digit);
      return;
    }
    this.digitBuffer += digit;
    if (this.playing?.bargeIn) this.finishPlay('interrupted');
  }

  /**
   * While on, keys are not logged (a PIN is being asked for or typed ahead);
   * turning it off logs only how many came. Every key still reaches the
   * listeners, the handler and collect() as usual.
   */
  secretInput(on: boolean): void {
    if (on) {
      this.secretDigits ??= 0;
      return;
    }
    if (this.secretDigits === undefined) return;
    this.log.debug({ leg: this.id, count: this.secretDigits }, 'dtmf (secret, not logged)');
    this.secretDigits = undefined;
  }

  /**
   * Hands every key to `fn` instead of the type-ahead buffer (an event-driven
   * menu such as the in-call agent menu); null gives keys back to collect().
   */
  setDigitHandler(fn: ((digit: string) => void) | null): void {
    this.digitHandler = fn;
    this.digitBuffer = '';
  }

  /** Forgets type-ahead keys (e.g. before asking for a PIN again). */
  flushDigits(): void {
    this.digitBuffer = '';
  }

  /** Takes keys from the type-ahead buffer first, then waits for more. */
  collect(opts: CollectOptions): Promise<CollectResult> {
    if (this.state !== 'answered') return Promise.resolve({ digits: '', reason: 'hangup' });
    if (this.collecting) this.collecting(undefined);
    return new Promise((resolve) => {
      let sofar = '';
      let timer: TimerHandle | undefined;
      const finish = (r: CollectResult): void => {
        this.clearTimer(timer);
        this.collecting = undefined;
        resolve(r);
      };
      const arm = (ms: number): void => {
        this.clearTimer(timer);
        timer = this.setTimer(() => finish({ digits: sofar, reason: 'timeout' }), ms);
      };
      const take = (digit: string): boolean => {
        const r = feedDigit(opts, sofar, digit);
        if ('reason' in r) {
          finish(r);
          return true;
        }
        sofar = r.digits;
        arm(opts.interDigitTimeoutMs);
        return false;
      };
      while (this.digitBuffer.length > 0) {
        const d = this.digitBuffer[0] ?? '';
        this.digitBuffer = this.digitBuffer.slice(1);
        if (take(d)) return;
      }
      arm(sofar.length ? opts.interDigitTimeoutMs : opts.firstDigitTimeoutMs);
      this.collecting = (digit) => {
        if (digit === undefined) return finish({ digits: sofar, reason: 'hangup' });
        take(digit);
      };
    });
  }

  // ── ending ──────────────────────────────────────────────────────────────
  /** Hangs up (BYE) if answered, then releases everything. Idempotent. */
  hangup(reason: EndReason = 'local_hangup'): Promise<void> {
    if (this.state === 'ended') return Promise.resolve();
    const bye = this.session && this.session.state === 'confirmed' ? this.session.bye() : Promise.resolve();
    this.end(reason);
    return bye;
  }

  /** Releases media, timers and waiters; SIP is already taken care of by the caller. */
  end(reason: EndReason): void {
    if (!this.transition('ended')) return;
    this.endReason = reason;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    this.finishPlay('hangup');
    this.collecting?.(undefined);
    this.collecting = undefined;
    this.rtp.close();
    if (this.session) this.session.user = null;
    this.log.debug({ leg: this.id, reason }, 'leg ended');
    for (const fn of this.listeners.ended) fn(reason);
    this.listeners.dtmf.clear();
    this.listeners.ended.clear();
    this.digitHandler = null;
  }
}
