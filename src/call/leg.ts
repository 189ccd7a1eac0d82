import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { StatefulFlow, type TransitionTable } from '../util/state-machine.ts';
import type { MediaEvent, MediaSession, Playable } from '../media/media-session.ts';
import { parseInfoDtmf } from '../media/dtmf/sip-info.ts';
import type { InviteSession, DialogRefusal, DialogUser } from '../sip/ua/invite-session.ts';
import type { HeaderField, SipRequest, SipResponse } from '../sip/message/types.ts';
import { formatSessionExpires, uacNegotiate, uacRequestHeaders, uasNegotiate } from '../sip/session-timer.ts';
import type { NegotiatedTimer, TimerPolicy } from '../sip/session-timer.ts';
import { SessionTimer, type ExpiryCause, type RefreshResult } from './session-timer.ts';
import { answerOffer, type LocalMedia, type MediaParams } from './sdp.ts';
import { feedDigit, type CollectOptions, type CollectResult } from './digits.ts';

/**
 * One leg: one SIP dialog plus one media session (the port, media/media-session.ts). The leg
 * owns every timer it starts and closes its media when it ends, whichever way it ends.
 *
 *   ringing ──answer──▶ answered ──hangup/BYE/media timeout──▶ ended
 *      └──────cancel/reject/fail────────────────────────────────┘
 *
 * The states are a StateMachine (util/state-machine.ts): every timer the leg
 * owns (`setTimer`, the watchdog, collect(), the session timer) belongs to the
 * state it was armed in, so answering clears what only ringing needed, and
 * ending clears everything.
 *
 * Media watchdog: a phone that vanishes without BYE (battery, lost coverage,
 * NAT timeout) would otherwise keep its leg for ever. While answered and not
 * held by the peer, a coarse leg timer looks at the RTP receive counter; when
 * nothing came for `mediaTimeoutMs` the leg hangs up (BYE) with
 * `media_timeout`. A peer that holds us (its SDP says sendonly, recvonly or
 * inactive, or c=0.0.0.0) may legitimately send nothing: the watchdog pauses
 * and starts afresh when a re-INVITE brings sendrecv back.
 *
 * Session timer (RFC 4028, ./session-timer.ts): when the dialog negotiated
 * one, the leg refreshes it (re-INVITE with the same SDP, or UPDATE when the
 * peer allows it) or watches for the peer's refreshes, and hangs up with
 * `session_expired` when the session is dead — the same way out as a media
 * timeout, so the call layers above treat both alike.
 */
export type LegState = 'ringing' | 'answered' | 'ended';
export type LegDirection = 'inbound' | 'outbound';
export type EndReason =
  | 'local_hangup'
  | 'remote_hangup'
  | 'cancelled'
  | 'rejected'
  | 'failed'
  | 'no_ack'
  | 'shutdown'
  | 'media_timeout'
  | 'session_expired'
  /** Our side's media went away (a media worker died) and could not be kept. */
  | 'media_lost'
  /** A supervisor ended the call, or took its agent out of it. */
  | 'supervisor';

/** The leg died without anyone's BYE (media timeout, expired session, lost media): not a hang-up on purpose. */
export function isDeadLeg(reason: EndReason | undefined): boolean {
  return reason === 'media_timeout' || reason === 'session_expired' || reason === 'media_lost';
}

/** The watchdog looks this often at most (and at least 4 times per timeout). */
const MEDIA_CHECK_MAX_MS = 1000;
const MEDIA_CHECK_MIN_MS = 100;

export const LEG_TRANSITIONS: TransitionTable<LegState> = {
  ringing: ['answered', 'ended'],
  answered: ['ended'],
  ended: [],
};

/** What setTimer hands out on an ended leg: it owns nothing any more, so nothing is armed. */
const NO_TIMER: TimerHandle = { id: -1 };

/** When the leg listens for DTMF tones in its audio (dtmf/inband.ts). */
export type InbandDtmfMode = 'always' | 'auto' | 'off';

export type PlayOutcome = 'done' | 'interrupted' | 'stopped' | 'hangup';

export interface LegEvents {
  dtmf: (digit: string, atMs: number) => void;
  ended: (reason: EndReason) => void;
}

let legCounter = 0;

