import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import type { Config } from './config/config.ts';
import { SystemClock, type Clock } from './util/clock.ts';
import type { UdpTransport } from './sip/transport/udp.ts';
import type { TcpTransport } from './sip/transport/tcp.ts';
import { listenUdpAndTcp } from './sip/transport/listen.ts';
import { TlsTransport, readTlsFiles } from './sip/transport/tls.ts';
import { SipStack } from './sip/stack.ts';
import type { TimerConfig } from './sip/transaction/timers.ts';
import type { IncomingInvite } from './sip/ua/incoming-invite.ts';
import { UserAgent, type OutboundProxy } from './sip/ua/user-agent.ts';
import type { SrtpPolicy } from './store/store.ts';
import { MediaClock } from './media/media-clock.ts';
import { PortPool } from './media/port-pool.ts';
import { LocalMedia } from './media/local/local-media.ts';
import { WorkerMedia } from './media/workers/worker-media.ts';
import type { MediaSessions } from './media/media-session.ts';
import { CallEngine } from './call/engine.ts';
import { Sounds } from './call/sounds.ts';
import { NumberRouter } from './app/router.ts';
import { DIAG_ECHO, DIAG_READBACK, DIAG_RING, echoTest, readbackTest, ringTest } from './diag/diagnostics.ts';
import { buildHttpApp } from './http/app.ts';
import type { HttpDeps } from './http/deps.ts';
import type { FastifyInstance } from 'fastify';
import { openStore } from './store/index.ts';
import { AddressPolicy, type AdvertiseChoice, chooseAdvertised } from './util/advertise.ts';
import { seedDemo } from './store/seed.ts';
import { ensureFirstAdmin, resolveAdminToken } from './store/access.ts';
import type { Store, StoredSipBinding } from './store/store.ts';
import { AgentStateMachine } from './acd/agent-state.ts';
import {
  DEFAULT_IVR_TIMINGS,
  ServiceIvrSession,
  type ServiceIvrTimings,
} from './ivr/service-menu/service-ivr.ts';
import { PROMPT_IDS } from './call/prompts.ts';
import { Acd } from './acd/acd.ts';
import { RecordingRetention } from './acd/recording-retention.ts';
import { defaultRecordingsDir } from './util/db-url.ts';
import { LocalAvailability, type AgentAvailability } from './acd/availability.ts';
import { PostgresAvailability } from './acd/shared-availability.ts';
import { PostgresQueue } from './acd/shared-queue.ts';
import { NodeLiveness, STALE_MS } from './acd/node-liveness.ts';
import { FloorEvents } from './acd/floor-events.ts';
import { openPostgresLive } from './store/postgres/live.ts';
import type { LiveStore } from './store/live.ts';
import { parseDbUrl } from './util/db-url.ts';
import { InCallSession } from './ivr/agent-menu/in-call.ts';
import { ContactResolver, parseTrunk } from './call/contact-resolver.ts';
import { MonitorCalls } from './ivr/service-menu/monitor-call.ts';
import { SharedBindings } from './call/shared-bindings.ts';
import {
  type BindingRecord,
  Registrar,
  type StoredCredentials,
  type ThrottlePolicy,
} from './sip/registrar/registrar.ts';
import { InviteAdmission } from './sip/limits/invite-admission.ts';
import { RegisteredSources, StaticSources, registrationLifetimeS } from './sip/limits/registered-sources.ts';
import type { SipRequest, SipResponse } from './sip/message/types.ts';
import type { Endpoint } from './sip/transport/transport.ts';
import { checkFdLimit } from './util/fd-limit.ts';
import { Trunks, type TrunkTimings } from './trunks/trunks.ts';
import { applyInboundTrunk, countriesFor, readCallerIn } from './trunks/inbound.ts';
import { RFC_MIN_SE_S, type TimerPolicy } from './sip/session-timer.ts';

type InboundCallOf = Parameters<NonNullable<CallEngine['onInbound']>>[0];

/** The digest realm of REGISTER challenges. */
export const REALM = 'agentline';

export const DEFAULT_PROMPT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'prompts');

