/**
 * The media port over worker threads (`--media-workers N`): each worker
 * (./media-worker.ts) owns its sockets, its 20 ms clock, its prompt cache and its sessions;
 * this side keeps the port numbers (one pool for the server) and, per session, what it was
 * last told, so that it can answer `stats()` at once (from the counters the worker reports
 * every STATS_PERIOD_MS) and rebuild the session if its worker dies.
 *
 * Placement: a session opened `near` another goes to that one's worker (the agent leg next
 * to its customer), so a bridge between them relays inside one thread; others go to the
 * worker with the fewest sessions. A bridge across workers still works, relayed through
 * this thread (slower; logged once).
 *
 * Monitoring (listen / whisper / barge): the mixer runs where the monitored pair is, so the
 * supervisor's session moves into the pair's worker first — closed in its worker and bound on
 * the same port in the pair's, its settings replayed as after a worker restart. Moving keeps
 * the port, so the supervisor's SIP dialog and SDP stay as they are: no re-INVITE towards the
 * supervisor's phone (a phone may refuse one, and the dialog would need an offer/answer
 * round trip before any audio), and no RTP of the pair ever crosses a thread. A new session
 * opened `near` the pair would need exactly that re-INVITE, and relaying the pair's audio to
 * the supervisor's worker would cost two messages per packet per party. What moving costs:
 * the supervisor's stream restarts (new SSRC; with SRTP new contexts) and loses the packets
 * of the few milliseconds the move takes, while the supervisor hears the service menu.
 *
 * A worker that dies is restarted at once. Its sessions opened near another are `lost`
 * (their legs hang up; a lost agent leg requeues its customer like a dead phone); the
 * others are re-opened on their port in the new worker with their settings, the sound
 * they played and their bridge (if its other end is not lost), and go on — so the customer
 * of a lost agent leg still hears the queue.
 */

import { Worker } from 'node:worker_threads';
import { AppError } from '../../util/errors.ts';
import {
  emptyRtpStats,
  type CodecConfig,
  type MediaBridge,
  type MediaEvent,
  type MediaRecording,
  type MediaMonitor,
  type MonitorMode,
  type MediaSession,
  type MediaSessions,
  type MediaStats,
  type Playable,
  type RecordingResult,
  type SrtpKeys,
} from '../media-session.ts';
import { PromptCache } from '../player.ts';
import type { PortPool } from '../port-pool.ts';
import type { MediaLogger } from '../rtp/session.ts';
import type { FromWorker, SessionCommand, ToWorker, WorkerCounters } from './protocol.ts';

export interface WorkerMediaOptions {
  workers: number;
  pool: PortPool;
  logger: MediaLogger & { info(obj: object, msg?: string): void };
}

/** One worker's figures for /metrics: its last report, over all its lives, and its restarts. */
export type WorkerStats = WorkerCounters & { worker: number; restarts: number };

const BIND_ATTEMPTS = 32;
/** A moved session binds its port in the new worker before the old one has let it go: retries. */
const MOVE_ATTEMPTS = 50;
const MOVE_RETRY_MS = 10;
/** Under tsx or vitest: registers tsx in the worker, then loads the .ts entry. */
const TS_BOOT = new URL('../../../scripts/ts-worker.mjs', import.meta.url);

/** A recording's answers from its worker. */
interface PendingRecording {
  started(error?: string): void;
  stopped(result: RecordingResult | undefined, error?: string): void;
}

const noCounters = (): WorkerCounters => ({
  sessions: 0,
  packetsIn: 0,
  packetsOut: 0,
  packetsLost: 0,
  jitterSeconds: 0,
  lateTicks: 0,
  heapBytes: 0,
});
const zeroStats = (): MediaStats => ({ ...emptyRtpStats(), srtp: false, remote: null, inbandDtmf: false });

/**
 * A worker's young generation, MB (V8 grows it to 16 MB or more under allocation pressure).
 * Everything a worker allocates per packet (Node's datagram buffers) dies at once, so a small
 * nursery costs little in scavenges and keeps the memory per call down (bench:load's RSS).
 */