export class Leg extends StatefulFlow<LegState> {
  readonly id = `leg-${++legCounter}`;
  endReason: EndReason | undefined;
  session: InviteSession | undefined;
  media: MediaParams | undefined;
  /** Keys received and not yet consumed by a collection (type-ahead). */
  private digitBuffer = '';
  /** Keys received since secretInput(true), or undefined when keys may be logged. */
  private secretDigits: number | undefined;
  private readonly listeners: { [K in keyof LegEvents]: Set<LegEvents[K]> } = {
    dtmf: new Set(),
    ended: new Set(),
  };
  private playing: { what: Playable; done: (o: PlayOutcome) => void; bargeIn: boolean } | undefined;
  private collecting: ((digit: string | undefined) => void) | undefined;
  private digitHandler: ((digit: string) => void) | null = null;
  private readonly sdpVersion = { value: 1 };
  /** Running media watchdog: when we last saw the receive counter move, and its value then. */
  private mediaWatch:
    { timer: TimerHandle; heardAt: number; packets: number; confirming: boolean } | undefined;
  /** `auto`: only when the peer's SDP has no telephone-event (it can send keys no other way). */
  inbandDtmf: InbandDtmfMode = 'auto';
  /** What the media session was last told about in-band detection (it starts off). */
  private inbandOn = false;
  /** RFC 4028 refresh/expiry, running once the dialog negotiated a session timer. */
  readonly sessionTimer: SessionTimer;

  constructor(
    readonly direction: LegDirection,
    /** The leg's media, through the port only (commands in, events out). */
    readonly mediaSession: MediaSession,
    readonly local: Omit<LocalMedia, 'sessionVersion'>,
    /** The other party's number as they presented it (caller id) or the number we dial. */
    readonly remoteNumber: string,
    /** The number this leg called or was called on. */
    readonly localNumber: string,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** No RTP for this long on an answered, unheld leg ends it (0 = never). */
    private readonly mediaTimeoutMs = 0,
    /** Session timers (RFC 4028) we grant and ask for; undefined: none on this leg. */
    readonly sessionPolicy?: TimerPolicy,
  ) {
    super({ name: 'leg', initial: 'ringing', transitions: LEG_TRANSITIONS, clock });
    mediaSession.onEvent = (e) => this.onMediaEvent(e);
    this.sessionTimer = new SessionTimer({
      now: () => this.clock.now(),
      setTimer: (fn, ms) => this.setTimer(fn, ms),
      clearTimer: (h) => this.clearTimer(h),
      refresh: (t) => this.sendRefresh(t),
      expired: (cause, detail) => this.onSessionExpired(cause, detail),
    });
  }

  on<K extends keyof LegEvents>(event: K, fn: LegEvents[K]): () => void {
    this.listeners[event].add(fn);
    return () => this.listeners[event].delete(fn);
  }

  /** Getters, as `state` is, so that checks after an await are not narrowed away. */
  get isUp(): boolean {
    return this.machine.is('answered');
  }

  get ended(): boolean {
    return this.machine.final;
  }

  get timerCount(): number {
    return this.machine.armed;
  }

  localMedia(): LocalMedia {
    return { ...this.local, sessionVersion: this.sdpVersion.value };
  }

  /** Applies negotiated media to the media session. */
  applyMedia(media: MediaParams): void {
    this.media = media;
    this.mediaSession.setCodec({
      codec: media.codec,
      payloadType: media.payloadType,
      dtmfPayloadType: media.dtmfPayloadType,
      cnPayloadType: media.cnPayloadType,
    });
    // SDES: we send with our key, the peer with the one in its SDP (RFC 4568 §6.1).
    const key = this.local.sdesKey;
    this.mediaSession.setSrtp(
      media.srtp && key ? { send: key.bytes, receive: media.srtp.remoteKey.bytes } : null,
    );
    this.mediaSession.setRemote(media.remoteHost, media.remotePort);
    if (this.isUp) this.watchMedia();
    this.updateFill();
    const inband =
      this.inbandDtmf === 'always' || (this.inbandDtmf === 'auto' && media.dtmfPayloadType === undefined);
    if (inband !== this.inbandOn) {
      this.inbandOn = inband;
      this.mediaSession.setInbandDtmf(inband);
      this.log.debug({ leg: this.id, inband }, 'inband DTMF detection');
    }
  }

