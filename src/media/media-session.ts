/**
 * The media port: everything the call layer (and what stands on it) may ask of a call's
 * media, and everything media tells it back. Commands and events are plain data — what is
 * played is a `Playable` (prompt files, a tone, music), never a frame source, and events are
 * one tagged union — so that an implementation may run the sessions somewhere else (another
 * thread) without the call layer noticing. Today's implementation runs in this process:
 * `local/local-media.ts` (RTP sessions, bridges and players of this folder); only the
 * composition root picks and builds one.
 *
 * Ownership: a session belongs to the leg that opened it; `close()` is idempotent and
 * releases the session's ports. A bridge belongs to both sessions: it ends on `unbridge()`
 * or when either session closes.
 */

import type { Codec } from './codec/g711.ts';
import type { ToneKind } from './tones.ts';
import type { MonitorMode } from './mixer.ts';

export { SRTP_KEY_SALT_LEN } from './srtp/srtp.ts';
export type { ToneKind } from './tones.ts';
export type { MonitorMode } from './mixer.ts';

/** What a session plays, by reference: resolved to audio by the implementation. */
export type Playable =
  /** Prompt files (8 kHz WAV), back to back; ends after the last. */
  | { readonly kind: 'prompts'; readonly files: readonly string[] }
  /** A call-progress tone (ringback and busy loop until replaced). */
  | { readonly kind: 'tone'; readonly tone: ToneKind }
  /** Music on hold from a file, looped until replaced. */
  | { readonly kind: 'music'; readonly file: string };

export interface CodecConfig {
  codec: Codec;
  /** PT we send audio with (0 PCMU, 8 PCMA normally). */
  payloadType: number;
  /** Negotiated telephone-event PT (any dynamic value); sendDtmf needs it. */
  dtmfPayloadType?: number;
  /** Negotiated comfort-noise PT (RFC 3389; 13 or dynamic): the idle fill sends CN on it. */
  cnPayloadType?: number;
}

/** SDES master keys (30 bytes key ‖ salt each): `send` is ours, `receive` the peer's. */
export interface SrtpKeys {
  send: Buffer;
  receive: Buffer;
}

export interface RtpStats {
  packetsSent: number;
  /** Datagram bytes (header included; with SRTP the auth tag too). */
  bytesSent: number;
  /** Valid RTP from the peer (past the source check). */
  packetsReceived: number;
  /** Datagram bytes as on the wire, like bytesSent (with SRTP: before unprotect, tag included). */
  bytesReceived: number;
  /** Not RTP v2, too short, or inconsistent CSRC/extension/padding. */
  malformed: number;
  /** Valid RTP with a payload type we do not handle. */
  unknownPayloadType: number;
  /** RTCP arriving on the RTP port. */
  rtcpIgnored: number;
  /** Telephone-event packets received (all, including repeats). */
  dtmfPackets: number;
  /** Relayed payloads not sent (no remote yet, DTMF in progress, too large). */
  relayDropped: number;
  /** Times the remote moved to a learned source or back to the SDP address. */
  remoteChanges: number;
  /** Valid RTP from a source that is not the peer (dropped unseen, DTMF included). */
  sourceDropped: number;
  /** Packets of a new source held back while it passes probation (NAT learning). */
  learningDropped: number;
  /** SRTP packets whose authentication tag was wrong (tampered, wrong key, not SRTP at all). */
  srtpAuthFailed: number;
  /** SRTP packets seen before or older than the replay window. */
  srtpReplayed: number;
  /** Errors from callbacks or sockets caught in handlers. */
  errors: number;
  /** performance.now() of the last valid packet; 0 = none yet. */
  lastReceivedAt: number;
  /** Packets of the peer's stream that never came (RFC 3550 A.3; see rtp/reception.ts). */
  packetsLost: number;
  /** Interarrival jitter of the peer's audio now and at its highest (RFC 3550 A.8), seconds. */
  jitterSeconds: number;
  maxJitterSeconds: number;
}

/** Every counter at zero: a new session's. */
export function emptyRtpStats(): RtpStats {
  return {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    malformed: 0,
    unknownPayloadType: 0,
    rtcpIgnored: 0,
    dtmfPackets: 0,
    relayDropped: 0,
    remoteChanges: 0,
    sourceDropped: 0,
    learningDropped: 0,
    srtpAuthFailed: 0,
    srtpReplayed: 0,
    errors: 0,
    lastReceivedAt: 0,
    packetsLost: 0,
    jitterSeconds: 0,
    maxJitterSeconds: 0,
  };
}

