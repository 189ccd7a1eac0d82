import type { Logger } from 'pino';
import type { Clock } from '../util/clock.ts';
import type { MediaBridge, MediaSession, MediaSessions } from '../media/media-session.ts';
import type { SipResponse, SipUri } from '../sip/message/types.ts';
import type { Endpoint } from '../sip/transport/transport.ts';
import type { HeaderField } from '../sip/message/types.ts';
import type { IncomingInvite } from '../sip/ua/incoming-invite.ts';
import type { InviteOutcome, OutboundAuth, OutgoingInvite } from '../sip/ua/outgoing-invite.ts';
import type { UserAgent } from '../sip/ua/user-agent.ts';
import { readCallerIdentity } from '../sip/message/identity.ts';
import { hostForUri } from '../sip/transport/transport.ts';
import { normaliseNumber } from '../util/phone-number.ts';
import { Leg, type InbandDtmfMode } from './leg.ts';
import {
  parseMinSe,
  parseSessionExpires,
  uacNegotiate,
  uacRequestHeaders,
  uasNegotiate,
  type NegotiatedTimer,
  type TimerPolicy,
} from '../sip/session-timer.ts';
import { getHeader } from '../sip/message/headers.ts';
import {
  SdesKey,
  answerOffer,
  buildOffer,
  checkAnswer,
  maskSdpKeys,
  type AudioCodec,
  type MediaParams,
  type SrtpPolicy,
} from './sdp.ts';

/** Where an outbound call goes: the URI to put on the request line and the hop to send it to. */
export interface DialTarget {
  uri: SipUri;
  destination: Endpoint;
  /** The trunk this goes through (for log lines), absent for a registered phone. */
  trunk?: string;
  /** Credentials when the trunk challenges. */
  auth?: OutboundAuth;
  /** From host the trunk wants (its domain), else our address. */
  fromHost?: string;
  /** The trunk's way of writing numbers, for the presented caller id (From, identity headers). */
  formatNumber?: (number: string) => string;
  /** The trunk's inband DTMF setting; `auto` (or none) follows the engine's. */
  inbandDtmf?: InbandDtmfMode;
  /** SRTP policy of the trunk or SIP account (default optional: our offer is RTP/AVP). */
  srtp?: SrtpPolicy;
}

export type DialResult = { kind: 'answered'; leg: Leg } | Exclude<InviteOutcome, { kind: 'answered' }>;

/**
 * Whether a failed dial is the called party's own doing (busy, declined, did
 * not answer in time) — the only results that may count against an agent.
 * Everything else (5xx, no response, authentication, no media port) is ours
 * or the network's.
 */
export function isCalleeFailure(r: DialResult): boolean {
  return r.kind === 'busy' || r.kind === 'no_answer' || r.kind === 'rejected';
}

/** Results after which the next trunk is tried (the trunk failed, not the number). */
function worthFailover(o: InviteOutcome): boolean {
  if (o.kind === 'auth_failed') return true;
  if (o.kind !== 'failed') return false;
  return o.status >= 500 || o.status === 408 || o.status === 403;
}

export interface Dialing {
  /** Absent when no media port could be had: the result is then already a failure. */
  leg: Leg | undefined;
  result: Promise<DialResult>;
  /** Abandons the attempt (CANCEL); the result then resolves as cancelled. */
  cancel(): void;
}

export interface DialOptions {
  /** Tried in order: the next one when a trunk fails (5xx, no response, authentication). */
  targets: DialTarget[];
  /** Caller id shown to the called phone; `host` replaces the From host (`anonymous.invalid`). */
  callerId: { user: string; displayName?: string; host?: string };
  /** Ring timeout; on expiry we CANCEL and resolve no_answer. */
  timeoutMs: number;
  /** 180/183: the far end rings; `early` is true when its early media now flows on the leg. */
  onProgress?: (early: boolean) => void;
  /**
   * Extra headers on the INVITE (P-Asserted-Identity, Diversion). A function
   * gets the host our From would carry on each target (the trunk's domain or
   * our address), for identities in URIs the carrier recognises, and the
   * target's way of writing numbers.
   */
  headers?: HeaderField[] | ((host: string, format: (number: string) => string) => HeaderField[]);
  /** The leg this one will be bridged with (the customer's): its media is opened next to it. */
  near?: Leg;
}

