/**
 * A media worker thread: its own sockets, 20 ms clock, prompt cache and sessions (the local
 * implementation, ../local/local-media.ts), driven over the parent port (./protocol.ts). Both
 * legs of a bridge live here, so relaying never crosses a thread; the main thread never sees
 * an RTP packet (except for a bridge it could not place in one worker: `relayOut`).
 */

import { getHeapStatistics } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { LocalMediaSession } from '../local/local-media.ts';
import { MediaClock } from '../media-clock.ts';
import type { MediaBridge, MediaMonitor, MediaRecording } from '../media-session.ts';
import { PromptCache } from '../player.ts';
import { RtpSession, type MediaLogger } from '../rtp/session.ts';
import { STATS_PERIOD_MS, type FromWorker, type SessionCommand, type ToWorker } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('media-worker runs as a worker thread');
const post = (m: FromWorker): void => port.postMessage(m);

const logger: MediaLogger = {
  debug: (obj, msg) => post({ op: 'log', level: 'debug', obj: plain(obj), msg }),
  warn: (obj, msg) => post({ op: 'log', level: 'warn', obj: plain(obj), msg }),
};

/** Errors do not clone with their message on every Node; send what a log line needs. */
function plain(obj: object): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj))
    out[k] = v instanceof Error ? { message: v.message, code: (v as NodeJS.ErrnoException).code } : v;
  return out;
}

/** Each thread's performance.now() has its own origin: times cross as ms since the epoch. */
const epoch = (ms: number): number => ms + performance.timeOrigin;

const clock = new MediaClock();
const cache = new PromptCache();
const sessions = new Map<number, LocalMediaSession>();
const bridges = new Map<number, MediaBridge>();
/** Recordings by the main thread's id, with the session they record. */
const recordings = new Map<number, { id: number; handle: MediaRecording }>();

async function startRecording(s: LocalMediaSession, id: number, rid: number, file: string): Promise<void> {
  try {
    const handle = await s.record({ file });
    recordings.set(rid, { id, handle });
    post({ op: 'recordStarted', rid });
  } catch (err) {
    post({ op: 'recordStarted', rid, error: (err as Error).message });
  }
}

function stopRecording(rid: number): void {
  const r = recordings.get(rid);
  if (!r) return;
  recordings.delete(rid);
  r.handle.stop().then(
    (result) => post({ op: 'recordStopped', rid, result }),
    (err: unknown) => post({ op: 'recordStopped', rid, error: (err as Error).message }),
  );
}
const monitors = new Map<number, MediaMonitor>();

async function open(id: number, host: string, chosen: number): Promise<void> {
  let given = false;
  const pool = {
    capacity: 1,
    acquire: (): number | undefined => (given ? undefined : ((given = true), chosen)),
    release: (): void => {}, // the main thread's pool owns the port
  };
  try {
    const rtp = await RtpSession.open({ host, pool, clock, logger, bindAttempts: 1 });
    const s = new LocalMediaSession(rtp, cache);
    s.onEvent = (event) =>
      post({ op: 'event', id, event: event.type === 'dtmf' ? { ...event, atMs: epoch(event.atMs) } : event });
    sessions.set(id, s);
    post({ op: 'opened', id, host: rtp.localHost });
  } catch (err) {
    const code = (err as { code?: string }).code;
    post({ op: 'openFailed', id, busy: code === 'ports_exhausted', message: (err as Error).message });
  }
}