export interface ServerDeps {
  clock?: Clock;
  logger?: Logger;
  /** Shorter SIP timers for tests. */
  sipTimers?: TimerConfig;
  ivrTimings?: ServiceIvrTimings;
  inCallTimings?: { menuTimeoutMs?: number; announceChoiceMs?: number };
  /** REGISTER failure limits (tests shorten them). */
  registerThrottle?: Partial<ThrottlePolicy>;
  /** Failed sign-ins / wrong tokens allowed per source address and window (tests raise it). */
  authThrottle?: { failures: number; windowMs: number };
  /** Shorter registration back-off and qualify period for tests. */
  trunkTimings?: TrunkTimings;
  /** How long a silent trunk is waited for before the next is tried (tests). */
  trunkNoResponseMs?: number;
  /**
   * Session timer policy instead of --session-expires-seconds with Min-SE 90 s: tests use a few
   * seconds, below RFC 4028's floor, so an expiry is seen in seconds rather than minutes.
   */
  sessionTimer?: TimerPolicy;
  /** How long a TLS handshake may take (tests shorten it). */
  tlsHandshakeMs?: number;
}

/**
 * The composition root: builds every layer, wires them together and owns
 * their lifetime. Nothing here is global; several servers can run in one
 * process (the tests do).
 */
export class Server {
  readonly clock: Clock;
  readonly log: Logger;
  stack!: SipStack;
  ua!: UserAgent;
  engine!: CallEngine;
  pool!: PortPool;
  mediaClock!: MediaClock;
  /** Every leg's media sessions (in this process). */
  media!: MediaSessions;
  /** The media worker threads, with --media-workers N > 0. */
  mediaWorkers: WorkerMedia | undefined;
  sounds!: Sounds;
  router = new NumberRouter();
  http!: FastifyInstance;
  store!: Store;
  agentStates!: AgentStateMachine;
  /** SHA-256 (hex) of the admin bearer token; the token itself is never kept. */
  adminTokenSha256!: string;
  acd!: Acd;
  /** The console's listen/whisper/barge (issue 14 item 4). */
  monitorCalls!: MonitorCalls;
  /** --recordings-dir, resolved (created at start). */
  recordingsDir!: string;
  recordingRetention: RecordingRetention | undefined;
  registrar!: Registrar;
  /** The registrar's bindings, and with --outbound-proxy the other nodes' (from the store). */
  bindings!: SharedBindings;
  /** Calls per source, call cap and port reserve for new INVITEs (issue 11). */
  admission!: InviteAdmission;
  private registeredSources!: RegisteredSources;
  trunks!: Trunks;
  /** Whether an agent is free (state, our reservations, the service IVR): the one place asked. */
  availability!: AgentAvailability;
  /** On PostgreSQL: the live state this node shares with the others (issue 15). */
  live: LiveStore | undefined;
  liveness: NodeLiveness | undefined;
  /** On PostgreSQL: every node's console events. */
  floor: FloorEvents | undefined;
  private udp!: UdpTransport;
  private tcp!: TcpTransport;
  /** SIP over TLS: listening with --tls-cert/--tls-key, else only for connections we open. */
  tls!: TlsTransport;
  private stopping = false;

  constructor(
    readonly config: Config,
    private readonly deps: ServerDeps = {},
  ) {
    this.clock = deps.clock ?? new SystemClock();
    this.log = deps.logger ?? pino({ level: config.logLevel, base: undefined });
  }

  get sipPort(): number {
    return this.udp.local.port;
  }