export interface InboundCall {
  leg: Leg;
  invite: IncomingInvite;
  /** The number dialled (Request-URI user). */
  called: string;
  /**
   * The calling number: the asserted identity (P-Asserted-Identity,
   * Remote-Party-ID) or else the From user, normalised (8…, 7… → +7…); ''
   * when the caller sent none (anonymous).
   */
  caller: string;
  /** The identity's user part as sent, for reading in a company's dial plan (absent: use `caller`). */
  callerUser?: string;
  /** The caller's display name, if they sent one. */
  callerName: string | undefined;
  /** The caller withheld their identity (Privacy: id, anonymous From): show it to no one. */
  callerPrivate: boolean;
  /** 200 OK with our answer; resolves false if the caller left before the ACK. */
  answer(): Promise<boolean>;
  ring(): void;
  reject(status: number, reason?: string): void;
}

export interface CallEngineOptions {
  ua: UserAgent;
  /** Where legs' media sessions come from (the port; the composition root picks the kind). */
  media: MediaSessions;
  clock: Clock;
  logger: Logger;
  /** Address that goes into our SDP (and that RTP binds to, unless rtpBindHost says otherwise). */
  rtpHost: string;
  /** Per peer (its IP), the address our SDP gives it (--local-nets); wins over rtpHost. */
  rtpHostFor?: (peer: string | undefined) => string;
  /** Address RTP sockets bind to (0.0.0.0: all), when it is not rtpHost. */
  rtpBindHost?: string;
  codecs?: AudioCodec[];
  /** With more than one trunk: how long a trunk may stay silent (no 100 even) before the next is tried. */
  noResponseMs?: number;
  /** An answered leg that receives no RTP this long (and is not held) is hung up; 0 never (default). */
  mediaTimeoutMs?: number;
  /** Tone detection on received audio (default auto: legs without telephone-event). */
  inbandDtmf?: InbandDtmfMode;
  /** Session timers (RFC 4028): offered on our calls, granted to callers that ask; undefined off. */
  sessionTimer?: TimerPolicy;
  /** SRTP policy for an inbound INVITE (its trunk's or SIP account's); default optional. */
  srtpPolicy?: (invite: IncomingInvite) => SrtpPolicy;
}

/**
 * Turns SIP sessions into legs and back: answers inbound INVITEs with SDP,
 * places outbound calls with typed results, and bridges legs. Knows nothing
 * of queues or menus; the application gets inbound calls through onInbound.
 */
export class CallEngine {
  onInbound: ((call: InboundCall) => void) | null = null;
  readonly legs = new Set<Leg>();
  private readonly log: Logger;
  private readonly codecs: AudioCodec[];
  private readonly noResponseMs: number;

  constructor(private readonly opts: CallEngineOptions) {
    this.log = opts.logger;
    this.codecs = opts.codecs ?? ['PCMU', 'PCMA'];
    this.noResponseMs = opts.noResponseMs ?? 4000;
  }

  get activeLegs(): number {
    return this.legs.size;
  }

  private openRtp(near?: Leg): Promise<MediaSession> {
    return this.opts.media.open({
      host: this.opts.rtpBindHost ?? this.opts.rtpHost,
      near: near?.mediaSession,
    });
  }

  private track(leg: Leg): Leg {
    this.legs.add(leg);
    leg.inbandDtmf = this.opts.inbandDtmf ?? 'auto';
    leg.on('ended', () => this.legs.delete(leg));
    return leg;
  }

  private localMedia(
    rtp: MediaSession,
    peer: string | undefined,
    srtp: SrtpPolicy,
  ): {
    host: string;
    port: number;
    codecs: AudioCodec[];
    sessionId: number;
    srtp: SrtpPolicy;
    sdesKey: SdesKey;
  } {
    return {
      host: this.opts.rtpHostFor?.(peer) ?? this.opts.rtpHost,
      port: rtp.localPort,
      codecs: this.codecs,
      sessionId: Math.floor(Math.random() * 1e9),
      srtp,
      // Our SRTP master key for this leg's sending direction (the peer sends with its own).
      sdesKey: SdesKey.random(),
    };
  }

