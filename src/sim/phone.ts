import pino from 'pino';
import { SystemClock } from '../util/clock.ts';
import { listenUdpAndTcp } from '../sip/transport/listen.ts';
import { TlsTransport, type TlsMaterial } from '../sip/transport/tls.ts';
import { SipStack } from '../sip/stack.ts';
import { UserAgent, type IncomingInvite, type InviteSession } from '../sip/user-agent.ts';
import { parseUri } from '../sip/message/uri.ts';
import { getHeaderValues } from '../sip/message/headers.ts';
import type { HeaderField, SipRequest, SipResponse } from '../sip/message/types.ts';
import { buildAuthorization, pickChallenge } from '../sip/registrar/digest.ts';
import type { Endpoint, TransportName } from '../sip/transport/transport.ts';
import { MediaClock } from '../media/media-clock.ts';
import { PortPool } from '../media/port-pool.ts';
import { RtpSession } from '../media/rtp/session.ts';
import type { FrameSource } from '../media/player.ts';
import {
  SdesKey,
  answerOffer,
  buildOffer,
  readAnswer,
  type AudioCodec,
  type LocalMedia,
  type MediaParams,
  type SrtpPolicy,
} from '../call/sdp.ts';
import { AudioRecorder } from './recorder.ts';
import { DtmfToneSource, type DtmfToneOptions } from './dtmf-tones.ts';

const quiet = pino({ level: process.env.PHONE_LOG ?? 'silent' });
const PORTS_PER_PHONE = 40;

export interface PhoneOptions {
  /** The phone's number: From user of its calls. */
  number: string;
  displayName?: string;
  codecs?: AudioCodec[];
  /** Port to listen on (0 = any). A phone that plays the trunk needs a fixed one. */
  sipPort?: number;
  transport?: TransportName;
  /** Offer/answer no telephone-event; sendDtmf then defaults to tones in the audio. */
  inbandDtmf?: boolean;
  /** Offer CN 13 (RFC 3389) in our own offers (an offer's CN is always answered). */
  comfortNoise?: boolean;
  /** SRTP (SDES): mandatory offers RTP/SAVP and takes only SRTP; optional answers it (default off). */
  srtp?: SrtpPolicy;
  /** SIP over TLS as well: listens when a cert and key are given (a TLS trunk stand-in). */
  tls?: TlsMaterial;
  /** Port for the TLS listener (0 = any). */
  tlsPort?: number;
}

/**
 * A SIP phone for tests: places and answers calls over loopback, sends DTMF
 * (RFC 4733 or INFO), records what it hears, and tells which prompt or tone
 * it heard. It runs its own SIP stack instance on its own port.
 */
export class TestPhone {
  readonly calls: PhoneCall[] = [];
  private incomingWaiters: { to: string | undefined; resolve: (inv: IncomingInvite) => void }[] = [];
  private incomingQueue: IncomingInvite[] = [];
  /** RTP ports the phones of this process take, 40 per phone, in turn. */
  static portRange = { min: 42000, max: 48999 };
  private static nextPort = 42000;

  /** When set, incoming calls get this answer automatically. */
  autoAnswer: 'answer' | 'busy' | 'reject' | 'ignore' | undefined;

  private constructor(
    readonly opts: PhoneOptions,
    readonly stack: SipStack,
    readonly ua: UserAgent,
    readonly pool: PortPool,
    readonly mediaClock: MediaClock,
  ) {}

  static async create(opts: PhoneOptions): Promise<TestPhone> {
    const clock = new SystemClock();
    const { udp, tcp } = await listenUdpAndTcp('127.0.0.1', opts.sipPort ?? 0);
    const tls = opts.tls ? [await TlsTransport.listen('127.0.0.1', opts.tlsPort ?? 0, opts.tls)] : [];
    const stack = new SipStack({
      transports: [udp, tcp, ...tls],
      clock,
      logger: quiet,
      timers: { t1: 100, t2: 400, t4: 500 },
    });
    const range = TestPhone.portRange;
    if (TestPhone.nextPort + PORTS_PER_PHONE - 1 > range.max || TestPhone.nextPort < range.min)
      TestPhone.nextPort = range.min;
    const base = TestPhone.nextPort;
    TestPhone.nextPort += PORTS_PER_PHONE;
    const pool = new PortPool(base, base + PORTS_PER_PHONE - 1);
    const mediaClock = new MediaClock();
    const holder: { phone?: TestPhone } = {};
    const ua = new UserAgent({
      stack,
      clock,
      logger: quiet,
      userAgent: 'AgentLine-TestPhone',
      delegate: { onInvite: (inv) => holder.phone?.onInvite(inv) },
    });
    holder.phone = new TestPhone(opts, stack, ua, pool, mediaClock);
    return holder.phone;
  }

