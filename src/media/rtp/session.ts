/**
 * One RTP media stream (RFC 3550) with G.711 audio (RFC 3551) and RFC 4733 DTMF.
 *
 * The SIP layer opens a session, gives it the remote address and codec from SDP, and
 * drives it with a FrameSource (prompts, tones), relaying (bridges), or DTMF. Media
 * state only: no call logic here, so sessions can later move to worker threads.
 *
 * Sending. Own random SSRC, sequence number and timestamp origin. While a source is set
 * (or DTMF is queued) the session is a member of the shared MediaClock and each 20 ms
 * tick sends one packet. Timestamps follow wall time: +160 per tick within a talkspurt;
 * at a talkspurt start (first packet after silence, a source change, DTMF, or relay
 * silence) the timestamp is recomputed from the monotonic clock (8 per ms since the
 * session opened) and the marker bit is set; timestamps never go backwards. With no
 * source and no relaying nothing is sent and the session is not on the clock — unless the
 * idle fill is on (`setFill`, every answered leg): then each tick with nothing else to send
 * carries comfort noise (RFC 3389, when CN was negotiated) or encoded silence in the leg's
 * codec, so a peer with an RTP timeout never sees the stream stop. Fill frames continue the
 * source timestamps (+160 per tick); the first source frame after them has the marker bit.
 * A bridge (`setRelaying`) suspends the fill: it relays what comes, silence included.
 *
 * Receiving. Malformed datagrams (too short, version ≠ 2, bad CSRC/extension/padding)
 * are counted and dropped; RTCP multiplexed on the RTP port (PT 72-76, i.e. 200-204) is
 * ignored. Audio is accepted on PT 0 (PCMU), PT 8 (PCMA) and the negotiated audio PT.
 * Telephone-events are accepted on the negotiated `dtmfPayloadType` and also on PT 101
 * and 96 unless that is the negotiated audio PT: sipp's pcaps always carry 101 and its
 * `play_dtmf` always 96, whatever was negotiated (INTEROP.md). Telephone-events never
 * reach `onAudio`. Other PTs (e.g. CN 13, sipp's no-op 97) are counted and dropped.
 * With `setInbandDtmf(true)` received audio also goes through a tone detector
 * (dtmf/inband.ts) whose digits come out of `onDtmf` like telephone-events.
 *
 * Who may send to us (strict source, against Asterisk CVE-2017-14099-style RTP bleed and
 * injection). Anyone can send datagrams to our port; only the peer's are taken, and we send
 * only to the peer. The rules, in the manner of rtpengine's `strict-source` and Asterisk's
 * `strictrtp` (learning on a new remote, probation of consecutive packets, then locked):
 *
 *   idle ──setRemote──▶ learning ──packet from the SDP address──────────────▶ locked
 *                          └──a learnable source passes probation (NAT)──────┘
 *   learning/locked ──setRemote with another address (re-INVITE)──▶ learning
 *
 * - idle (no SDP yet): everything is dropped.
 * - The address the peer's SDP names is always accepted; its first packet locks the stream on
 *   it (and takes the stream back from a source learned before it).
 * - Learning, for symmetric RTP behind NAT: another source can become the remote only while
 *   learning, within LEARN_WINDOW_MS of the first foreign packet, after PROBATION packets with
 *   one SSRC and consecutive sequence numbers; which sources may be learned depends on the SDP
 *   address (`learnScopeOf`): none for loopback (nothing on this host sits behind a NAT),
 *   the same IP for a public address (a NAT that keeps the address and remaps the port),
 *   any for a private, link-local or shared (CGNAT) address and for 0.0.0.0 / :: (the peer
 *   told us nothing usable). Packets held back during probation count as `learningDropped`.
 * - Locked: only the locked source (and the SDP address) is accepted; the SSRC may change
 *   (a phone restarting its stream, an SBC switching media), the source may not.
 * - Every other packet is dropped before anything looks at it — audio and RFC 4733 events
 *   alike — and counted (`sourceDropped`).
 *
 * `setRemote` with the address we already have (a session refresh, hold and resume) keeps
 * the lock: a re-INVITE must not reopen a window for an attacker. A new address is the new
 * expected source and learning starts again. 0.0.0.0 / :: (SDP hold) means "no address":
 * nothing is sent until a source is learned.
 *
 * SRTP (RFC 3711, keys from SDES: `setSrtp`): when the leg has keys, every packet we send
 * is protected (DTMF events too) and every packet received must pass the SRTP tag and
 * replay checks (srtp/srtp.ts) before anything else looks at it — before the source check,
 * so that only authenticated packets can lock or teach the stream's source. RTCP on the
 * RTP port (SRTCP, when the peer protects it) is ignored unread, as plain RTCP is; the
 * RTCP port is bound and never read. A bridge between an SRTP leg and a plain one needs
 * nothing more: each session decrypts what it receives and encrypts what it sends.
 *
 * Hot path: no allocation of ours per packet (Node's dgram itself allocates a little per
 * send and per message, and `onAudio` receives a subarray view), no JSON, no
 * EventEmitter of ours: plain callback fields. Send buffers are a preallocated ring of 8
 * slots (a slot is reused 8 packets later, long after the kernel has taken it); the UDP
 * sockets use a synchronous address lookup for IP literals so a packet leaves inside
 * `send()` without a DNS round trip through the event loop.
 */