function command(id: number, cmd: SessionCommand): void {
  const s = sessions.get(id);
  if (!s) {
    // Closed meanwhile: a recording asked for now never starts.
    if (cmd.m === 'record') post({ op: 'recordStarted', rid: cmd.rid, error: 'the media session is closed' });
    return;
  }
  switch (cmd.m) {
    case 'setRemote':
      return s.setRemote(cmd.host, cmd.port);
    case 'setCodec':
      return s.setCodec(cmd.config);
    case 'setSrtp':
      return s.setSrtp(
        cmd.keys && { send: Buffer.from(cmd.keys.send), receive: Buffer.from(cmd.keys.receive) },
      );
    case 'setInbandDtmf':
      return s.setInbandDtmf(cmd.on);
    case 'setFill':
      return s.setFill(cmd.on);
    case 'play':
      return s.play(cmd.what);
    case 'stop':
      return s.stop();
    case 'sendDtmf':
      return s.sendDtmf(cmd.digits);
    case 'echo':
      return s.echo();
    case 'bridge': {
      const other = sessions.get(cmd.other);
      if (!other) return;
      const b = s.bridge(other);
      bridges.set(id, b);
      bridges.set(cmd.other, b);
      return;
    }
    case 'relayOut':
      s.rtp.setSource(null);
      s.rtp.setRelaying(cmd.on);
      s.rtp.onAudio = cmd.on
        ? (payload, codec) => post({ op: 'audio', id, payload: Uint8Array.from(payload), codec })
        : null;
      return;
    case 'relayIn':
      return s.rtp.sendRelayed(
        Buffer.from(cmd.payload.buffer, cmd.payload.byteOffset, cmd.payload.length),
        cmd.codec,
      );
    case 'unbridge':
      bridges.get(id)?.unbridge();
      bridges.delete(id);
      return;
    case 'record':
      return void startRecording(s, id, cmd.rid, cmd.file);
    case 'stopRecord':
      return stopRecording(cmd.rid);
    case 'monitor': {
      const customer = sessions.get(cmd.customer);
      const agent = sessions.get(cmd.agent);
      const ended = (): void => post({ op: 'monitorEnded', id, n: cmd.n });
      try {
        if (!customer || !agent) throw new Error('the pair is gone');
        const m = s.monitor({ customer, agent }, cmd.mode);
        m.onEnded = () => {
          if (monitors.get(id) === m) monitors.delete(id);
          ended();
        };
        monitors.set(id, m);
      } catch (err) {
        logger.debug({ err, id }, 'monitoring not started');
        ended();
      }
      return;
    }
    case 'monitorMode':
      return monitors.get(id)?.setMode(cmd.mode);
    case 'monitorStop':
      monitors.get(id)?.stop();
      monitors.delete(id);
      return;
    case 'close':
      monitors.get(id)?.stop();
      monitors.delete(id);
      for (const [rid, r] of recordings) if (r.id === id) stopRecording(rid);
      bridges.get(id)?.unbridge();
      bridges.delete(id);
      closedTotals.packetsIn += s.rtp.stats.packetsReceived;
      closedTotals.packetsOut += s.rtp.stats.packetsSent;
      closedTotals.packetsLost += s.stats().packetsLost;
      s.close();
      sessions.delete(id);
      return;
  }
}

port.on('message', (m: ToWorker) => {
  if (m.op === 'open') void open(m.id, m.host, m.port);
  else if (m.op === 'cmd') command(m.id, m.cmd);
  else for (const f of m.files) cache.get(f);
});

/** Packets of sessions already closed, so the worker's totals never go down. */
const closedTotals = { packetsIn: 0, packetsOut: 0, packetsLost: 0 };

setInterval(() => {
  const totals = { ...closedTotals, jitterSeconds: 0 };
  const list = [...sessions].map(([id, s]) => {
    const st = s.stats();
    totals.packetsIn += st.packetsReceived;
    totals.packetsOut += st.packetsSent;
    totals.packetsLost += st.packetsLost;
    totals.jitterSeconds = Math.max(totals.jitterSeconds, st.jitterSeconds);
    if (st.lastReceivedAt !== 0) st.lastReceivedAt = epoch(st.lastReceivedAt);
    return [id, st] as const;
  });
  post({
    op: 'stats',
    sessions: list,
    worker: {
      sessions: sessions.size,
      ...totals,
      lateTicks: clock.lateWakeups,
      heapBytes: getHeapStatistics().used_heap_size,
    },
  });
}, STATS_PERIOD_MS);