const WORKER_HEAP = { maxYoungGenerationSizeMb: 3 };

/** One worker thread and the sessions it holds. */
class MediaWorker {
  worker!: Worker;
  readonly sessions = new Map<number, WorkerSession>();
  readonly opening = new Map<number, (m: FromWorker & { op: 'opened' | 'openFailed' }) => void>();
  /** Recordings this worker writes, by id: their answers (recordStarted, recordStopped) wait here. */
  readonly recordings = new Map<number, PendingRecording>();
  restarts = 0;
  /** The worker's last report (zero until its first). */
  counters: WorkerCounters = noCounters();
  /** What the worker's earlier lives counted. */
  readonly before = { packetsIn: 0, packetsOut: 0, packetsLost: 0, lateTicks: 0 };

  constructor(
    readonly index: number,
    private readonly owner: WorkerMedia,
  ) {
    this.start();
  }

  start(): void {
    const here = import.meta.url;
    const entry = new URL(`./media-worker.${here.endsWith('.ts') ? 'ts' : 'js'}`, here);
    // Under tsx or vitest the sources are TypeScript: the worker registers tsx first (the
    // compiled server starts media-worker.js directly).
    const w = here.endsWith('.ts')
      ? new Worker(TS_BOOT, { workerData: { entry: entry.href }, resourceLimits: WORKER_HEAP })
      : new Worker(entry, { resourceLimits: WORKER_HEAP });
    this.worker = w;
    w.on('message', (m: FromWorker) => this.onMessage(m));
    w.on('error', (err) => this.owner.log.warn({ worker: this.index, err }, 'media worker failed'));
    w.on('exit', (code) => {
      if (this.worker === w) this.owner.workerDied(this, code);
    });
    w.unref();
    if (this.owner.preloaded.length) this.post({ op: 'preload', files: this.owner.preloaded });
  }

  post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    switch (m.op) {
      case 'opened':
      case 'openFailed':
        this.opening.get(m.id)?.(m);
        this.opening.delete(m.id);
        return;
      case 'event':
        this.sessions
          .get(m.id)
          ?.emit(
            m.event.type === 'dtmf' ? { ...m.event, atMs: m.event.atMs - performance.timeOrigin } : m.event,
          );
        return;
      case 'stats':
        this.counters = m.worker;
        for (const [id, st] of m.sessions) {
          const s = this.sessions.get(id);
          if (!s) continue;
          if (st.lastReceivedAt !== 0) st.lastReceivedAt -= performance.timeOrigin;
          s.counters = st;
        }
        return;
      case 'audio':
        this.sessions.get(m.id)?.relayToPeer(m.payload, m.codec);
        return;
      case 'recordStarted':
        this.recordings.get(m.rid)?.started(m.error);
        if (m.error !== undefined) this.recordings.delete(m.rid);
        return;
      case 'recordStopped':
        this.recordings.get(m.rid)?.stopped(m.result, m.error);
        this.recordings.delete(m.rid);
        return;
      case 'monitorEnded':
        this.sessions.get(m.id)?.monitorEnded(m.n);
        return;
      case 'log':
        if (m.level === 'warn') this.owner.log.warn({ worker: this.index, ...m.obj }, m.msg);
        else this.owner.log.debug({ worker: this.index, ...m.obj }, m.msg);
        return;
    }
  }

  /** Binds `port` in this worker: 'ok', 'busy' (taken: try another) or an error. */
  bind(id: number, host: string, port: number): Promise<FromWorker & { op: 'opened' | 'openFailed' }> {
    return new Promise((resolve) => {
      this.opening.set(id, resolve);
      this.post({ op: 'open', id, host, port });
    });
  }
}

export class WorkerMedia implements MediaSessions {
  readonly workers: MediaWorker[] = [];
  preloaded: readonly string[] = [];
  private nextId = 1;
  nextRecordingId = 1;
  private closing = false;
  private warnedCrossing = false;