import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import { AppError } from '../../util/errors.ts';
import { type Codec, encodeFrame, transcodeInto } from '../codec/g711.ts';
import { DtmfFrame, DtmfReceiver, DtmfSender, type DtmfSenderOptions } from '../dtmf/rfc4733.ts';
import { InbandDtmfDetector } from '../dtmf/inband.ts';
import { FRAME_SIZE, type FrameSource } from '../frame-source.ts';
import type { MediaClock, Tickable } from '../media-clock.ts';
import type { PortPool } from '../port-pool.ts';
import { emptyRtpStats, type CodecConfig, type RtpStats, type SrtpKeys } from '../media-session.ts';
import { RTP_HEADER_SIZE, rtpPayloadLength, rtpPayloadOffset, writeRtpHeader } from './packet.ts';
import { SRTP_AUTH_FAILED, SRTP_AUTH_TAG_LEN, SRTP_REPLAYED, SrtpContext } from '../srtp/srtp.ts';
import { ReceptionStats } from './reception.ts';

export type { FrameSource } from '../frame-source.ts';
export type { CodecConfig, RtpStats } from '../media-session.ts';

/** Structural subset of pino's Logger. */
export interface MediaLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RtpSessionOptions {
  /** Local address to bind (IPv4 or IPv6 literal; udp6 for IPv6). */
  host: string;
  /** Where ports come from (a media worker's: the one port its owner chose). */
  pool: Pick<PortPool, 'acquire' | 'release' | 'capacity'>;
  clock: MediaClock;
  logger?: MediaLogger;
  /** Monotonic ms for DTMF reports (default performance.now). */
  now?: () => number;
  /** Ports to try when binding fails with EADDRINUSE/EACCES (default min(capacity, 32)). */
  bindAttempts?: number;
  /** Tone/gap lengths for sendDtmf (default 100 ms tone, 60 ms gap). */
  dtmf?: DtmfSenderOptions;
}

const MAX_PAYLOAD = 480; // 60 ms of G.711
const SLOT_SIZE = RTP_HEADER_SIZE + MAX_PAYLOAD + SRTP_AUTH_TAG_LEN;
const SLOTS = 8;
const RELAY_CONTINUOUS_MS = 100;

/** A new source must send this many packets in a row (one SSRC, consecutive sequence numbers). */
const PROBATION = 4;
/** Learning ends this long after the first packet from a source other than the SDP address. */
const LEARN_WINDOW_MS = 2000;

/** Where a source may come from, given the SDP address: see the class comment. */
type LearnScope = 'none' | 'same_ip' | 'any';
type SourceState = 'idle' | 'learning' | 'locked';
const SOURCE_MOVES: Record<SourceState, readonly SourceState[]> = {
  idle: ['learning'],
  learning: ['learning', 'locked'], // a new SDP address; the peer found
  locked: ['learning', 'locked'], // a new SDP address; back on the SDP address
};

function ipv4Octets(host: string): number[] | undefined {
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  if (isIP(v4) !== 4) return undefined;
  return v4.split('.').map(Number);
}

/** Which foreign sources may be learned when the SDP names `host` ('' = no usable address). */
export function learnScopeOf(host: string): LearnScope {
  if (host === '') return 'any';
  const o = ipv4Octets(host);
  if (o) {
    const [a, b] = o as [number, number];
    if (a === 127) return 'none';
    if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'any';
    if ((a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254)) return 'any';
    return 'same_ip';
  }
  const h = host.toLowerCase();
  if (h === '::1') return 'none';
  if (/^f[cd]/.test(h) || /^fe[89ab]/.test(h)) return 'any'; // ULA fc00::/7, link-local fe80::/10
  return 'same_ip';
}

const KIND_NONE = 0;
const KIND_SOURCE = 1;
const KIND_RELAY = 2;
const KIND_DTMF = 3;
const KIND_FILL = 4;
/** RFC 3389 noise level in −dBov for the fill's CN packets: far below hearing, never silence. */
const CN_LEVEL = 80;
/** Inband digits this soon after a telephone-event packet are taken as its double. */
const INBAND_AFTER_EVENT_MS = 1000;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * The last literal `fastLookup` answered (plain variables: a bridge alternates between two
 * peers, and nothing may be allocated per packet).
 */