/** A session's counters and state, as last known to the caller. */
export interface MediaStats extends RtpStats {
  /** SRTP keys are set. */
  srtp: boolean;
  /** Where we send now (the SDP address, or the source learned behind a NAT); null = nowhere. */
  remote: { host: string; port: number } | null;
  /** In-band DTMF detection is on. */
  inbandDtmf: boolean;
}

/** What a session tells its owner. */
export type MediaEvent =
  /** A DTMF digit (RFC 4733 event or in-band tone), once, with the monotonic ms it began. */
  | { readonly type: 'dtmf'; readonly digit: string; readonly atMs: number }
  /** A finite Playable played to its end (not sent when it was stopped or replaced). */
  | { readonly type: 'playEnded' }
  /** The media is gone (its worker died) and not rebuilt: the session is closed. */
  | { readonly type: 'lost' };

/** What a finished recording is (./recorder.ts). */
export interface RecordingResult {
  file: string;
  durationMs: number;
  /** File size, header included. */
  bytes: number;
}

/** A recording in progress (`MediaSession.record`). */
export interface MediaRecording {
  readonly file: string;
  /** Ends it (the file is complete when this resolves); the same answer every time. */
  stop(): Promise<RecordingResult>;
}

export interface MediaBridge {
  /** True until unbridge() (or either session closed). */
  readonly active: boolean;
  /** Stops relaying; both sessions play nothing until told otherwise. */
  unbridge(): void;
}

/**
 * A supervisor's session hearing a bridged pair (listen / whisper / barge, ./mixer.ts says who
 * hears whom). The agent gets no tone of it. Ends on stop(), when the supervisor's session
 * closes, or by itself when the pair's bridge is undone (the call ended, the agent opened
 * the menu, a transfer): then `onEnded` is called, once.
 */
export interface MediaMonitor {
  /** True until it ends (stop, or the pair unbridged). */
  readonly active: boolean;
  readonly mode: MonitorMode;
  setMode(mode: MonitorMode): void;
  /** Back to the plain relay for the pair; the supervisor's session plays nothing. */
  stop(): void;
  /** Set by the owner: monitoring ended without stop(). */
  onEnded: (() => void) | null;
}

/** One call leg's media stream. */
export interface MediaSession {
  readonly localHost: string;
  readonly localPort: number;
  /** Every event of this session; one owner (the leg) sets it. */
  onEvent: ((event: MediaEvent) => void) | null;

  /** The peer's address from SDP (0.0.0.0 / port 0: none, hold). */
  setRemote(host: string, port: number): void;
  setCodec(config: CodecConfig): void;
  /** null = plain RTP. */
  setSrtp(keys: SrtpKeys | null): void;
  /** Listens for DTMF tones in the received audio (digits come as `dtmf` events). */
  setInbandDtmf(on: boolean): void;
  /** Comfort noise / silence whenever nothing else is sent (an answered leg is never silent). */
  setFill(on: boolean): void;
  /** Plays `what` instead of whatever played; `playEnded` when a finite one ends. */
  play(what: Playable): void;
  /** Stops whatever plays (the fill, when on, takes over). */
  stop(): void;
  /** RFC 4733 events on the negotiated telephone-event PT. */
  sendDtmf(digits: string): void;
  /** Relays audio both ways with `other` (transcoding when codecs differ); stops both plays. */
  bridge(other: MediaSession): MediaBridge;
  /** Sends back everything the peer sends (the diagnostics echo number). */
  echo(): void;
  /**
   * Records this session into a new stereo G.711 WAV `file` (absolute path): left what it
   * receives, right what it sends — whatever it is bridged with or plays, so on a customer's
   * session the recording follows transfers. Resolves once the file is open; closing the
   * session stops it. One recording at a time (AppError `conflict` otherwise).
   */
  record(opts: { file: string }): Promise<MediaRecording>;
  /**
   * This (the supervisor's) session hears `target`, two sessions bridged with each other, and
   * is heard as `mode` says. Throws AppError `not_bridged` when they are not (any more).
   */
  monitor(target: { customer: MediaSession; agent: MediaSession }, mode: MonitorMode): MediaMonitor;
  /** Counters and state now. */
  stats(): MediaStats;
  /** Releases the session's ports; idempotent. */
  close(): void;
}

/** Opens sessions; one per process or media host, chosen by the composition root. */
export interface MediaSessions {
  /**
   * A new session bound on `host`; throws when no port is free. `near`: a session this one
   * will be bridged with (the customer's, for an agent leg), kept in the same place (thread)
   * so that relaying stays there.
   */
  open(opts: { host: string; near?: MediaSession }): Promise<MediaSession>;
  /** Reads prompt files now, so that a missing one fails at start rather than mid-call. */
  preload(files: readonly string[]): void;
}