  get sipPort(): number {
    return this.stack.localAddress('udp').port;
  }

  /** The TLS listener's port (with `tls` in the options). */
  get tlsPort(): number {
    if (!this.stack.hasTransport('tls')) throw new Error('this phone has no TLS transport');
    return this.stack.localAddress('tls').port;
  }

  private get codecs(): AudioCodec[] {
    return this.opts.codecs ?? ['PCMU', 'PCMA'];
  }

  private async media(): Promise<RtpSession> {
    return RtpSession.open({ host: '127.0.0.1', pool: this.pool, clock: this.mediaClock });
  }

  /** What this phone offers or answers with on `rtp`: its codecs, DTMF, comfort noise and SRTP. */
  private localMedia(rtp: RtpSession, sessionId: number): LocalMedia & { sdesKey: SdesKey } {
    return {
      host: '127.0.0.1',
      port: rtp.localPort,
      codecs: this.codecs,
      telephoneEvent: !this.opts.inbandDtmf,
      comfortNoise: this.opts.comfortNoise === true,
      sessionId,
      sessionVersion: 1,
      srtp: this.opts.srtp ?? 'off',
      sdesKey: SdesKey.random(),
    };
  }

  /** Calls `number` at the server; resolves once answered, or rejects with the final status. */
  async call(
    number: string,
    server: { port: number; host?: string },
    o: {
      noSdp?: boolean;
      transport?: TransportName;
      /** From user instead of the phone's number (many callers from one phone). */
      from?: string;
      /** Extra INVITE headers (P-Asserted-Identity, Privacy: a carrier's caller id). */
      headers?: HeaderField[];
      /** To user when it is not `number` (carriers that put the registration contact in the R-URI). */
      to?: string;
    } = {},
  ): Promise<PhoneCall> {
    const host = server.host ?? '127.0.0.1';
    const transport = o.transport ?? this.opts.transport ?? 'udp';
    const rtp = await this.media();
    const local = this.localMedia(rtp, 1);
    const uri = parseUri(`sip:${number}@${host}:${server.port}`);
    if (!uri) throw new Error('bad uri');
    let lateMedia: ReturnType<typeof readAnswer>;
    const out = this.ua.invite({
      requestUri: uri,
      toUri: o.to !== undefined ? parseUri(`sip:${o.to}@${host}:${server.port}`) : undefined,
      destination: { transport, address: host, port: server.port },
      fromUser: o.from ?? this.opts.number,
      fromDisplayName: this.opts.displayName,
      headers: o.headers,
      sdp: o.noSdp ? undefined : buildOffer(local),
      answerLateOffer: (offer) => {
        const ans = answerOffer(offer, local);
        if (!ans.ok) return undefined;
        lateMedia = ans.media;
        return ans.sdp;
      },
    });
    const result = await out.result;
    if (result.kind !== 'answered') {
      rtp.close();
      throw new CallFailed(result.status, result.kind);
    }
    if (o.noSdp) {
      // Late offer: the server offered in the 200 and our answer went in the ACK.
      if (!lateMedia) throw new Error('server offer unusable');
      return this.adopt(result.session, rtp, lateMedia, local.sdesKey);
    }
    const media = readAnswer(result.sdp ?? '', local);
    if (!media) throw new Error('no usable answer');
    return this.adopt(result.session, rtp, media, local.sdesKey);
  }

  private adopt(session: InviteSession, rtp: RtpSession, media: MediaParams, sdesKey: SdesKey): PhoneCall {
    rtp.setSrtp(media.srtp ? { send: sdesKey.bytes, receive: media.srtp.remoteKey.bytes } : null);
    rtp.setCodec({
      codec: media.codec,
      payloadType: media.payloadType,
      dtmfPayloadType: media.dtmfPayloadType,
    });
    rtp.setRemote(media.remoteHost, media.remotePort);
    const call = new PhoneCall(this, session, rtp, media.codec, media, sdesKey);
    this.calls.push(call);
    return call;
  }