  constructor(private readonly opts: WorkerMediaOptions) {
    for (let i = 0; i < opts.workers; i++) this.workers.push(new MediaWorker(i, this));
  }

  get log(): WorkerMediaOptions['logger'] {
    return this.opts.logger;
  }

  get pool(): PortPool {
    return this.opts.pool;
  }

  /** Sessions per worker (tests). */
  get sessionsPerWorker(): number[] {
    return this.workers.map((w) => w.sessions.size);
  }

  /** Per worker, for /metrics: its last report and how often it was restarted. */
  workerStats(): WorkerStats[] {
    return this.workers.map((w) => ({
      worker: w.index,
      restarts: w.restarts,
      sessions: w.sessions.size,
      packetsIn: w.before.packetsIn + w.counters.packetsIn,
      packetsOut: w.before.packetsOut + w.counters.packetsOut,
      packetsLost: w.before.packetsLost + w.counters.packetsLost,
      jitterSeconds: w.counters.jitterSeconds,
      lateTicks: w.before.lateTicks + w.counters.lateTicks,
      heapBytes: w.counters.heapBytes,
    }));
  }

  preload(files: readonly string[]): void {
    // Read here once so that a missing file fails at start; the workers keep their own copy.
    const check = new PromptCache();
    for (const f of files) check.get(f);
    this.preloaded = [...new Set([...this.preloaded, ...files])];
    for (const w of this.workers) w.post({ op: 'preload', files });
  }

  async open(opts: { host: string; near?: MediaSession }): Promise<MediaSession> {
    const near = opts.near instanceof WorkerSession && !opts.near.closed ? opts.near : undefined;
    const worker = near?.worker ?? this.leastLoaded();
    const s = new WorkerSession(this, worker, this.nextId++, opts.host, near !== undefined);
    await s.bind();
    return s;
  }

  private leastLoaded(): MediaWorker {
    let best = this.workers[0]!;
    for (const w of this.workers)
      if (w.sessions.size + w.opening.size < best.sessions.size + best.opening.size) best = w;
    return best;
  }

  crossingWorkers(): void {
    if (this.warnedCrossing) return;
    this.warnedCrossing = true;
    this.log.warn(
      {},
      'bridge across media workers: relayed through the main thread (open the leg near its peer)',
    );
  }

  workerDied(w: MediaWorker, code: number): void {
    if (this.closing) return;
    w.restarts++;
    const sessions = [...w.sessions.values()];
    this.log.warn(
      { worker: w.index, exitCode: code, sessions: sessions.length, restarts: w.restarts },
      'media worker died: restarting it; its calls lose their media',
    );
    for (const [, resolve] of w.opening)
      resolve({ op: 'openFailed', id: 0, busy: false, message: 'media worker died' });
    w.opening.clear();
    // What the dead worker was writing stays as far as it got (its header sizes unset).
    for (const [, r] of w.recordings) {
      r.started('media worker died');
      r.stopped(undefined, 'media worker died');
    }
    w.recordings.clear();
    w.sessions.clear();
    // The restarted worker counts from zero: what the dead one counted stays in the totals.
    w.before.packetsIn += w.counters.packetsIn;
    w.before.packetsOut += w.counters.packetsOut;
    w.before.packetsLost += w.counters.packetsLost;
    w.before.lateTicks += w.counters.lateTicks;
    w.counters = noCounters();
    w.start();
    for (const s of sessions) s.workerLost();
  }

  /** Stops every worker (server shutdown). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

/** One session in a worker, as the main thread sees it. */
class WorkerSession implements MediaSession {
  onEvent: ((event: MediaEvent) => void) | null = null;
  localHost = '';
  localPort = 0;
  counters: MediaStats = zeroStats();
  closed = false;
  /** What the session was last told, to rebuild it in a restarted worker. */
  private readonly config: {
    remote?: { host: string; port: number };
    codec?: CodecConfig;
    srtp: SrtpKeys | null;
    inband: boolean;
    fill: boolean;
    echo: boolean;
    playing?: Playable;
  } = { srtp: null, inband: false, fill: false, echo: false };
  private bridge_: { peer: WorkerSession; handle: MediaBridge; crossing: boolean } | undefined;
  /** Being re-opened in its restarted worker. */
  private rebuilding = false;
  /** Commands held while the session moves to another worker (sent once it is bound there). */
  private held: SessionCommand[] | undefined;
  private monitoring: { n: number; handle: WorkerMonitor } | undefined;
  private monitors = 0;

