/**
 * The media port (../media-session.ts) in this process, on the main event loop: each session
 * is an RtpSession (../rtp/session.ts) on the shared 20 ms MediaClock, bridges are
 * ../bridge.ts, and a Playable is resolved here to a FrameSource from one prompt cache for
 * every call. Tests and small installs use it; it is also what a media worker runs inside.
 */

import { bridge as bridgeSessions, type Bridge } from '../bridge.ts';
import type { FrameSource } from '../frame-source.ts';
import type { MediaClock } from '../media-clock.ts';
import type {
  CodecConfig,
  MediaBridge,
  MediaEvent,
  MediaRecording,
  MediaMonitor,
  MediaSession,
  MonitorMode,
  MediaSessions,
  MediaStats,
  Playable,
  SrtpKeys,
} from '../media-session.ts';
import { ClipPlayer, LoopPlayer, PromptCache } from '../player.ts';
import type { PortPool } from '../port-pool.ts';
import { Recorder } from '../recorder.ts';
import { RtpSession, type MediaLogger } from '../rtp/session.ts';
import { AppError } from '../../util/errors.ts';
import { toneSource } from '../tones.ts';
import { LocalMonitor } from './monitor.ts';

export interface LocalMediaOptions {
  pool: PortPool;
  clock: MediaClock;
  logger?: MediaLogger;
}

export class LocalMedia implements MediaSessions {
  /** Prompt files read once, shared by every session. */
  readonly cache = new PromptCache();

  constructor(private readonly opts: LocalMediaOptions) {}

  async open(opts: { host: string; near?: MediaSession }): Promise<LocalMediaSession> {
    const rtp = await RtpSession.open({
      host: opts.host,
      pool: this.opts.pool,
      clock: this.opts.clock,
      logger: this.opts.logger,
    });
    return new LocalMediaSession(rtp, this.cache);
  }

  preload(files: readonly string[]): void {
    for (const f of files) this.cache.get(f);
  }
}

/** The audio a Playable stands for. */
export function frameSourceOf(what: Playable, cache: PromptCache): FrameSource {
  switch (what.kind) {
    case 'prompts':
      return new ClipPlayer(what.files.map((f) => cache.get(f)));
    case 'tone':
      return toneSource(what.tone);
    case 'music':
      return new LoopPlayer(cache.get(what.file));
  }
}

export class LocalMediaSession implements MediaSession {
  onEvent: ((event: MediaEvent) => void) | null = null;
  private bridged: MediaBridge | undefined;
  private recorder: Recorder | undefined;
  /** The relay behind `bridged` (a monitor taps it). */
  private pair: Bridge | undefined;
  /** This session's monitoring of another pair, while it lasts. */
  private monitoring: MediaMonitor | undefined;

  constructor(
    /** The RTP stream itself: for this folder and the media worker, not for callers of the port. */
    readonly rtp: RtpSession,
    private readonly cache: PromptCache,
  ) {
    rtp.onDtmf = (digit, atMs) => this.onEvent?.({ type: 'dtmf', digit, atMs });
    rtp.onSourceEnd = () => this.onEvent?.({ type: 'playEnded' });
  }

  get localHost(): string {
    return this.rtp.localHost;
  }

  get localPort(): number {
    return this.rtp.localPort;
  }

  setRemote(host: string, port: number): void {
    this.rtp.setRemote(host, port);
  }

  setCodec(config: CodecConfig): void {
    this.rtp.setCodec(config);
  }

  setSrtp(keys: SrtpKeys | null): void {
    this.rtp.setSrtp(keys);
  }

  setInbandDtmf(on: boolean): void {
    this.rtp.setInbandDtmf(on);
  }

  setFill(on: boolean): void {
    this.rtp.setFill(on);
  }

  play(what: Playable): void {
    this.rtp.setSource(frameSourceOf(what, this.cache));
  }

  stop(): void {
    this.rtp.setSource(null);
  }

  sendDtmf(digits: string): void {
    this.rtp.sendDtmf(digits);
  }

  bridge(other: MediaSession): MediaBridge {
    if (!(other instanceof LocalMediaSession))
      throw new TypeError('a local media session bridges only with another local one');
    const b = bridgeSessions(this.rtp, other.rtp);
    const handle: MediaBridge = {
      get active() {
        return b.active;
      },
      unbridge: () => {
        b.unbridge();
        for (const s of [this, other])
          if (s.bridged === handle) {
            s.bridged = undefined;
            s.pair = undefined;
          }
      },
    };
    this.bridged = other.bridged = handle;
    this.pair = other.pair = b;
    return handle;
  }

  monitor(target: { customer: MediaSession; agent: MediaSession }, mode: MonitorMode): MediaMonitor {
    const { customer, agent } = target;
    if (!(customer instanceof LocalMediaSession) || !(agent instanceof LocalMediaSession))
      throw new TypeError('a local media session monitors only local ones');
    const pair = customer.pair;
    if (!pair || agent.pair !== pair) throw new AppError('not_bridged', 'the call to monitor is not bridged');
    this.monitoring?.stop();
    this.monitoring = new LocalMonitor(this.rtp, pair, customer.rtp, agent.rtp, mode);
    return this.monitoring;
  }

  echo(): void {
    this.rtp.onAudio = (payload, codec, session) => session.sendRelayed(payload, codec);
  }

  async record(opts: { file: string }): Promise<MediaRecording> {
    if (this.rtp.isClosed) throw new AppError('closed', 'the media session is closed');
    if (this.recorder) throw new AppError('conflict', `already recording into ${this.recorder.file}`);
    const rec = await Recorder.start({ file: opts.file, codec: this.rtp.codec, clock: this.rtp.clock });
    if (this.rtp.isClosed || this.recorder) {
      await rec.stop();
      throw new AppError(
        this.recorder ? 'conflict' : 'closed',
        'the media session changed while the file opened',
      );
    }
    this.recorder = rec;
    this.rtp.recordTap = rec;
    return {
      file: rec.file,
      stop: () => {
        if (this.recorder === rec) {
          this.recorder = undefined;
          this.rtp.recordTap = null;
        }
        return rec.stop();
      },
    };
  }

  /** The recording in progress, stopped (the session closes); its result goes to whoever stops it. */
  private stopRecording(): void {
    const rec = this.recorder;
    if (!rec) return;
    this.recorder = undefined;
    this.rtp.recordTap = null;
    // Whoever holds the handle gets the result (or the error) from its stop().
    rec.stop().catch(() => {});
  }

  stats(): MediaStats {
    const rtp = this.rtp;
    return { ...rtp.stats, srtp: rtp.srtp, remote: rtp.remote, inbandDtmf: rtp.inbandDtmf };
  }

  close(): void {
    this.monitoring?.stop();
    this.bridged?.unbridge();
    this.stopRecording();
    this.rtp.close();
  }
}