  /**
   * Binds the SIP session once the dialog is confirmed; `timer` is the
   * session timer its INVITE transaction negotiated, if any.
   */
  attach(session: InviteSession, timer?: NegotiatedTimer): void {
    // Ended meanwhile: the caller hangs the dialog up; this leg binds nothing any more.
    if (!this.machine.transition('answered', 'dialog confirmed')) return;
    this.session = session;
    const user: DialogUser = {
      onBye: () => this.end('remote_hangup'),
      onInfo: (contentType, body) => {
        const digit = parseInfoDtmf(contentType, body.toString('utf8'));
        if (digit !== undefined) this.onDigit(digit, this.clock.now());
      },
      onReinvite: (offer, req) => {
        const refresh = this.peerRefresh(req);
        if ('status' in refresh) return refresh;
        if (offer === undefined) {
          // An offerless re-INVITE (some phones refresh so): we offer the session unchanged —
          // the SDP we sent last, same version (RFC 3264 §8) — and the answer in the ACK
          // cannot change anything. Without a session timer we have no use for it.
          const last = this.session?.localSdp;
          if (!refresh.timer || last === undefined) return { status: 488, reason: 'Offer required' };
          this.sessionRefreshed(refresh.timer);
          return { sdp: last, headers: refresh.headers };
        }
        const answer = this.answerPeerOffer(offer, 're-INVITE');
        if ('status' in answer) return answer;
        this.sessionRefreshed(refresh.timer);
        return { sdp: answer.sdp, headers: refresh.headers };
      },
      onUpdate: (offer, req) => {
        const refresh = this.peerRefresh(req);
        if ('status' in refresh) return refresh;
        const answer = offer === undefined ? undefined : this.answerPeerOffer(offer, 'UPDATE');
        if (answer && 'status' in answer) return answer;
        this.sessionRefreshed(refresh.timer);
        return { sdp: answer?.sdp, headers: refresh.headers };
      },
    };
    session.user = user;
    this.watchMedia();
    if (timer) {
      this.log.debug({ leg: this.id, ...timer }, 'session timer');
      this.sessionTimer.start(timer);
    }
    this.updateFill();
  }

  /** The peer's new offer (re-INVITE or UPDATE), answered and applied; a new session version. */
  private answerPeerOffer(offer: string, method: 're-INVITE' | 'UPDATE'): { sdp: string } | DialogRefusal {
    this.sdpVersion.value++;
    const answer = answerOffer(offer, this.localMedia());
    if (!answer.ok) return { status: answer.status, reason: answer.reason };
    const downgrade = this.refuseDowngrade(answer.media, method);
    if (downgrade) return downgrade;
    this.applyMedia(answer.media);
    return { sdp: answer.sdp };
  }

  /**
   * Once SRTP, always SRTP: a re-INVITE or UPDATE (RFC 3311 carries offers too) must not take
   * the call to plain RTP, whatever the policy, or one rogue request would silently downgrade
   * the media.
   */
  private refuseDowngrade(
    next: MediaParams,
    method: 're-INVITE' | 'UPDATE',
  ): { status: 488; reason: string } | undefined {
    if (!this.media?.srtp || next.srtp) return undefined;
    this.log.warn({ leg: this.id }, `${method} to plain RTP on an SRTP call refused (488)`);
    return { status: 488, reason: 'SRTP required' };
  }

  // ── session timer (RFC 4028) ────────────────────────────────────────────
  /**
   * A re-INVITE or UPDATE from the peer, as UAS of that transaction (§9):
   * 422 when its interval is below our Min-SE; else the timer it settles and
   * the headers of our 2xx. A request without Session-Expires while a timer
   * runs keeps that timer (a hold re-INVITE from a phone that leaves timers
   * to its stack): turning it off would leave a dead phone undetected.
   */
  private peerRefresh(
    req: SipRequest,
  ):
    | { timer: NegotiatedTimer | undefined; headers: HeaderField[] }
    | { status: number; headers: HeaderField[] } {
    if (!this.sessionPolicy) return { timer: undefined, headers: [] };
    const d = uasNegotiate(req, this.sessionPolicy);
    if (d.kind === 'too_small') return { status: 422, headers: d.headers };
    if (d.kind === 'timer') return { timer: d.timer, headers: d.headers };
    const cur = this.sessionTimer.timer;
    if (!cur || this.sessionTimer.state === 'off') return { timer: undefined, headers: [] };
    // In this transaction the peer is the uac: "uas" is us.
    const refresher = cur.refresher === 'local' ? 'uas' : 'uac';
    return {
      timer: cur,
      headers: [
        { name: 'Session-Expires', value: formatSessionExpires({ seconds: cur.intervalS, refresher }) },
      ],
    };
  }