  constructor(
    private readonly media: WorkerMedia,
    public worker: MediaWorker,
    readonly id: number,
    private readonly host: string,
    /** Opened near another session: it ends (rather than moves) when its worker dies. */
    private readonly follower: boolean,
  ) {}

  /** Takes a port from the pool and binds it in the worker, trying others when it is taken. */
  async bind(): Promise<void> {
    const pool = this.media.pool;
    const attempts = Math.min(pool.capacity, BIND_ATTEMPTS);
    for (let i = 0; i < attempts; i++) {
      const port = pool.acquire();
      if (port === undefined) break;
      const r = await this.worker.bind(this.id, this.host, port);
      if (r.op === 'opened') {
        this.localHost = r.host;
        this.localPort = port;
        this.worker.sessions.set(this.id, this);
        return;
      }
      pool.release(port);
      if (!r.busy) throw new AppError('bind_failed', `cannot bind RTP on ${this.host}:${port}: ${r.message}`);
    }
    throw new AppError('ports_exhausted', `no free RTP port on ${this.host}`);
  }

  private send(cmd: SessionCommand): void {
    if (this.closed) return;
    if (this.held) this.held.push(cmd);
    else this.worker.post({ op: 'cmd', id: this.id, cmd });
  }

  emit(event: MediaEvent): void {
    if (event.type === 'playEnded') this.config.playing = undefined;
    this.onEvent?.(event);
  }

  setRemote(host: string, port: number): void {
    this.config.remote = { host, port };
    this.send({ m: 'setRemote', host, port });
  }

  setCodec(config: CodecConfig): void {
    this.config.codec = config;
    this.send({ m: 'setCodec', config });
  }

  setSrtp(keys: SrtpKeys | null): void {
    this.config.srtp = keys;
    this.counters.srtp = keys !== null;
    this.send({ m: 'setSrtp', keys });
  }

  setInbandDtmf(on: boolean): void {
    this.config.inband = on;
    this.counters.inbandDtmf = on;
    this.send({ m: 'setInbandDtmf', on });
  }

  setFill(on: boolean): void {
    this.config.fill = on;
    this.send({ m: 'setFill', on });
  }

  play(what: Playable): void {
    this.config.playing = what;
    this.send({ m: 'play', what });
  }

  stop(): void {
    this.config.playing = undefined;
    this.send({ m: 'stop' });
  }

  sendDtmf(digits: string): void {
    this.send({ m: 'sendDtmf', digits });
  }

  echo(): void {
    this.config.echo = true;
    this.send({ m: 'echo' });
  }

  bridge(other: MediaSession): MediaBridge {
    if (!(other instanceof WorkerSession))
      throw new TypeError('a worker media session bridges only with another');
    if (other === this) throw new RangeError('cannot bridge a session to itself');
    this.config.playing = other.config.playing = undefined;
    const crossing = other.worker !== this.worker;
    if (crossing) {
      this.media.crossingWorkers();
      this.send({ m: 'relayOut', on: true });
      other.send({ m: 'relayOut', on: true });
    } else this.send({ m: 'bridge', other: other.id });
    let active = true;
    const handle: MediaBridge = {
      get active() {
        return active;
      },
      unbridge: () => {
        if (!active) return;
        active = false;
        for (const s of [this, other]) {
          // Dropped when a worker died, or bridged anew since: that is not this bridge's.
          if (s.bridge_?.handle !== handle) continue;
          s.bridge_ = undefined;
          s.send(crossing ? { m: 'relayOut', on: false } : { m: 'unbridge' });
        }
      },
    };
    this.bridge_ = { peer: other, handle, crossing };
    other.bridge_ = { peer: this, handle, crossing };
    return handle;
  }

