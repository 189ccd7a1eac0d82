/**
 * What crosses the MessagePort between the main thread and a media worker: plain data only
 * (structured clone). Sessions are named by an id the main thread gives them. Times (a dtmf
 * event's atMs, lastReceivedAt) cross as ms since the epoch: each thread's clock has its origin.
 */

import type { Codec } from '../codec/g711.ts';
import type {
  CodecConfig,
  MediaEvent,
  MediaStats,
  MonitorMode,
  Playable,
  RecordingResult,
  SrtpKeys,
} from '../media-session.ts';

/** One command for one session, as the port's methods take it. */
export type SessionCommand =
  | { readonly m: 'setRemote'; readonly host: string; readonly port: number }
  | { readonly m: 'setCodec'; readonly config: CodecConfig }
  | { readonly m: 'setSrtp'; readonly keys: SrtpKeys | null }
  | { readonly m: 'setInbandDtmf'; readonly on: boolean }
  | { readonly m: 'setFill'; readonly on: boolean }
  | { readonly m: 'play'; readonly what: Playable }
  | { readonly m: 'stop' }
  | { readonly m: 'sendDtmf'; readonly digits: string }
  | { readonly m: 'echo' }
  /** Relay with a session of the same worker. */
  | { readonly m: 'bridge'; readonly other: number }
  /** Relay with a session of another worker: audio goes out as `audio` messages. */
  | { readonly m: 'relayOut'; readonly on: boolean }
  | { readonly m: 'relayIn'; readonly payload: Uint8Array; readonly codec: Codec }
  | { readonly m: 'unbridge' }
  /** This session monitors the bridged pair `customer`/`agent` of the same worker; `n` names it. */
  | {
      readonly m: 'monitor';
      readonly n: number;
      readonly customer: number;
      readonly agent: number;
      readonly mode: MonitorMode;
    }
  | { readonly m: 'monitorMode'; readonly mode: MonitorMode }
  | { readonly m: 'monitorStop' }
  | { readonly m: 'close' }
  /** Start recording `rid` into `file` (the worker writes it); answered by `recordStarted`. */
  | { readonly m: 'record'; readonly rid: number; readonly file: string }
  /** Answered by `recordStopped` (also sent unasked when the session closes). */
  | { readonly m: 'stopRecord'; readonly rid: number };

export type ToWorker =
  | { readonly op: 'preload'; readonly files: readonly string[] }
  /** Bind `port` (and port+1) on `host`: the main thread's pool chose it. */
  | { readonly op: 'open'; readonly id: number; readonly host: string; readonly port: number }
  | { readonly op: 'cmd'; readonly id: number; readonly cmd: SessionCommand };

export type FromWorker =
  | { readonly op: 'opened'; readonly id: number; readonly host: string }
  /** `busy`: the port is taken (try another); else a bind error. */
  | { readonly op: 'openFailed'; readonly id: number; readonly busy: boolean; readonly message: string }
  | { readonly op: 'event'; readonly id: number; readonly event: MediaEvent }
  /** Every open session's counters, a few times a second. */
  | {
      readonly op: 'stats';
      readonly sessions: readonly (readonly [number, MediaStats])[];
      readonly worker: WorkerCounters;
    }
  | { readonly op: 'audio'; readonly id: number; readonly payload: Uint8Array; readonly codec: Codec }
  /** `error`: the file could not be opened (or the session was gone). */
  | { readonly op: 'recordStarted'; readonly rid: number; readonly error?: string }
  | {
      readonly op: 'recordStopped';
      readonly rid: number;
      readonly result?: RecordingResult;
      readonly error?: string;
    }
  /** Monitoring `n` of session `id` ended by itself (the pair unbridged) or could not start. */
  | { readonly op: 'monitorEnded'; readonly id: number; readonly n: number }
  | { readonly op: 'log'; readonly level: 'debug' | 'warn'; readonly obj: object; readonly msg?: string };

/** A worker's own figures (for /metrics, per worker). */
export interface WorkerCounters {
  sessions: number;
  /** Over the worker's life (closed sessions included). */
  packetsIn: number;
  packetsOut: number;
  /** Lost in reception (RFC 3550 A.3), over the worker's life. */
  packetsLost: number;
  /** The highest interarrival jitter (RFC 3550 A.8) of its sessions now, seconds. */
  jitterSeconds: number;
  /** 20 ms ticks the clock woke up late for. */
  lateTicks: number;
  /** The worker's JavaScript heap in use now, bytes (its share of the process's memory). */
  heapBytes: number;
}

/** How often a worker reports counters (the leg's watchdog and /metrics read them). */
export const STATS_PERIOD_MS = 200;