  /** An answer to our offer, or undefined with a warn line when it is unusable for SRTP. */
  private readAnswerOf(sdp: string, leg: Leg, trunk: string | undefined): MediaParams | undefined {
    this.log.debug({ leg: leg.id, sdp: maskSdpKeys(sdp) }, 'SDP answer received');
    const media = checkAnswer(sdp, leg.localMedia());
    if (!('reason' in media)) return media;
    if (media.srtp)
      this.log.warn(
        {
          leg: leg.id,
          trunk: trunk ?? 'direct',
          number: leg.remoteNumber,
          policy: leg.local.srtp,
          reason: media.reason,
        },
        'answer refused: SRTP policy not met',
      );
    return undefined;
  }

  /** Handles one INVITE from the UA: media first, then the application decides. */
  async handleInvite(invite: IncomingInvite): Promise<void> {
    const offer = invite.offer;
    // RFC 4028 §9: an interval below our Min-SE is refused before anything else (422 + Min-SE).
    const timer = this.opts.sessionTimer ? uasNegotiate(invite.request, this.opts.sessionTimer) : undefined;
    if (timer?.kind === 'too_small') {
      this.log.info({ callId: invite.callId }, 'session interval too small: 422');
      return invite.reject(422, 'Session Interval Too Small', timer.headers);
    }
    const srtp = this.opts.srtpPolicy?.(invite) ?? 'optional';
    // Refuse an offer we cannot answer before taking any port (RFC 3264 §6: 488).
    if (offer !== undefined) {
      this.log.debug({ called: invite.calledUser, sdp: maskSdpKeys(offer) }, 'SDP offer received');
      const probe = answerOffer(offer, {
        host: this.opts.rtpHost,
        port: 9,
        codecs: this.codecs,
        sessionId: 0,
        sessionVersion: 0,
        srtp,
        sdesKey: SdesKey.random(),
      });
      if (!probe.ok) {
        if (probe.srtp)
          this.log.warn(
            { source: invite.source.address, called: invite.calledUser, policy: srtp, reason: probe.reason },
            'INVITE refused (488): SRTP policy not met',
          );
        return invite.reject(probe.status, probe.reason);
      }
    }
    let rtp: MediaSession;
    try {
      rtp = await this.openRtp();
    } catch (err) {
      this.log.warn({ err }, 'no RTP port for an inbound call');
      return invite.reject(503, 'No Media Ports');
    }
    if (invite.state !== 'pending') {
      rtp.close(); // cancelled while we were binding
      return;
    }
    const identity = readCallerIdentity(invite.request);
    const caller = identity.user ? normaliseNumber(identity.user) : '';
    const leg = this.track(
      new Leg(
        'inbound',
        rtp,
        this.localMedia(rtp, invite.source.address, srtp),
        caller,
        invite.calledUser,
        this.opts.clock,
        this.log,
        this.opts.mediaTimeoutMs,
        this.opts.sessionTimer,
      ),
    );
    invite.onCancel = () => leg.end('cancelled');
    const call: InboundCall = {
      leg,
      invite,
      called: invite.calledUser,
      caller,
      callerUser: identity.user || undefined,
      callerName: identity.displayName,
      callerPrivate: identity.private,
      ring: () => invite.provisional(180),
      reject: (status, reason) => {
        invite.reject(status, reason);
        leg.end('rejected');
      },
      answer: async () => {
        if (leg.state !== 'ringing') return false;
        let sdp: string;
        if (offer !== undefined) {
          const answer = answerOffer(offer, leg.localMedia());
          if (!answer.ok) {
            call.reject(answer.status, answer.reason);
            return false;
          }
          leg.applyMedia(answer.media);
          sdp = answer.sdp;
        } else {
          // §13.2.1 / RFC 3264: no offer in the INVITE → we offer in the 200, answer comes in the ACK.
          sdp = buildOffer(leg.localMedia());
        }
        const accepted = await invite.accept(sdp, timer?.kind === 'timer' ? timer.headers : []);
        if (!accepted) {
          leg.end(leg.state === 'ringing' ? 'no_ack' : (leg.endReason ?? 'remote_hangup'));
          return false;
        }
        if (offer === undefined) {
          const media = accepted.ack.body.length
            ? this.readAnswerOf(accepted.ack.body.toString('utf8'), leg, undefined)
            : undefined;
          if (!media) {
            void accepted.session.bye();
            leg.end('failed');
            return false;
          }
          leg.applyMedia(media);
        }
        if (leg.state !== 'ringing') {
          // Hung up locally while we waited for the ACK: the dialog must not outlive the leg.
          void accepted.session.bye();
          return false;
        }
        leg.attach(accepted.session, timer?.kind === 'timer' ? timer.timer : undefined);
        return true;
      },
    };
    if (!this.onInbound) return call.reject(404, 'Not Found');
    this.onInbound(call);
  }