  private sessionRefreshed(timer: NegotiatedTimer | undefined): void {
    if (!timer) return;
    if (this.sessionTimer.state === 'off') this.sessionTimer.start(timer);
    else this.sessionTimer.refreshed(timer);
  }

  /**
   * Our refresh (§7.4): UPDATE without SDP when the peer allows it (no new
   * offer/answer round), else a re-INVITE with the SDP we sent last, session
   * version unchanged (RFC 3264 §8: nothing changed). We stay the refresher.
   */
  private async sendRefresh(t: NegotiatedTimer): Promise<RefreshResult> {
    const s = this.session;
    if (!s?.live) return { kind: 'dead', status: 481 };
    const headers = uacRequestHeaders(t.intervalS, t.minSeS, 'uac');
    let res: SipResponse | undefined;
    if (s.peerAllowsUpdate) res = await s.update(headers);
    else if (s.localSdp !== undefined) res = await s.reinvite(s.localSdp, headers);
    else res = await s.update(headers);
    if (!res) return { kind: 'dead', status: 408 };
    // §10 with RFC 3261 §12.2.1.2: 408 and 481 mean the dialog is gone.
    if (res.status === 408 || res.status === 481) return { kind: 'dead', status: res.status };
    if (res.status >= 200 && res.status < 300)
      return { kind: 'ok', timer: uacNegotiate(res, { intervalS: t.intervalS, minSeS: t.minSeS }) };
    if (t.probeOnly) return { kind: 'ok', timer: t };
    return { kind: 'refused', status: res.status };
  }

  private onSessionExpired(cause: ExpiryCause, detail: { intervalS: number; status?: number }): void {
    if (!this.isUp) return;
    this.log.warn(
      { leg: this.id, number: this.remoteNumber, cause, ...detail },
      'session timer expired: hanging up (phone gone without BYE?)',
    );
    void this.hangup('session_expired');
  }

  /**
   * Issue 10 item 7: an answered leg is never silent on the wire (a phone with an RTP timeout
   * hangs up otherwise): comfort noise or encoded silence whenever nothing plays. Not while the
   * peer holds us (sendonly/inactive from its side: it wants nothing from us).
   */
  private updateFill(): void {
    const dir = this.media?.direction ?? 'sendrecv';
    this.mediaSession.setFill(this.isUp && dir !== 'sendonly' && dir !== 'inactive');
  }

  // ── media watchdog ──────────────────────────────────────────────────────
  /** Starts, keeps or pauses the watchdog after answer and after every SDP change. */
  private watchMedia(): void {
    const held = this.media !== undefined && this.media.direction !== 'sendrecv';
    if (this.mediaTimeoutMs <= 0 || held || !this.isUp) {
      if (this.mediaWatch) this.clearTimer(this.mediaWatch.timer);
      this.mediaWatch = undefined;
      return;
    }
    // Already running (a session refresh, a codec change): the silence so far still counts.
    if (this.mediaWatch) return;
    this.mediaWatch = {
      timer: { id: -1 },
      heardAt: this.clock.now(),
      packets: this.mediaSession.stats().packetsReceived,
      confirming: false,
    };
    this.armMediaCheck(this.mediaCheckStep());
  }

  private mediaCheckStep(): number {
    return Math.max(MEDIA_CHECK_MIN_MS, Math.min(MEDIA_CHECK_MAX_MS, this.mediaTimeoutMs / 4));
  }

  private armMediaCheck(ms: number): void {
    const w = this.mediaWatch;
    if (w) w.timer = this.setTimer(() => this.checkMedia(), ms);
  }