  get httpPort(): number {
    const addr = this.http.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Where we are reachable (Via, Contact, SDP): chosen at start, see chooseAdvertised. */
  private advertised: AdvertiseChoice | undefined;

  get advertisedHost(): string {
    if (this.advertised) return this.advertised.host;
    if (this.config.advertise) return this.config.advertise;
    const h = this.config.sipHost;
    return h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '::1' : h;
  }

  /** --local-nets: which peers see our local address instead of the advertised one. */
  private addressPolicy: AddressPolicy | undefined;

  /** Issue 10 item 6: peers inside --local-nets get the local (interface) address, as Asterisk's local_net. */
  private async chooseLocalNets(): Promise<void> {
    const { config } = this;
    if (config.localNets.length === 0) return;
    if (!config.advertise) {
      this.log.warn(
        '--local-nets has no effect without --advertise: every peer already sees the local address',
      );
      return;
    }
    const { host: local } = await chooseAdvertised({
      listen: config.sipHost,
      peer: parseTrunk(config.trunk)?.host,
    });
    this.addressPolicy = new AddressPolicy(config.advertise, local, config.localNets);
    this.log.info(
      { advertise: config.advertise, local, localNets: config.localNets.map((n) => n.text) },
      'peers inside --local-nets see the local address, others the advertised one',
    );
  }

  /** Issue 10: on 0.0.0.0 without --advertise, a real interface's address, said at start. */
  private async chooseAdvertised(): Promise<void> {
    const { config } = this;
    this.advertised = await chooseAdvertised({
      listen: config.sipHost,
      advertise: config.advertise,
      peer: parseTrunk(config.trunk)?.host,
    });
    const { host, how } = this.advertised;
    if (how === 'route' || how === 'interface')
      this.log.info(
        { advertise: host, how },
        how === 'route'
          ? 'listening on all interfaces without --advertise: advertising the address of the interface that routes to the trunk (--advertise overrides)'
          : 'listening on all interfaces without --advertise: advertising the first non-loopback IPv4 address (--advertise overrides)',
      );
    else if (how === 'loopback')
      this.log.warn(
        { advertise: host },
        'listening on all interfaces without --advertise and no non-loopback interface: advertising loopback, phones elsewhere will not hear us; set --advertise',
      );
  }

  async start(): Promise<void> {
    const { config } = this;
    await this.openStore();
    await this.chooseAdvertised();
    await this.chooseLocalNets();
    const policy = this.addressPolicy;
    const hostFor = policy && ((peer: string | undefined) => policy.hostFor(peer));
    ({ udp: this.udp, tcp: this.tcp } = await listenUdpAndTcp(config.sipHost, config.sipPort, {
      maxConnections: config.tcpMaxConnections,
      maxPerSource: config.tcpMaxPerSource,
      idleMs: config.tcpIdleSeconds * 1000,
      logger: this.log.child({ layer: 'sip' }),
    }));
    await this.startTls();
    this.stack = new SipStack({
      transports: [this.udp, this.tcp, this.tls],
      clock: this.clock,
      timers: this.deps.sipTimers,
      logger: this.log.child({ layer: 'sip' }),
      advertisedHost: this.advertisedHost,
      hostFor,
    });
    this.registrar = new Registrar({
      realm: REALM,
      clock: this.clock,
      credentials: (username) => this.sipCredentials.get(username),
      algorithms: config.sipAuthAlgorithms,
      throttle: this.deps.registerThrottle,
      onBlock: ({ address, user, seconds }) =>
        this.log.warn(
          { address, user, seconds },
          user === undefined
            ? 'REGISTER: too many failed authentications from this address (password guessing?): refused'
            : 'REGISTER: too many failed authentications for this user from this address: refused',
        ),
      onBindingsChanged: (aor, bindings) => this.persistBindings(aor, bindings),
    });
    await this.loadSipCredentials();
    this.pool = new PortPool(config.rtpPorts.min, config.rtpPorts.max);
    this.mediaClock = new MediaClock();
    const mediaLog = this.log.child({ layer: 'call' });
    this.mediaWorkers =
      config.mediaWorkers > 0
        ? new WorkerMedia({ workers: config.mediaWorkers, pool: this.pool, logger: mediaLog })
        : undefined;
    this.media =
      this.mediaWorkers ?? new LocalMedia({ pool: this.pool, clock: this.mediaClock, logger: mediaLog });
    this.sounds = new Sounds(config.promptDir ?? DEFAULT_PROMPT_DIR, this.media);
    this.sounds.preload('ru', PROMPT_IDS);
    this.sounds.preload('en', PROMPT_IDS);
    this.ua = new UserAgent({
      stack: this.stack,
      clock: this.clock,
      logger: this.log.child({ layer: 'ua' }),
      outboundProxy: outboundProxyOf(config.outboundProxy),
      delegate: {
        onInvite: (invite) => void this.engine.handleInvite(invite),
        onRegister: (req, source) => this.register(req, source),
      },
    });
    this.engine = new CallEngine({
      ua: this.ua,
      media: this.media,
      clock: this.clock,
      logger: this.log.child({ layer: 'call' }),
      rtpHost: this.advertisedHost,
      rtpHostFor: hostFor,
      // Bind where we listen: an advertised address may be a NAT's, or one of several interfaces.
      rtpBindHost: config.sipHost,
      noResponseMs: this.deps.trunkNoResponseMs,
      mediaTimeoutMs: config.rtpTimeoutSeconds * 1000,
      inbandDtmf: config.inbandDtmf,
      sessionTimer:
        this.deps.sessionTimer ??
        (config.sessionExpiresSeconds > 0
          ? { intervalS: config.sessionExpiresSeconds, minSeS: RFC_MIN_SE_S }
          : undefined),
      srtpPolicy: (invite) => this.srtpPolicyFor(invite),
    });
    this.trunks = new Trunks({
      store: this.store.trunks,
      ua: this.ua,
      clock: this.clock,
      logger: this.log.child({ layer: 'trunks' }),
      timings: this.deps.trunkTimings,
    });
    if (config.trunk) await this.trunks.ensureDefault(config.trunk);
    await this.trunks.reload();
    this.engine.onInbound = (call) => void this.route(call);
    this.startLimits();
    await this.restoreBindings();
    this.recordingsDir = path.resolve(config.recordingsDir ?? defaultRecordingsDir(config.db, tmpdir()));
    await mkdir(this.recordingsDir, { recursive: true });
    this.recordingRetention = new RecordingRetention({
      recordings: this.store.recordings,
      directory: this.store.directory,
      dir: this.recordingsDir,
      clock: this.clock,
      timers: new SystemClock(),
      logger: this.log.child({ layer: 'recording' }),
    });
    this.recordingRetention.start();
    // Behind a front proxy the phone may have registered at another node.
    this.bindings = new SharedBindings(this.registrar, {
      clock: this.clock,
      load: (now) => this.store.directory.loadSipBindings(now),
      intervalMs: SHARED_BINDINGS_MS,
      logger: this.log.child({ layer: 'sip' }),
    });
    if (config.outboundProxy) await this.bindings.start();
    const resolver = new ContactResolver(
      this.trunks,
      this.bindings,
      (user) => this.sipSrtp.get(user),
      (flow) =>
        flow.transport === 'tls'
          ? this.tls.isConnected(flow)
          : flow.transport === 'tcp'
            ? this.tcp.isConnected(flow)
            : true,
    );
    this.acd = new Acd({
      engine: this.engine,
      store: this.store,
      availability: this.availability,
      sounds: this.sounds,
      clock: this.clock,
      logger: this.log.child({ layer: 'acd' }),
      shared: this.live && new PostgresQueue(this.live, this.agentStates, this.log.child({ layer: 'acd' })),
      resolver,
      inCallSession: (cc, agentId, agentLeg, hooks) => new InCallSession(cc, agentId, agentLeg, hooks),
      inCallTimings: this.deps.inCallTimings,
      recordingsDir: this.recordingsDir,
    });
    this.monitorCalls = new MonitorCalls({
      engine: this.engine,
      resolver,
      directory: this.store.directory,
      availability: this.availability,
      target: (agentId) => this.acd.monitorTarget(agentId),
      clock: this.clock,
      logger: this.log.child({ layer: 'ivr' }),
    });
    if (this.live) {
      this.liveness = new NodeLiveness({
        live: this.live,
        states: this.agentStates,
        logger: this.log.child({ layer: 'nodes' }),
        onBeat: () => this.acd.reconcile(),
      });
      await this.liveness.start();
      this.floor = new FloorEvents(
        this.live,
        { agentStates: this.agentStates, acd: this.acd },
        this.log.child({ layer: 'nodes' }),
      );
    }
    // Off unless configured: otherwise 9000–9002 are unknown numbers like any other.
    if (config.diagnostics ?? config.demo) {
      this.router.add(DIAG_READBACK, (call) => readbackTest(call, this.sounds, 'ru'));
      this.router.add(DIAG_ECHO, (call) => echoTest(call));
      this.router.add(DIAG_RING, (call) => ringTest(call));
    }
    this.router.setFallback(async (number) => {
      const route = await this.store.directory.getNumber(number);
      if (route?.kind === 'service') return this.guarded((call) => this.serviceIvr(call));
      if (route?.kind === 'hotline') return this.guarded((call) => this.acd.handleHotline(call, route));
      return undefined;
    });
    this.http = await buildHttpApp({
      deps: this.httpDeps(),
      logger: this.log.child({ layer: 'http' }),
      authThrottle: this.deps.authThrottle,
    });
    await this.http.listen({
      host: config.httpHost ?? (config.sipHost === '0.0.0.0' ? '0.0.0.0' : config.sipHost),
      port: config.httpPort,
    });
    this.log.info({ sip: this.udp.local, http: this.httpPort }, 'AgentLine listening');
  }

  /**
   * SIP over TLS (RFC 3261 §26): with --tls-cert and --tls-key a listener on
   * --tls-port with the TCP caps and idle limit; without, TLS is only used for
   * connections we open (sips:/TLS trunks), verified against --tls-ca or the
   * system CAs.
   */
  private async startTls(): Promise<void> {
    const { config } = this;
    if ((config.tlsCert === undefined) !== (config.tlsKey === undefined))
      throw new Error('--tls-cert and --tls-key go together');
    const material = { ...readTlsFiles({ cert: config.tlsCert, key: config.tlsKey, ca: config.tlsCa }) };
    this.tls = await TlsTransport.listen(
      config.sipHost,
      config.tlsPort,
      { ...material, ...(this.deps.tlsHandshakeMs ? { handshakeMs: this.deps.tlsHandshakeMs } : {}) },
      {
        maxConnections: config.tcpMaxConnections,
        maxPerSource: config.tcpMaxPerSource,
        idleMs: config.tcpIdleSeconds * 1000,
        logger: this.log.child({ layer: 'sip' }),
      },
    );
    if (this.tls.listening) this.log.info({ tls: this.tls.local }, 'SIP over TLS listening');
  }

  get tlsPort(): number {
    return this.tls.local.port;
  }

  /** Call limits on new INVITEs, and the descriptor check they depend on. */
  private startLimits(): void {
    const { config } = this;
    const trusted = { rate: config.trustedInviteRate, burst: Math.max(1, 2 * config.trustedInviteRate) };
    const trunk = parseTrunk(config.trunk);
    this.registeredSources = new RegisteredSources(this.clock, trusted);
    this.admission = new InviteAdmission({
      clock: this.clock,
      logger: this.log.child({ layer: 'sip' }),
      anonymous: { rate: config.inviteRate, burst: config.inviteBurst },
      // A trunk table would add one source per trunk, each with its own allowance.
      sources: [new StaticSources('trunk', trunk ? [trunk.host] : [], trusted), this.registeredSources],
      maxCalls: config.maxCalls,
      activeCalls: () => this.engine.legs.size,
      ports: () => ({ free: this.pool.free, capacity: this.pool.capacity }),
    });
    this.stack.admitInvite = (_req, from) => this.admission.check(from.address);
    checkFdLimit(this.log, {
      tcpConnections: config.tcpMaxConnections,
      rtpPorts: this.pool.capacity,
    });
  }

  /** REGISTER: a phone that registered gets the higher call allowance, and its TCP flow is kept open. */
  private register(req: SipRequest, source: Endpoint): SipResponse {
    const res = this.registrar.handle(req, source);
    const lifetimeS = registrationLifetimeS(res);
    if (lifetimeS > 0) {
      this.registeredSources.noteRegistered(source.address, lifetimeS);
      if (source.transport === 'tcp') this.tcp.holdOpen(source, lifetimeS * 1000);
      if (source.transport === 'tls') this.tls.holdOpen(source, lifetimeS * 1000);
    }
    return res;
  }

  /** What the HTTP API is given (src/http/deps.ts): narrow views, read when a request needs them. */
  private httpDeps(): HttpDeps {
    return {
      store: this.store,
      clock: this.clock,
      recordingsDir: this.recordingsDir,
      agentStates: this.agentStates,
      acd: this.acd,
      monitorCalls: this.monitorCalls,
      floor: this.floor,
      live: this.live,
      availability: this.availability,
      trunks: this.trunks,
      sipAccounts: {
        realm: REALM,
        defaultAlgorithms: () => this.config.sipAuthAlgorithms,
        reload: () => this.loadSipCredentials(),
      },
      status: {
        ready: () => this.ready,
        sipPort: () => this.sipPort,
        adminTokenSha256: () => this.adminTokenSha256,
        metricsToken: () => this.config.metricsToken,
      },
      metrics: () => ({
        legs: this.engine.legs,
        ports: { free: this.pool.free, capacity: this.pool.capacity },
        mediaWorkers: () => this.mediaWorkers?.workerStats() ?? [],
        sip: this.stack.counters,
        registrar: this.registrar.stats,
        registrations: () => this.registrar.registrations(),
        limits: this.limitStats,
      }),
    };
  }

  /** Counters of the resource limits, for /metrics. */
  get limitStats(): {
    tcp: TcpTransport['stats'];
    tcpOpen: number;
    invites: InviteAdmission['counters'];
  } {
    return { tcp: this.tcp.stats, tcpOpen: this.tcp.connectionCount, invites: this.admission.counters };
  }

  /** Digest credentials of SIP agents, kept in memory so that REGISTER is answered synchronously. */
  private readonly sipCredentials = new Map<string, StoredCredentials>();

  /** SRTP policy of each SIP account (calls to and from its registered phone). */
  private readonly sipSrtp = new Map<string, SrtpPolicy>();

  /** An inbound INVITE's SRTP policy: its trunk's, else its registered phone's, else optional. */
  private srtpPolicyFor(invite: IncomingInvite): SrtpPolicy {
    const address = invite.source.address;
    const trunk = this.trunks.trunkForSource(address);
    if (trunk) return trunk.srtp;
    const user = invite.caller.user;
    const policy = this.sipSrtp.get(user);
    if (policy && this.registrar.lookup(user).some((b) => b.source.address === address)) return policy;
    return 'optional';
  }

  async loadSipCredentials(): Promise<void> {
    this.sipCredentials.clear();
    this.sipSrtp.clear();
    for (const a of await this.store.directory.listSipAccounts()) {
      if (a.realm === REALM) this.sipSrtp.set(a.username, a.srtp);
      if (a.realm === REALM)
        this.sipCredentials.set(a.username, {
          ha1Md5: a.ha1Md5,
          ha1Sha256: a.ha1Sha256,
          ...(a.algorithms ? { algorithms: a.algorithms } : {}),
        });
    }
  }

  /** Writes of bindings, one after the other so that the last change of an AOR wins. */
  private bindingWrites: Promise<void> = Promise.resolve();

  /** Registrations survive a restart (issue 10): every change of an AOR's bindings is written through. */
  private persistBindings(aor: string, bindings: BindingRecord[]): void {
    const wall = this.clock.wallNow();
    const rows: StoredSipBinding[] = bindings.map((b) => ({
      aor,
      contactKey: b.key,
      contact: b.contact,
      expiresAt: wall + b.remainingMs,
      callId: b.callId,
      cseq: b.cseq,
      source: b.source,
    }));
    this.bindingWrites = this.bindingWrites
      .then(() => this.store.directory.saveSipBindings(aor, rows))
      .catch((err: unknown) =>
        this.log.warn({ err, aor }, 'could not save a SIP registration: it will be lost on restart'),
      );
  }

  /** Bindings kept by the last run; expired ones are dropped by the store. */
  private async restoreBindings(): Promise<void> {
    const wall = this.clock.wallNow();
    const rows = await this.store.directory.loadSipBindings(wall);
    const restored = this.registrar.restore(
      rows.map((r) => ({
        aor: r.aor,
        key: r.contactKey,
        contact: r.contact,
        remainingMs: r.expiresAt - wall,
        callId: r.callId,
        cseq: r.cseq,
        source: r.source,
      })),
    );
    if (restored > 0) {
      for (const r of rows)
        this.registeredSources.noteRegistered(r.source.address, Math.ceil((r.expiresAt - wall) / 1000));
      this.log.info({ bindings: restored }, 'SIP registrations restored from the store');
    }
  }

  private async openStore(): Promise<void> {
    this.store = await openStore(this.config.db, {
      onIdleError: (err) =>
        this.log.warn({ err }, 'a PostgreSQL connection failed while idle; the pool reconnects'),
    });
    const alone = await this.openLive();
    // Calls that were live when the last run died (crash, kill -9) can never end now. With other
    // nodes on the database, their open calls are live: only this node's own leftovers are closed.
    const interrupted = alone ? await this.store.calls.closeInterruptedCdrs(this.clock.wallNow()) : 0;
    if (interrupted > 0)
      this.log.warn(
        { calls: interrupted },
        'closed the call records a previous run left open as interrupted',
      );
    // The demo company has published PINs: seeded only when asked for (`--demo`, `npm start`).
    if (this.config.demo) {
      const seeded = await seedDemo(this.store);
      if (seeded.seeded) this.log.info({ companyId: seeded.companyId }, 'seeded the demo company');
    }
    this.agentStates = new AgentStateMachine({
      store: this.store.agentStates,
      directory: this.store.directory,
      clock: this.clock,
      logger: this.log.child({ layer: 'agents' }),
    });
    this.availability = this.live
      ? new PostgresAvailability(this.agentStates, this.live, this.log.child({ layer: 'agents' }))
      : new LocalAvailability(this.agentStates, this.log.child({ layer: 'agents' }));
    const own = !alone && this.live ? await this.live.takeNode(this.config.nodeId) : undefined;
    const recovery = own
      ? await this.agentStates.recoverLost(own.agents, 'restart_recovery')
      : await this.agentStates.recoverAfterRestart();
    if (recovery.recovered.length)
      this.log.info({ agents: recovery.recovered }, 'agents back to ready after restart');
    // Secrets generated here are shown once, on stdout, never in a log line (issue 11).
    const token = await resolveAdminToken(this.store.auth, this.config.adminToken);
    this.adminTokenSha256 = token.sha256;
    if (token.generated) process.stdout.write(`AgentLine admin token (shown once): ${token.generated}\n`);
    const admin = await ensureFirstAdmin(this.store.access, this.clock.wallNow());
    if (admin)
      process.stdout.write(
        `AgentLine console user "${admin.username}", password (shown once): ${admin.password}\n`,
      );
  }

  /**
   * On PostgreSQL, the live state shared with the other nodes; true when no other node is alive
   * (then nothing on the floor is anyone's: the live state starts empty, as in memory).
   */
  private async openLive(): Promise<boolean> {
    const at = parseDbUrl(this.config.db);
    if (at.kind !== 'postgres') return true;
    this.live = await openPostgresLive(at.url, {
      nodeId: this.config.nodeId,
      onError: (err, what) => this.log.warn({ err }, what),
    });
    const others = await this.live.othersAlive(STALE_MS);
    if (others.length === 0) await this.live.clearAll();
    else this.log.info({ node: this.config.nodeId, others }, 'joining the nodes on this database');
    return others.length === 0;
  }

  private serviceIvr(call: Parameters<NonNullable<CallEngine['onInbound']>>[0]): Promise<void> {
    return new ServiceIvrSession(call, {
      directory: this.store.directory,
      auth: this.store.auth,
      agentStates: this.agentStates,
      sounds: this.sounds,
      clock: this.clock,
      logger: this.log.child({ layer: 'ivr' }),
      timings: this.deps.ivrTimings ?? DEFAULT_IVR_TIMINGS,
      defaultLanguage: 'ru',
      availability: this.availability,
      registeredFrom: (user, address) => this.bindings.lookup(user).some((b) => b.source.address === address),
      monitoring: { target: (agentId) => this.acd.monitorTarget(agentId) },
    }).run();
  }

  get ready(): boolean {
    return !this.stopping && this.http.server.listening;
  }

  /**
   * The inbound filter (issue 9): hotlines and the service number take calls
   * only from a trunk's addresses, from registered agent phones, or from
   * loopback when --allow-loopback-callers is on; anyone else gets 403.
   */
  private guarded(handler: (call: InboundCallOf) => Promise<void>): (call: InboundCallOf) => Promise<void> {
    return async (call) => {
      if (this.callerAllowed(call.invite.source.address)) return handler(call);
      this.log.warn(
        { source: call.invite.source.address, called: call.called },
        'call to a hotline from an address that is no trunk or registered phone: 403',
      );
      call.reject(403, 'Forbidden');
    };
  }

  callerAllowed(address: string): boolean {
    if (this.trunks.trunkForSource(address)) return true;
    // Behind a front proxy every call comes from it: the front filters its callers.
    if (outboundProxyOf(this.config.outboundProxy)?.endpoint.address === address) return true;
    if (this.registrar.hasBindingFrom(address)) return true;
    const loopback = address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
    return loopback && this.config.allowLoopbackCallers;
  }

  private async route(call: InboundCallOf): Promise<void> {
    try {
      const trunk = this.trunks.trunkForSource(call.invite.source.address);
      if (trunk) applyInboundTrunk(call, trunk, this.config.inbandDtmf);
      const countries = await countriesFor(this.store.directory, trunk);
      readCallerIn(call, countries);
      const handler = await this.router.resolve(call.called, countries);
      if (!handler) return await this.notInService(call);
      await handler(call);
    } catch (err) {
      this.log.error({ err, called: call.called }, 'call handler failed');
      if (call.leg.state === 'ringing') call.reject(500, 'Server Internal Error');
      else await call.leg.hangup();
    }
  }

  /**
   * A number we do not serve. From a trunk the caller is a person on the
   * public network: they hear the not-in-service message instead of a silent
   * failure. Anyone else gets 404.
   */
  private async notInService(call: InboundCallOf): Promise<void> {
    const trunk = this.trunks.trunkForSource(call.invite.source.address);
    this.log.info({ called: call.called, trunk: trunk?.name }, 'call to a number not in service');
    if (!trunk) return call.reject(404, 'Not Found');
    if (!(await call.answer())) return;
    await call.leg.play(this.sounds.prompts('ru', ['not_in_service']));
    await call.leg.hangup();
  }

  /** SIGTERM: refuse new calls (503), end live ones with BYE, close sockets. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private stopped: Promise<void> | undefined;

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.ua.refuseNewCalls = true;
    const byes = Promise.all([this.engine.hangupAll(), this.ua.hangupAll()]);
    await Promise.race([byes, new Promise((r) => setTimeout(r, 2000).unref())]);
    await Promise.race([this.trunks.stop(), new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.http.close();
    await this.stack.close();
    this.recordingRetention?.stop();
    this.mediaClock.stop();
    await this.mediaWorkers?.close();
    this.bindings.stop();
    this.acd.close();
    this.availability.close();
    this.floor?.close();
    await this.liveness?.stop();
    // Whatever our calls still held is free for the other nodes at once, not in STALE_MS.
    const left = await this.live?.takeNode(this.config.nodeId).catch((err: unknown) => {
      this.log.warn(
        { err },
        'could not free this node’s agents at stop: the other nodes free them when its heartbeat is stale',
      );
      return undefined;
    });
    if (left?.agents.length) await this.agentStates.recoverLost(left.agents, 'node_stopped');
    await this.live?.close();
    this.agentStates.close();
    await this.bindingWrites; // the last registrations reach the store before it closes
    await this.store.close();
  }
}

/** How often a node behind a front proxy reads the other nodes' SIP registrations. */
const SHARED_BINDINGS_MS = 1000;

/** --outbound-proxy as the UA takes it: an IP literal, like a trunk (never resolved at call time). */
function outboundProxyOf(value: string | undefined): OutboundProxy | undefined {
  const hop = parseTrunk(value);
  if (!hop || !value) return undefined;
  return { uri: value, endpoint: { transport: hop.transport, address: hop.host, port: hop.port } };
}