  /** Places an outbound call. Never throws: every failure is a typed result. */
  async dial(opts: DialOptions): Promise<Dialing> {
    const first = opts.targets[0];
    if (!first)
      return {
        leg: undefined,
        result: Promise.resolve({ kind: 'failed', status: 404, reason: 'No route' }),
        cancel: () => {},
      };
    let rtp: MediaSession;
    try {
      rtp = await this.openRtp(opts.near);
    } catch (err) {
      this.log.warn({ err }, 'no RTP port for an outbound call');
      return {
        leg: undefined,
        result: Promise.resolve({ kind: 'failed', status: 503, reason: 'No Media Ports' }),
        cancel: () => {},
      };
    }
    const number = first.uri.user ?? '';
    const leg = this.track(
      new Leg(
        'outbound',
        rtp,
        this.localMedia(rtp, first.destination.address, first.srtp ?? 'optional'),
        number,
        opts.callerId.user,
        this.opts.clock,
        this.log,
        this.opts.mediaTimeoutMs,
        this.opts.sessionTimer,
      ),
    );
    let out: OutgoingInvite | undefined;
    // Giving up (ring timeout or cancel) settles at once and frees the media;
    // the INVITE transaction finishes on its own (a 200 that crosses our
    // CANCEL is ACKed and hung up by the UA).
    let giveUp!: (r: DialResult) => void;
    const abandoned = new Promise<DialResult>((resolve) => (giveUp = resolve));
    const stop = (r: DialResult): void => {
      out?.cancel();
      leg.end('cancelled');
      giveUp(r);
    };
    // A ring timeout is the callee's no-answer only if the far end was there to ring.
    const timer = leg.setTimer(
      () =>
        stop(
          out && !out.responded
            ? { kind: 'failed', status: 408, reason: 'No response' }
            : { kind: 'no_answer', status: 408, reason: 'Ring timeout' },
        ),
      opts.timeoutMs,
    );
    // A ringing leg ended some other way (hangup(), shutdown): CANCEL the INVITE too.
    leg.on('ended', () => {
      if (out && (out.state === 'calling' || out.state === 'early'))
        stop({ kind: 'cancelled', status: 487, reason: 'Request Terminated' });
    });
    const attempt = (target: DialTarget, last: boolean): Promise<InviteOutcome> => {
      // Per attempt: after a failover the next trunk's early media replaces the last one's.
      let early = false;
      // Each target has its own SRTP policy (one trunk mandatory, the next one not).
      leg.local.srtp = target.srtp ?? 'optional';
      const host =
        target.fromHost ??
        hostForUri(
          this.opts.ua.stack.localAddress(target.destination.transport, target.destination.address).host,
        );
      const format = target.formatNumber ?? ((n: string): string => n);
      // Before any SDP answer (183 or 200) reaches applyMedia.
      leg.inbandDtmf =
        target.inbandDtmf === 'always' || target.inbandDtmf === 'off'
          ? target.inbandDtmf
          : (this.opts.inbandDtmf ?? 'auto');
      const policy = this.opts.sessionTimer;
      const extra = typeof opts.headers === 'function' ? opts.headers(host, format) : (opts.headers ?? []);
      const o = this.opts.ua.invite({
        requestUri: target.uri,
        destination: target.destination,
        fromUser: format(opts.callerId.user),
        fromDisplayName: opts.callerId.displayName,
        fromHost: opts.callerId.host ?? target.fromHost,
        sdp: buildOffer(leg.localMedia()),
        auth: target.auth,
        // §7.1: offer a session timer and leave the refresher to the callee (§9 picks).
        headers: policy ? [...extra, ...uacRequestHeaders(policy.intervalS, policy.minSeS)] : extra,
      });
      out = o;
      // A trunk that sends nothing at all (not even 100 Trying) is given up
      // early so the next one still has time to ring the callee. The last one
      // has no next: it keeps the rest of the ring time (or its Timer B).
      const silent = leg.setTimer(() => {
        if (o.responded || leg.state !== 'ringing' || last) return;
        o.cancel();
        skipSilent({ kind: 'failed', status: 408, reason: 'No response' });
      }, this.noResponseMs);
      let skipSilent!: (r: InviteOutcome) => void;
      const skipped = new Promise<InviteOutcome>((resolve) => (skipSilent = resolve));
      void o.result.then(() => leg.clearTimer(silent));
      o.onProvisional = (_status, sdp) => {
        if (out !== o) return; // a trunk we already left (skipped for silence) answering late
        if (sdp && !early) {
          const media = this.readAnswerOf(sdp, leg, target.trunk);
          if (media) {
            leg.applyMedia(media);
            early = true;
          }
        }
        opts.onProgress?.(early);
      };
      return Promise.race([o.result, skipped]);
    };
    // Trunk failover: the same leg (same RTP port, same offer) tries each target in turn.
    const tryAll = async (): Promise<InviteOutcome> => {
      for (let i = 0; ; i++) {
        const target = opts.targets[i] as DialTarget;
        const o = await attempt(target, i + 1 >= opts.targets.length);
        if (o.kind === 'answered' || o.kind === 'cancelled' || leg.state !== 'ringing') return o;
        this.log.warn(
          { trunk: target.trunk ?? 'direct', number, status: o.status, reason: o.reason, outcome: o.kind },
          'outbound attempt failed',
        );
        if (i + 1 >= opts.targets.length || !worthFailover(o)) return o;
      }
    };
    const answered = tryAll().then((o: InviteOutcome): DialResult => {
      leg.clearTimer(timer);
      if (o.kind === 'answered') {
        const media = o.sdp ? this.readAnswerOf(o.sdp, leg, undefined) : leg.media;
        if (!media || leg.state === 'ended') {
          void o.session.bye();
          leg.end('failed');
          return { kind: 'failed', status: 488, reason: 'No usable answer' };
        }
        leg.applyMedia(media);
        leg.attach(o.session, this.uacTimer(o.response, out));
        return { kind: 'answered', leg };
      }
      leg.end(o.kind === 'cancelled' ? 'cancelled' : 'failed');
      return o;
    });
    return {
      leg,
      result: Promise.race([answered, abandoned]),
      cancel: () => {
        if (leg.state === 'ringing') stop({ kind: 'cancelled', status: 487, reason: 'Request Terminated' });
      },
    };
  }