  /** One look at the receive counter: no per-packet work on the hot path. */
  private checkMedia(): void {
    const w = this.mediaWatch;
    // Armed only while answered: the state's timers never fire after it.
    if (!w) return;
    const now = this.clock.now();
    const packets = this.mediaSession.stats().packetsReceived;
    if (packets !== w.packets) {
      w.packets = packets;
      w.heardAt = now;
      w.confirming = false;
    } else if (now - w.heardAt >= this.mediaTimeoutMs) {
      if (!w.confirming) {
        // Timers run before I/O in an event-loop turn: after a stall (GC, a loaded host) the
        // packets that did come may still be unread. Look once more after the next I/O poll.
        w.confirming = true;
        this.armMediaCheck(0);
        return;
      }
      this.mediaWatch = undefined;
      this.log.warn(
        { leg: this.id, number: this.remoteNumber, silentMs: Math.round(now - w.heardAt) },
        'no RTP from the phone: hanging up (media timeout; phone gone without BYE?)',
      );
      void this.hangup('media_timeout');
      return;
    }
    this.armMediaCheck(this.mediaCheckStep());
  }

  // ── timers ──────────────────────────────────────────────────────────────
  /**
   * A timer owned by this leg's current state: cleared when it fires, when
   * cancelled, when the leg is answered (a ringing leg's timers) or ends.
   */
  setTimer(fn: () => void, ms: number): TimerHandle {
    // An ended leg owns nothing any more: a timer armed now would outlive it.
    if (this.machine.final) return NO_TIMER;
    return this.machine.arm(ms, fn);
  }

  clearTimer(handle: TimerHandle | undefined): void {
    this.machine.disarm(handle);
  }

  // ── media ───────────────────────────────────────────────────────────────
  /**
   * Plays a source until it finishes, another play replaces it, a key is
   * pressed (when barge-in is on; the key stays buffered for the next
   * collection), or the leg ends.
   */
  play(what: Playable, opts: { bargeIn?: boolean } = {}): Promise<PlayOutcome> {
    if (this.ended) return Promise.resolve('hangup');
    this.finishPlay('stopped');
    if (opts.bargeIn && this.digitBuffer.length > 0) return Promise.resolve('interrupted');
    return new Promise((resolve) => {
      this.playing = { what, done: resolve, bargeIn: opts.bargeIn ?? false };
      this.mediaSession.play(what);
    });
  }

  /** Starts a sound that loops until replaced (music on hold, ringback). */
  loop(what: Playable): void {
    if (this.ended) return;
    this.finishPlay('stopped');
    this.mediaSession.play(what);
  }

  /** Stops whatever plays; the leg sends nothing until told otherwise. */
  silence(): void {
    this.finishPlay('stopped');
    this.mediaSession.stop();
  }

  private finishPlay(outcome: PlayOutcome): void {
    const p = this.playing;
    if (!p) return;
    this.playing = undefined;
    if (outcome !== 'done') this.mediaSession.stop();
    p.done(outcome);
  }

  sendDtmf(digits: string): void {
    if (this.isUp) this.mediaSession.sendDtmf(digits);
  }

  private onMediaEvent(e: MediaEvent): void {
    if (e.type === 'dtmf') this.onDigit(e.digit, e.atMs);
    else if (e.type === 'playEnded') this.finishPlay('done');
    else if (!this.ended) {
      this.log.warn(
        { leg: this.id, number: this.remoteNumber },
        'media lost (media worker died): hanging up',
      );
      void this.hangup('media_lost');
    }
  }

  // ── digits ──────────────────────────────────────────────────────────────
  private onDigit(digit: string, atMs: number): void {
    if (!this.isUp) return;
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
    if (!this.isUp) return Promise.resolve({ digits: '', reason: 'hangup' });
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
    if (this.machine.final) return Promise.resolve();
    const bye = this.session?.live ? this.session.bye() : Promise.resolve();
    this.end(reason);
    return bye;
  }

  /** Releases media, timers and waiters; SIP is already taken care of by the caller. */
  end(reason: EndReason): void {
    // Idempotent: an ended leg refuses the move. Leaving the state clears every timer it owned.
    if (!this.machine.transition('ended', reason)) return;
    this.endReason = reason;
    this.mediaWatch = undefined;
    this.sessionTimer.stop();
    this.finishPlay('hangup');
    this.collecting?.(undefined);
    this.collecting = undefined;
    this.mediaSession.close();
    if (this.session) this.session.user = null;
    this.log.debug({ leg: this.id, reason }, 'leg ended');
    for (const fn of this.listeners.ended) fn(reason);
    this.listeners.dtmf.clear();
    this.listeners.ended.clear();
    this.digitHandler = null;
  }
}