let lastHostname = '';
let lastFamily = 0;

/** dgram lookup that answers IP literals synchronously (no nextTick per send). */
function fastLookup(hostname: string, options: dns.LookupOneOptions, callback: LookupCallback): void {
  if (hostname === lastHostname) {
    callback(null, hostname, lastFamily);
    return;
  }
  const family = isIP(hostname);
  if (family !== 0) {
    lastHostname = hostname;
    lastFamily = family;
    callback(null, hostname, family);
    return;
  }
  dns.lookup(hostname, options, callback);
}

function bindSocket(type: 'udp4' | 'udp6', host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type, lookup: fastLookup as never });
    const onError = (err: Error) => {
      try {
        socket.close();
      } catch {
        /* already closed */
      }
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ port, address: host, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function isBindConflict(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES';
}

export class RtpSession implements Tickable {
  /** Every received audio packet; `payload` is a view valid only during the call. */
  onAudio: ((payload: Buffer, codec: Codec, session: RtpSession) => void) | null = null;
  /** Each DTMF digit once (RFC 4733), with now() of its first packet. */
  onDtmf: ((digit: string, atMs: number) => void) | null = null;
  /** Each DTMF digit we send, at performance.now() of its first packet leaving (latency probes). */
  onDtmfSent: ((atMs: number) => void) | null = null;
  /** The source returned false (it is cleared before this is called; set another here). */
  onSourceEnd: (() => void) | null = null;
  /** Every admitted packet's header (diagnostics and tests), before any payload handling. */
  onPacket: ((pt: number, marker: boolean, seq: number, ts: number) => void) | null = null;
  /** A recording of this session (../recorder.ts): every audio payload received and sent. */
  recordTap: {
    received(payload: Buffer, codec: Codec): void;
    sent(payload: Buffer, codec: Codec): void;
  } | null = null;

  readonly localPort: number;
  readonly localHost: string;
  readonly stats: RtpStats = emptyRtpStats();
  private readonly reception = new ReceptionStats();

  private readonly rtp: dgram.Socket;
  private readonly rtcp: dgram.Socket;
  private readonly pool: RtpSessionOptions['pool'];
  /** The clock this session ticks on (a recording of it writes on the same ticks). */
  readonly clock: MediaClock;
  private readonly logger: MediaLogger | undefined;
  private readonly v6: boolean;
  private readonly dtmfRx: DtmfReceiver;
  private readonly dtmfTx: DtmfSender;
  /** Tone detector on the received audio, only on legs that need it (setInbandDtmf). */
  private inband: InbandDtmfDetector | null = null;
  /** now() of the last telephone-event packet (inband digits near it are its echo). */
  private lastEventAt = -Infinity;

  private ssrcValue: number;
  private remoteHost = '';
  private remotePort = 0;
  /** The address the peer's SDP names ('' / 0: none usable). */
  private expectedHost = '';
  private expectedPort = 0;
  private sourceState: SourceState = 'idle';
  private learnScope: LearnScope = 'none';
  /** 0 = learning window not started (no foreign packet yet). */
  private learnDeadline = 0;
  private candHost = '';
  private candPort = 0;
  private candSsrc = 0;
  private candSeq = 0;
  private candCount = 0;
  /** The first source dropped by the source check ('' = none yet), for the close-time warning. */
  private firstForeign = '';
  private readonly now: () => number;
  private codecName: Codec = 'PCMU';
  private pt = 0;
  private dtmfPt = -1;
  private cnPt = -1;
  /** Idle fill wanted (answered leg) and not suspended by a bridge. */
  private fill = false;
  private relaying = false;

  private source: FrameSource | null = null;
  private readonly pcm = new Int16Array(FRAME_SIZE);
  private readonly slots: Buffer[] = [];
  private slotIndex = 0;

  private seq: number;
  private readonly tsBase: number;
  private readonly t0: number;
  private tsLast = 0;
  private tsLastEnd = 0;
  private lastFrame = -1;
  private lastSendMs = 0;
  private lastKind = KIND_NONE;
  private sentAny = false;
  private forceMarker = false;
  private dtmfTs = 0;
  private closed = false;
  private loggedMalformed = false;
  /** SRTP contexts (setSrtp): what we send, what the peer sends; null = plain RTP. */
  private srtpTx: SrtpContext | null = null;
  private srtpRx: SrtpContext | null = null;
  private srtpKeys: { send: Buffer; receive: Buffer } | null = null;

  private constructor(opts: RtpSessionOptions, rtp: dgram.Socket, rtcp: dgram.Socket, port: number) {
    this.rtp = rtp;
    this.rtcp = rtcp;
    this.localPort = port;
    this.localHost = opts.host;
    this.pool = opts.pool;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.v6 = isIP(opts.host) === 6;
    const rnd = randomBytes(10);
    this.ssrcValue = rnd.readUInt32BE(0);
    this.tsBase = rnd.readUInt32BE(4);
    this.seq = rnd.readUInt16BE(8);
    this.t0 = performance.now();
    const slab = Buffer.allocUnsafeSlow(SLOT_SIZE * SLOTS);
    for (let i = 0; i < SLOTS; i++) this.slots.push(slab.subarray(i * SLOT_SIZE, (i + 1) * SLOT_SIZE));
    this.now = opts.now ?? (() => performance.now());
    this.dtmfRx = new DtmfReceiver({ now: this.now });
    this.dtmfRx.onDigit = (digit, at) => this.onDtmf?.(digit, at);
    this.dtmfTx = new DtmfSender(opts.dtmf);
    rtp.on('message', this.onMessage);
    rtp.on('error', this.onSocketError);
    rtcp.on('error', this.onSocketError);
  }

  /**
   * Binds RTP on an even port from the pool and RTCP on port+1 (bound, ignored). Ports
   * that are taken by someone else (EADDRINUSE/EACCES) are skipped. Rejects with AppError
   * `ports_exhausted` (pool empty or every attempt taken) or `bind_failed` (other errors,
   * e.g. an address not on this host).
   */
  static async open(opts: RtpSessionOptions): Promise<RtpSession> {
    const type = isIP(opts.host) === 6 ? 'udp6' : 'udp4';
    const attempts = opts.bindAttempts ?? Math.min(opts.pool.capacity, 32);
    let lastErr: unknown;
    for (let i = 0; i < attempts; i++) {
      const port = opts.pool.acquire();
      if (port === undefined) break;
      let rtp: dgram.Socket | undefined;
      try {
        rtp = await bindSocket(type, opts.host, port);
        const rtcp = await bindSocket(type, opts.host, port + 1);
        return new RtpSession(opts, rtp, rtcp, port);
      } catch (err) {
        rtp?.close();
        opts.pool.release(port); // goes to the back of the ring
        lastErr = err;
        if (!isBindConflict(err))
          throw new AppError('bind_failed', `cannot bind RTP on ${opts.host}:${port}`, { cause: err });
        opts.logger?.debug({ port, err }, 'RTP port busy, trying the next one');
      }
    }
    throw new AppError('ports_exhausted', `no free RTP port on ${opts.host}`, { cause: lastErr });
  }

  // ---- configuration ----

  /**
   * The peer's address from SDP: where we send, and the source we expect. 0.0.0.0 / :: = no
   * address (hold): nothing is sent until a source is learned. The same address again keeps
   * the current lock; another one starts learning afresh (see the class comment).
   */
  setRemote(host: string, port: number): void {
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new AppError('invalid_input', `bad RTP port ${port}`);
    const none = host === '0.0.0.0' || host === '::' || port === 0;
    const h = none ? '' : this.v6 && isIP(host) === 4 ? `::ffff:${host}` : host;
    const p = none ? 0 : port;
    if (this.sourceState !== 'idle' && h === this.expectedHost && p === this.expectedPort) return;
    this.expectedHost = h;
    this.expectedPort = p;
    this.remoteHost = h;
    this.remotePort = p;
    this.moveSource('learning');
    this.learnScope = learnScopeOf(h);
    this.learnDeadline = 0;
  }

  /** The one place the source state changes: checks the move, resets probation. */
  private moveSource(to: SourceState): void {
    if (!SOURCE_MOVES[this.sourceState].includes(to))
      throw new AppError('internal', `RTP source state ${this.sourceState} → ${to}`);
    this.sourceState = to;
    this.candCount = 0;
  }

  /**
   * SRTP keys from SDES (30-byte master key ‖ salt each): `send` is ours, `receive` the
   * peer's; null = plain RTP. The same keys again (a re-INVITE that keeps them) keep the
   * contexts, and with them the roll-over counters and replay windows.
   */
  setSrtp(keys: SrtpKeys | null): void {
    const cur = this.srtpKeys;
    if (keys === null) {
      this.srtpKeys = this.srtpTx = this.srtpRx = null;
      return;
    }
    if (cur === null || !cur.send.equals(keys.send)) this.srtpTx = new SrtpContext(keys.send);
    if (cur === null || !cur.receive.equals(keys.receive)) this.srtpRx = new SrtpContext(keys.receive);
    this.srtpKeys = { send: Buffer.from(keys.send), receive: Buffer.from(keys.receive) };
  }

  get srtp(): boolean {
    return this.srtpKeys !== null;
  }

  /** idle, learning or locked (see the class comment); for tests and diagnostics. */
  get sourcePolicy(): SourceState {
    return this.sourceState;
  }

  /** Our SSRC (RFC 3550 §3): random, changed only by `changeSsrc`. */
  get ssrc(): number {
    return this.ssrcValue;
  }

  /**
   * Starts a new RTP stream: new random SSRC and sequence numbers, marker on the next packet
   * (what a phone does when it restarts its media; RFC 3550 §8.2).
   */
  changeSsrc(): void {
    const rnd = randomBytes(6);
    this.ssrcValue = rnd.readUInt32BE(0);
    this.seq = rnd.readUInt16BE(4);
    this.forceMarker = true;
    this.lastKind = KIND_NONE;
  }

  /** The address we currently send to, or null. */
  get remote(): { host: string; port: number } | null {
    return this.remotePort === 0 ? null : { host: this.remoteHost, port: this.remotePort };
  }

  setCodec(config: CodecConfig): void {
    this.codecName = config.codec;
    this.pt = config.payloadType & 0x7f;
    this.dtmfPt = config.dtmfPayloadType === undefined ? -1 : config.dtmfPayloadType & 0x7f;
    this.cnPt = config.cnPayloadType === undefined ? -1 : config.cnPayloadType & 0x7f;
  }

  /** Sends comfort noise / silence on every tick with nothing else to send (see the class comment). */
  setFill(on: boolean): void {
    if (this.closed || this.fill === on) return;
    this.fill = on;
    this.updateClock();
  }

  /** A bridge relays for this session (true) or no more (false): no fill meanwhile. */
  setRelaying(on: boolean): void {
    if (this.closed || this.relaying === on) return;
    this.relaying = on;
    this.updateClock();
  }

  get filling(): boolean {
    return this.fill && !this.relaying;
  }

  /**
   * Listens for DTMF tones in the received audio (for peers without telephone-event);
   * its digits go to onDtmf like RFC 4733 ones. Off by default: it costs CPU per packet.
   */
  setInbandDtmf(on: boolean): void {
    if (on && this.inband === null) {
      const det = new InbandDtmfDetector();
      det.onDigit = (digit) => {
        // A peer that sends telephone-events and leaves the tones in its audio too (common
        // with `--inband-dtmf always`) would type every key twice: the event wins.
        const at = this.now();
        if (at - this.lastEventAt < INBAND_AFTER_EVENT_MS) return;
        this.onDtmf?.(digit, at);
      };
      this.inband = det;
    } else if (!on) this.inband = null;
  }

  get inbandDtmf(): boolean {
    return this.inband !== null;
  }

  get codec(): Codec {
    return this.codecName;
  }

  get payloadType(): number {
    return this.pt;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The media clock's frame counter (a mixer's tick, ../mixer.ts). */
  get clockFrame(): number {
    return this.clock.frame;
  }

  // ---- outgoing audio ----

  /** Plays a source (one frame per clock tick) or stops (null). Starts a new talkspurt. */
  setSource(source: FrameSource | null): void {
    if (this.closed) return;
    if (source !== this.source) this.forceMarker = true;
    this.source = source;
    this.updateClock();
  }

  /** Sends a received payload now with our SSRC/seq/ts, transcoding to our codec. */
  sendRelayed(payload: Buffer, codec: Codec): void {
    const len = payload.length;
    if (this.closed || this.remotePort === 0 || this.dtmfTx.active || len === 0 || len > MAX_PAYLOAD) {
      this.stats.relayDropped++;
      return;
    }
    const now = performance.now();
    let ts: number;
    let marker: boolean;
    if (this.lastKind === KIND_RELAY && now - this.lastSendMs < RELAY_CONTINUOUS_MS) {
      ts = this.tsLastEnd;
      marker = false;
    } else {
      ts = this.talkspurtTs(now);
      marker = true;
    }
    const buf = this.nextSlot();
    transcodeInto(codec, this.codecName, payload, 0, len, buf, RTP_HEADER_SIZE);
    this.emit(buf, this.pt, marker, ts, len);
    this.tsLastEnd = (ts + len) >>> 0;
    this.lastKind = KIND_RELAY;
    this.lastSendMs = now;
  }

  /**
   * Queues RFC 4733 events (0-9 * # A-D), sent on the media clock: 100 ms tones, 60 ms
   * gaps by default. The source is paused on frames that carry event packets (it plays
   * in the gaps between digits); relayed audio is dropped until the queue is done. Returns false
   * (nothing queued) when closed or when no telephone-event PT was negotiated — the
   * caller may fall back to SIP INFO. Throws AppError `invalid_input` for non-digits.
   */
  sendDtmf(digits: string): boolean {
    if (this.closed || this.dtmfPt < 0) return false;
    try {
      this.dtmfTx.enqueue(digits);
    } catch (err) {
      throw new AppError('invalid_input', (err as Error).message, { cause: err });
    }
    this.updateClock();
    return true;
  }

  /** DTMF digits still queued or being sent. */
  get sendingDtmf(): boolean {
    return this.dtmfTx.active;
  }

  /** MediaClock callback: one 20 ms frame. */
  tick(): void {
    if (this.closed) return;
    const frame = this.clock.frame;
    if (this.dtmfTx.active) {
      const buf = this.nextSlot();
      const r = this.dtmfTx.next(buf, RTP_HEADER_SIZE);
      if (r === DtmfFrame.Event) {
        const marker = this.dtmfTx.marker;
        if (marker) this.dtmfTs = this.frameTs(frame);
        if (this.remotePort !== 0) this.emit(buf, this.dtmfPt, marker, this.dtmfTs, 4);
        if (marker) this.onDtmfSent?.(performance.now());
        const end = (this.dtmfTs + buf.readUInt16BE(RTP_HEADER_SIZE + 2)) >>> 0;
        if (((end - this.tsLastEnd) | 0) > 0 || !this.sentAny) this.tsLastEnd = end;
        this.tsLast = this.dtmfTs;
        this.lastKind = KIND_DTMF;
        this.lastFrame = frame;
        this.sentAny = true;
        return;
      }
      if (!this.dtmfTx.active) this.updateClock();
    }
    this.tickSource(frame);
  }

  private tickSource(frame: number): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      const src = this.source;
      if (src === null) break;
      if (src.read(this.pcm)) {
        this.sendFrame(frame);
        return;
      }
      if (this.source === src) this.source = null;
      this.forceMarker = true;
      this.onSourceEnd?.();
      if (this.source === null) {
        this.updateClock();
        break;
      }
    }
    // Nothing played on this tick (no source, or it just ended): keep the stream going.
    if (this.source === null && this.filling) this.sendFill(frame);
  }

  /** One fill frame: CN (one level byte) if negotiated, else 20 ms of encoded silence. */
  private sendFill(frame: number): void {
    const df = frame - this.lastFrame;
    const continuing = (this.lastKind === KIND_SOURCE || this.lastKind === KIND_FILL) && df >= 1 && df <= 3;
    const ts = continuing ? (this.tsLast + FRAME_SIZE * df) >>> 0 : this.talkspurtTs(this.clock.tickTimeMs);
    if (this.remotePort !== 0) {
      const buf = this.nextSlot();
      if (this.cnPt >= 0) {
        buf[RTP_HEADER_SIZE] = CN_LEVEL;
        this.emit(buf, this.cnPt, false, ts, 1);
      } else {
        // G.711 silence: PCMU 0xFF, PCMA 0xD5 (both decode to 0).
        buf.fill(this.codecName === 'PCMA' ? 0xd5 : 0xff, RTP_HEADER_SIZE, RTP_HEADER_SIZE + FRAME_SIZE);
        this.emit(buf, this.pt, false, ts, FRAME_SIZE);
      }
    }
    this.sentFrame(ts, KIND_FILL, frame);
  }

  private sendFrame(frame: number): void {
    const df = frame - this.lastFrame;
    let ts: number;
    let marker: boolean;
    if (!this.forceMarker && this.lastKind === KIND_SOURCE && df >= 1 && df <= 3) {
      ts = (this.tsLast + FRAME_SIZE * df) >>> 0;
      marker = false;
    } else if (this.lastKind === KIND_FILL && df >= 1 && df <= 3) {
      // A talkspurt after the fill: the timestamps run on, the marker says speech starts.
      ts = (this.tsLast + FRAME_SIZE * df) >>> 0;
      marker = true;
    } else {
      ts = this.talkspurtTs(this.clock.tickTimeMs);
      marker = true;
    }
    this.forceMarker = false;
    if (this.remotePort !== 0) {
      const buf = this.nextSlot();
      encodeFrame(this.codecName, this.pcm, buf, RTP_HEADER_SIZE);
      this.emit(buf, this.pt, marker, ts, FRAME_SIZE);
    }
    this.sentFrame(ts, KIND_SOURCE, frame);
  }

  /** Where the stream stands after a frame of audio (`kind`) went out with timestamp `ts`. */
  private sentFrame(ts: number, kind: number, frame: number): void {
    this.tsLast = ts;
    this.tsLastEnd = (ts + FRAME_SIZE) >>> 0;
    this.lastKind = kind;
    this.lastFrame = frame;
    this.lastSendMs = this.clock.tickTimeMs;
    this.sentAny = true;
  }

  /** Timestamp for a frame sent on this tick: continues a running stream, else wall time. */
  private frameTs(frame: number): number {
    const df = frame - this.lastFrame;
    if ((this.lastKind === KIND_SOURCE || this.lastKind === KIND_FILL) && df >= 1 && df <= 3)
      return (this.tsLast + FRAME_SIZE * df) >>> 0;
    return this.talkspurtTs(this.clock.tickTimeMs);
  }

  /** Wall-clock timestamp (8 per ms since open), never before the end of the last packet. */
  private talkspurtTs(nowMs: number): number {
    let ts = (this.tsBase + Math.round((nowMs - this.t0) * 8)) >>> 0;
    if (this.sentAny && ((ts - this.tsLastEnd) | 0) < 0) ts = this.tsLastEnd;
    this.sentAny = true;
    return ts;
  }

  private nextSlot(): Buffer {
    const buf = this.slots[this.slotIndex]!;
    this.slotIndex = (this.slotIndex + 1) % SLOTS;
    return buf;
  }

  private emit(buf: Buffer, pt: number, marker: boolean, ts: number, payloadLen: number): void {
    this.seq = (this.seq + 1) & 0xffff;
    this.tsLast = ts;
    writeRtpHeader(buf, 0, pt, marker, this.seq, ts, this.ssrcValue);
    if (pt === this.pt && this.recordTap !== null)
      this.recordTap.sent(buf.subarray(RTP_HEADER_SIZE, RTP_HEADER_SIZE + payloadLen), this.codecName);
    let len = RTP_HEADER_SIZE + payloadLen;
    if (this.srtpTx !== null) len = this.srtpTx.protect(buf, len, RTP_HEADER_SIZE);
    this.rtp.send(buf, 0, len, this.remotePort, this.remoteHost);
    this.stats.packetsSent++;
    this.stats.bytesSent += len;
  }

  private updateClock(): void {
    if (!this.closed && (this.source !== null || this.dtmfTx.active || this.filling)) this.clock.add(this);
    else this.clock.remove(this);
  }

  // ---- incoming ----

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    try {
      this.receive(msg, rinfo.address, rinfo.port);
    } catch (err) {
      this.stats.errors++;
      this.logger?.debug({ err, localPort: this.localPort }, 'error in RTP handler');
    }
  };

  private readonly onSocketError = (err: Error): void => {
    this.stats.errors++;
    this.logger?.debug({ err, localPort: this.localPort }, 'RTP socket error');
  };

  private receive(msg: Buffer, address: string, port: number): void {
    if (this.closed) return;
    let len = msg.length;
    const rx = this.srtpRx;
    // SRTP: the tag follows the payload, and padding is inside the encrypted part.
    const off = rtpPayloadOffset(msg, rx === null ? len : len - SRTP_AUTH_TAG_LEN);
    let plen = off < 0 ? -1 : rx === null ? rtpPayloadLength(msg, off, len) : 0;
    if (plen < 0) {
      this.stats.malformed++;
      if (!this.loggedMalformed) {
        this.loggedMalformed = true;
        this.logger?.debug(
          { localPort: this.localPort, from: `${address}:${port}`, length: len },
          'malformed RTP dropped',
        );
      }
      return;
    }
    const pt = msg[1]! & 0x7f;
    if (pt >= 72 && pt <= 76) {
      this.stats.rtcpIgnored++;
      return;
    }
    if (rx !== null) {
      const n = rx.unprotect(msg, len, off);
      if (n < 0) {
        if (n === SRTP_REPLAYED) this.stats.srtpReplayed++;
        else this.stats.srtpAuthFailed++;
        if (n === SRTP_AUTH_FAILED && this.stats.srtpAuthFailed === 1)
          this.logger?.debug(
            { localPort: this.localPort, from: `${address}:${port}`, length: len },
            'SRTP packet failed authentication, dropped',
          );
        return;
      }
      len = n;
      plen = rtpPayloadLength(msg, off, len);
      if (plen < 0) {
        this.stats.malformed++;
        return;
      }
    }
    if (!this.admit(msg, address, port)) return;
    this.onPacket?.(pt, (msg[1]! & 0x80) !== 0, (msg[2]! << 8) | msg[3]!, msg.readUInt32BE(4));
    const stats = this.stats;
    stats.packetsReceived++;
    stats.bytesReceived += msg.length;
    stats.lastReceivedAt = performance.now();
    const reception = this.reception;
    reception.packet(msg.readUInt32BE(8), (msg[2]! << 8) | msg[3]!);
    stats.packetsLost = reception.lost;
    if (pt === this.dtmfPt || ((pt === 101 || pt === 96) && pt !== this.pt)) {
      stats.dtmfPackets++;
      if (this.inband !== null) this.lastEventAt = this.now();
      this.dtmfRx.feed(msg.readUInt32BE(8), (msg[2]! << 8) | msg[3]!, msg.readUInt32BE(4), msg, off, plen);
      return;
    }
    let codec: Codec;
    if (pt === this.pt) codec = this.codecName;
    else if (pt === 0) codec = 'PCMU';
    else if (pt === 8) codec = 'PCMA';
    else {
      stats.unknownPayloadType++;
      return;
    }
    reception.timing(msg.readUInt32BE(4), stats.lastReceivedAt);
    stats.jitterSeconds = reception.jitterSeconds;
    stats.maxJitterSeconds = reception.maxJitterSeconds;
    if (plen === 0) return;
    this.recordTap?.received(msg.subarray(off, off + plen), codec);
    const cb = this.onAudio;
    if (cb === null && this.inband === null) return;
    const payload = msg.subarray(off, off + plen);
    this.inband?.feedPayload(payload, codec);
    if (cb !== null) cb(payload, codec, this);
  }

  /**
   * The source check, before anything reads the packet: true when it comes from the peer.
   * May lock the stream or move the remote (see the class comment).
   */
  private admit(msg: Buffer, address: string, port: number): boolean {
    const state = this.sourceState;
    if (state !== 'idle') {
      if (port === this.remotePort && address === this.remoteHost) {
        if (state === 'learning') this.lock(address, port, 'RTP source confirmed');
        return true;
      }
      if (port === this.expectedPort && address === this.expectedHost) {
        this.lock(address, port, 'RTP source back on the SDP address');
        return true;
      }
      if (state === 'learning' && this.learnable(address)) {
        const now = this.now();
        if (this.learnDeadline === 0) this.learnDeadline = now + LEARN_WINDOW_MS;
        if (now <= this.learnDeadline) {
          this.probation(msg, address, port);
          return this.sourceState === 'locked';
        }
      }
    }
    this.stats.sourceDropped++;
    if (this.firstForeign === '') {
      this.firstForeign = `${address}:${port}`;
      this.logger?.debug(
        { localPort: this.localPort, from: this.firstForeign, state },
        'RTP from an unexpected source dropped',
      );
    }
    return false;
  }

  private learnable(address: string): boolean {
    const scope = this.learnScope;
    return scope === 'any' || (scope === 'same_ip' && address === this.expectedHost);
  }

  /** One packet of a would-be source: PROBATION in a row (one SSRC, seq +1) and it is locked. */
  private probation(msg: Buffer, address: string, port: number): void {
    const ssrc = msg.readUInt32BE(8);
    const seq = (msg[2]! << 8) | msg[3]!;
    if (
      this.candCount > 0 &&
      port === this.candPort &&
      address === this.candHost &&
      ssrc === this.candSsrc &&
      seq === ((this.candSeq + 1) & 0xffff)
    ) {
      this.candCount++;
    } else {
      this.candHost = address;
      this.candPort = port;
      this.candSsrc = ssrc;
      this.candCount = 1;
    }
    this.candSeq = seq;
    if (this.candCount >= PROBATION) {
      this.lock(address, port, 'RTP source learned');
      return;
    }
    this.stats.learningDropped++;
  }

  private lock(address: string, port: number, why: string): void {
    this.moveSource('locked');
    if (port === this.remotePort && address === this.remoteHost) return;
    this.remoteHost = address;
    this.remotePort = port;
    this.stats.remoteChanges++;
    this.logger?.debug({ localPort: this.localPort, remote: `${address}:${port}` }, why);
  }

  // ---- teardown ----

  /** Closes both sockets, returns the port to the pool, leaves the clock. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const st = this.stats;
    // One-way audio an operator can fix: the peer's media came from an address its SDP does
    // not name and that could not be learned (a NAT or ALG rewriting it, a public SDP address
    // with media from another IP). Attack traffic on a call whose peer did send is not this.
    if (st.packetsReceived === 0 && st.sourceDropped + st.learningDropped > 0)
      this.logger?.warn(
        {
          localPort: this.localPort,
          expected: this.expectedPort === 0 ? 'none' : `${this.expectedHost}:${this.expectedPort}`,
          firstDropped: this.firstForeign,
          dropped: st.sourceDropped + st.learningDropped,
        },
        'no RTP from the peer during the call, packets from other sources dropped',
      );
    // Keys that do not match (a peer or SBC re-keying without telling us, a broken SDES
    // implementation): the call had no audio from the peer at all.
    if (st.packetsReceived === 0 && st.srtpAuthFailed > 0)
      this.logger?.warn(
        { localPort: this.localPort, failed: st.srtpAuthFailed },
        'no SRTP packet from the peer passed authentication during the call (wrong keys?)',
      );
    this.source = null;
    this.dtmfTx.clear();
    this.clock.remove(this);
    for (const s of [this.rtp, this.rtcp]) {
      try {
        s.close();
      } catch {
        /* already closed */
      }
    }
    this.pool.release(this.localPort);
  }
}