  private onInvite(inv: IncomingInvite): void {
    switch (this.autoAnswer) {
      case 'busy':
        return inv.reject(486, 'Busy Here');
      case 'reject':
        return inv.reject(603, 'Decline');
      case 'ignore':
        inv.provisional(180);
        break;
      default:
        break;
    }
    const i = this.incomingWaiters.findIndex((w) => w.to === undefined || w.to === inv.calledUser);
    const waiter = i >= 0 ? this.incomingWaiters.splice(i, 1)[0] : undefined;
    if (waiter) waiter.resolve(inv);
    else this.incomingQueue.push(inv);
    if (this.autoAnswer === 'answer') void this.answer(inv);
  }

  /**
   * The next INVITE this phone receives, optionally only one for the number
   * `to` (a phone playing the trunk gets every agent's calls).
   */
  nextIncoming(timeoutMs = 10_000, to?: string): Promise<IncomingInvite> {
    const qi = this.incomingQueue.findIndex((inv) => to === undefined || inv.calledUser === to);
    if (qi >= 0) return Promise.resolve(this.incomingQueue.splice(qi, 1)[0] as IncomingInvite);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.incomingWaiters = this.incomingWaiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `phone ${this.opts.number}: no incoming call${to ? ` for ${to}` : ''} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const waiter = {
        to,
        resolve: (inv: IncomingInvite): void => {
          clearTimeout(t);
          resolve(inv);
        },
      };
      this.incomingWaiters.push(waiter);
    });
  }

  /** Calls that arrived and nobody has taken yet. */
  get unclaimedIncoming(): readonly IncomingInvite[] {
    return this.incomingQueue;
  }

  /**
   * REGISTERs `user` at the server with digest authentication (RFC 3261 §22):
   * first without credentials, then answering the challenge. Resolves with the final status.
   */
  async register(user: string, password: string, server: { port: number }, expires = 300): Promise<number> {
    const send = (auth: string | undefined, cseq: number): Promise<SipResponse | undefined> =>
      new Promise((resolve) => {
        const ruri = `sip:127.0.0.1:${server.port}`;
        const uri = parseUri(ruri);
        if (!uri) return resolve(undefined);
        const headers = [
          { name: 'Via', value: this.ua.viaFor('udp') },
          { name: 'Max-Forwards', value: '70' },
          { name: 'From', value: `<sip:${user}@127.0.0.1>;tag=reg${cseq}` },
          { name: 'To', value: `<sip:${user}@127.0.0.1>` },
          { name: 'Call-ID', value: `reg-${user}-${this.sipPort}` },
          { name: 'CSeq', value: `${cseq} REGISTER` },
          { name: 'Contact', value: this.ua.contactFor('udp', user) },
          { name: 'Expires', value: String(expires) },
          ...(auth ? [{ name: 'Authorization', value: auth }] : []),
        ];
        const req: SipRequest = {
          kind: 'request',
          method: 'REGISTER',
          uri,
          rawUri: ruri,
          version: 'SIP/2.0',
          headers,
          body: Buffer.alloc(0),
        };
        this.stack.sendRequest(
          req,
          { transport: 'udp', address: '127.0.0.1', port: server.port },
          {
            onResponse: (r) => r.status >= 200 && resolve(r),
            onTimeout: () => resolve(undefined),
          },
        );
      });
    const first = await send(undefined, 1);
    if (!first || first.status !== 401) return first?.status ?? 408;
    const challenge = pickChallenge(getHeaderValues(first, 'www-authenticate'));
    if (!challenge) return 401;
    const auth = buildAuthorization(challenge, {
      username: user,
      password,
      method: 'REGISTER',
      uri: `sip:127.0.0.1:${server.port}`,
    });
    const second = await send(auth, 2);
    return second?.status ?? 408;
  }

  async answer(inv: IncomingInvite): Promise<PhoneCall> {
    const rtp = await this.media();
    const local = this.localMedia(rtp, 2);
    const ans = answerOffer(inv.offer ?? '', local);
    if (!ans.ok) {
      inv.reject(ans.status);
      rtp.close();
      throw new Error('cannot answer offer');
    }
    const accepted = await inv.accept(ans.sdp);
    if (!accepted) {
      rtp.close();
      throw new Error('call gone before ACK');
    }
    return this.adopt(accepted.session, rtp, ans.media, local.sdesKey);
  }

  async close(): Promise<void> {
    await Promise.all(this.calls.map((c) => c.hangup()));
    await this.stack.close();
    this.mediaClock.stop();
  }

  get endpoint(): Endpoint {
    return { transport: 'udp', address: '127.0.0.1', port: this.sipPort };
  }
}

export class CallFailed extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
  ) {
    super(`call failed: ${status} (${kind})`);
  }
}

/** One established call of the test phone. */
export class PhoneCall {
  readonly recorder: AudioRecorder;
  readonly receivedDigits: string[] = [];
  readonly ended: Promise<'remote' | 'local'>;
  private endedResolve!: (by: 'remote' | 'local') => void;
  state: 'up' | 'ended' = 'up';

  constructor(
    readonly phone: TestPhone,
    readonly session: InviteSession,
    readonly rtp: RtpSession,
    readonly codec: AudioCodec,
    /** What was negotiated (media.srtp: the far end's SRTP key). */
    readonly media?: MediaParams,
    /** The key this phone sent its SRTP with (when media.srtp is set). */
    readonly sdesKey?: SdesKey,
  ) {
    this.recorder = new AudioRecorder(codec);
    this.ended = new Promise((r) => (this.endedResolve = r));
    rtp.onAudio = (payload, c) => this.recorder.push(payload, c);
    rtp.onDtmf = (digit) => this.receivedDigits.push(digit);
    session.user = {
      onBye: () => this.finish('remote'),
      onInfo: () => {},
      onReinvite: () => ({ status: 488 }),
    };
  }

  /**
   * RFC 4733 by default ('inband' when the phone has `inbandDtmf`); 'info' sends SIP INFO
   * application/dtmf-relay; 'inband' sends the keys as dual tones in the audio (G.711),
   * replacing whatever the phone was sending.
   */
  sendDtmf(digits: string, mode?: 'rfc4733' | 'info' | 'inband', tones?: DtmfToneOptions): void {
    mode ??= this.phone.opts.inbandDtmf ? 'inband' : 'rfc4733';
    if (mode === 'rfc4733') this.rtp.sendDtmf(digits);
    else if (mode === 'inband') this.rtp.setSource(new DtmfToneSource(digits, tones));
    else
      for (const d of digits) this.session.info('application/dtmf-relay', `Signal=${d}\r\nDuration=160\r\n`);
  }

  /** Restarts the phone's RTP stream with a new SSRC (from the same address and port). */
  changeSsrc(): void {
    this.rtp.changeSsrc();
  }

  /** Sends audio (e.g. a tone) until stopped. */
  send(source: FrameSource | null): void {
    this.rtp.setSource(source);
  }

  /**
   * The phone vanishes as far as media goes (battery, coverage, NAT): it stops sending RTP and
   * sends no BYE. SIP is still answered, so the server's BYE ends the call here ('remote').
   */
  goSilent(): void {
    this.rtp.setSource(null);
  }

  /** Sends BYE; resolves when it is answered (or timed out). */
  hangup(): Promise<void> {
    if (this.state === 'ended') return Promise.resolve();
    const bye = this.session.bye();
    this.finish('local');
    return bye;
  }

  private finish(by: 'remote' | 'local'): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.rtp.close();
    this.endedResolve(by);
  }

  /** Waits until the named prompt has been heard (exact G.711 match), or throws. */
  async waitForPrompt(file: string, timeoutMs = 10_000): Promise<void> {
    await this.recorder.waitFor(() => this.recorder.heardPrompt(file), timeoutMs, `prompt ${file}`);
  }

  async waitForTone(freq: number, timeoutMs = 5_000, minMs = 100): Promise<void> {
    await this.recorder.waitFor(() => this.recorder.heardTone(freq, minMs), timeoutMs, `tone ${freq} Hz`);
  }
}