  monitor(target: { customer: MediaSession; agent: MediaSession }, mode: MonitorMode): MediaMonitor {
    const { customer, agent } = target;
    if (!(customer instanceof WorkerSession) || !(agent instanceof WorkerSession))
      throw new TypeError('a worker media session monitors only worker ones');
    const pair = customer.bridge_;
    if (!pair || pair.peer !== agent || pair.crossing || customer.closed || agent.closed)
      throw new AppError('not_bridged', 'the call to monitor is not bridged in one worker');
    this.monitoring?.handle.stop();
    if (customer.worker !== this.worker) this.moveTo(customer.worker);
    const n = ++this.monitors;
    const handle = new WorkerMonitor(
      mode,
      (cmd) => this.send(cmd),
      () => {
        if (this.monitoring?.n === n) this.monitoring = undefined;
      },
    );
    this.monitoring = { n, handle };
    this.config.playing = undefined;
    this.send({ m: 'monitor', n, customer: customer.id, agent: agent.id, mode });
    return handle;
  }

  /** The worker says monitoring `n` ended by itself. */
  monitorEnded(n: number): void {
    const m = this.monitoring;
    if (m?.n !== n) return;
    this.monitoring = undefined;
    m.handle.ended();
  }

  /** Closes the session in its worker and binds the same port in `to` (see the file comment). */
  private moveTo(to: MediaWorker): void {
    const from = this.worker;
    this.bridge_?.handle.unbridge();
    from.post({ op: 'cmd', id: this.id, cmd: { m: 'close' } });
    from.sessions.delete(this.id);
    this.worker = to;
    this.held = [];
    void this.bindMoved(to);
  }

  private async bindMoved(to: MediaWorker): Promise<void> {
    for (let i = 0; i < MOVE_ATTEMPTS && !this.closed && this.worker === to; i++) {
      const r = await to.bind(this.id, this.host, this.localPort);
      if (this.closed || this.worker !== to) {
        if (r.op === 'opened') to.post({ op: 'cmd', id: this.id, cmd: { m: 'close' } });
        return;
      }
      if (r.op === 'opened') {
        to.sessions.set(this.id, this);
        const held = this.held ?? [];
        this.held = undefined;
        this.replay();
        for (const cmd of held) this.send(cmd);
        return;
      }
      if (!r.busy) break;
      await new Promise((resolve) => setTimeout(resolve, MOVE_RETRY_MS));
    }
    if (this.closed) return;
    this.media.log.warn({ port: this.localPort }, 'media session could not move to its peers’ worker');
    this.held = undefined;
    this.closed = true;
    this.media.pool.release(this.localPort);
    this.onEvent?.({ type: 'lost' });
  }

  /** Audio from a cross-worker bridge: on to the peer's worker. */
  relayToPeer(payload: Uint8Array, codec: CodecConfig['codec']): void {
    const b = this.bridge_;
    if (b?.crossing) b.peer.send({ m: 'relayIn', payload, codec });
  }

  record(opts: { file: string }): Promise<MediaRecording> {
    if (this.closed) return Promise.reject(new AppError('closed', 'the media session is closed'));
    const rid = this.media.nextRecordingId++;
    const worker = this.worker;
    let started!: (error?: string) => void;
    let stopped!: (result: RecordingResult | undefined, error?: string) => void;
    const opened = new Promise<void>((resolve, reject) => {
      started = (error) => (error === undefined ? resolve() : reject(new AppError('record_failed', error)));
    });
    const done = new Promise<RecordingResult>((resolve, reject) => {
      stopped = (result, error) =>
        result ? resolve(result) : reject(new AppError('record_failed', error ?? 'recording lost'));
    });
    // Nobody may ever stop it (the session closed first): its end is still awaited by stop().
    done.catch(() => {});
    worker.recordings.set(rid, { started, stopped });
    this.send({ m: 'record', rid, file: opts.file });
    return opened.then(() => ({
      file: opts.file,
      stop: () => {
        // A closed session's worker stopped it already (and says so).
        if (!this.closed && this.worker === worker) this.send({ m: 'stopRecord', rid });
        return done;
      },
    }));
  }