  /** §7.2: the timer our INVITE (as finally sent: a 422 may have raised it) and its 2xx settle. */
  private uacTimer(res: SipResponse, out: OutgoingInvite | undefined): NegotiatedTimer | undefined {
    const policy = this.opts.sessionTimer;
    if (!policy) return undefined;
    const sent = out ? parseSessionExpires(getHeader(out.request, 'session-expires') ?? '') : undefined;
    const minSe = out ? parseMinSe(getHeader(out.request, 'min-se') ?? '') : undefined;
    return uacNegotiate(res, {
      intervalS: sent?.seconds ?? policy.intervalS,
      minSeS: minSe ?? policy.minSeS,
    });
  }

  /** Connects two legs' media. Ends when either leg ends or unbridge is called. */
  bridge(a: Leg, b: Leg): LegBridge {
    return new LegBridge(a, b);
  }

  /** Ends every leg (shutdown). */
  async hangupAll(): Promise<void> {
    await Promise.all([...this.legs].map((leg) => leg.hangup('shutdown')));
  }
}

/** A media bridge between two legs that tears itself down when either leg ends. */
export class LegBridge {
  private media: MediaBridge | undefined;
  private readonly offs: (() => void)[] = [];

  constructor(
    readonly a: Leg,
    readonly b: Leg,
  ) {
    a.silence();
    b.silence();
    this.media = a.mediaSession.bridge(b.mediaSession);
    this.offs.push(
      a.on('ended', () => this.unbridge()),
      b.on('ended', () => this.unbridge()),
    );
  }

  get active(): boolean {
    return this.media !== undefined;
  }

  unbridge(): void {
    if (!this.media) return;
    this.media.unbridge();
    this.media = undefined;
    for (const off of this.offs) off();
  }
}