  stats(): MediaStats {
    return this.counters;
  }

  close(): void {
    if (this.closed) return;
    this.monitoring?.handle.stop();
    this.held = undefined;
    this.bridge_?.handle.unbridge();
    this.send({ m: 'close' });
    this.closed = true;
    this.worker.sessions.delete(this.id);
    this.media.pool.release(this.localPort);
  }

  /**
   * Its worker died (and is restarting): a session opened near another is lost (its leg hangs
   * up); the others are rebuilt on the same port, their bridge restored once both ends are.
   */
  workerLost(): void {
    if (this.closed) return;
    if (this.follower) return this.lose();
    this.rebuilding = true;
    void this.rebuild();
  }

  /** Ends the session for its leg (`lost`); the other end of its bridge stops relaying to it. */
  private lose(): void {
    const b = this.bridge_;
    this.bridge_ = undefined;
    if (b && b.peer.bridge_?.handle === b.handle) {
      b.peer.bridge_ = undefined;
      // A peer in another worker still relays out: to nobody now.
      if (b.crossing) b.peer.send({ m: 'relayOut', on: false });
    }
    this.closed = true;
    this.rebuilding = false;
    this.media.pool.release(this.localPort);
    this.onEvent?.({ type: 'lost' });
  }

  /** After a rebuild: its bridge relays again (within a worker, when the second end is back). */
  private restoreBridge(): void {
    const b = this.bridge_;
    if (!b) return;
    if (b.crossing) this.send({ m: 'relayOut', on: true });
    else if (!b.peer.rebuilding && !b.peer.closed) this.send({ m: 'bridge', other: b.peer.id });
  }

  private async rebuild(): Promise<void> {
    const r = await this.worker.bind(this.id, this.host, this.localPort);
    if (this.closed) {
      this.rebuilding = false;
      if (r.op === 'opened') this.worker.post({ op: 'cmd', id: this.id, cmd: { m: 'close' } });
      return;
    }
    if (r.op !== 'opened') {
      this.media.log.warn(
        { port: this.localPort, reason: r.message },
        'media session not rebuilt after its worker died',
      );
      return this.lose();
    }
    this.worker.sessions.set(this.id, this);
    this.replay();
    this.rebuilding = false;
    this.restoreBridge();
    this.media.log.info({ port: this.localPort }, 'media session rebuilt in the restarted worker');
  }

  /** Tells a freshly bound session (restarted or moved worker) what this one was last told. */
  private replay(): void {
    const c = this.config;
    if (c.codec) this.send({ m: 'setCodec', config: c.codec });
    if (c.srtp) this.send({ m: 'setSrtp', keys: c.srtp });
    if (c.remote) this.send({ m: 'setRemote', ...c.remote });
    if (c.inband) this.send({ m: 'setInbandDtmf', on: true });
    if (c.fill) this.send({ m: 'setFill', on: true });
    if (c.playing) this.send({ m: 'play', what: c.playing });
    if (c.echo) this.send({ m: 'echo' });
  }
}

/** The main thread's handle on a worker's monitoring. */
class WorkerMonitor implements MediaMonitor {
  onEnded: (() => void) | null = null;
  private live = true;

  constructor(
    private current: MonitorMode,
    private readonly send: (cmd: SessionCommand) => void,
    private readonly forget: () => void,
  ) {}

  get active(): boolean {
    return this.live;
  }

  get mode(): MonitorMode {
    return this.current;
  }

  setMode(mode: MonitorMode): void {
    if (!this.live) return;
    this.current = mode;
    this.send({ m: 'monitorMode', mode });
  }

  stop(): void {
    if (!this.live) return;
    this.live = false;
    this.forget();
    this.send({ m: 'monitorStop' });
  }

  /** Ended in the worker. */
  ended(): void {
    if (!this.live) return;
    this.live = false;
    this.onEnded?.();
  }
}
