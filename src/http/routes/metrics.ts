import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry, type LabelValues } from 'prom-client';
import type { HttpDeps } from '../deps.ts';
import type { WorkerStats } from '../../media/workers/worker-media.ts';
import { AGENT_STATES } from '../../acd/agent-state.ts';
import { CUSTOMER_CALL_TRANSITIONS } from '../../acd/customer-call.ts';
import { CallMetrics } from '../metrics/call-metrics.ts';
import { ProcessMetrics } from '../metrics/process-metrics.ts';
import { RtpAccounting } from '../metrics/rtp-accounting.ts';

type Samples<L extends string> = Iterable<readonly [LabelValues<L>, number]>;
type Read<L extends string> = () => Samples<L> | Promise<Samples<L>>;
type Scalars<T> = readonly (readonly [name: string, help: string, value: (t: T) => number])[];

/**
 * The counters and gauges read from the layers at each scrape: `read` gives every series'
 * value (absolute, the layers keep the counts), set afresh in prom-client's `collect`.
 */
class Collected {
  constructor(private readonly register: Registry) {}

  counter<L extends string>(name: string, help: string, labelNames: readonly L[], read: Read<L>): void {
    new Counter<L>({
      name,
      help,
      labelNames,
      registers: [this.register],
      async collect() {
        const samples = await read();
        this.reset();
        for (const [labels, value] of samples) this.inc(labels, value);
      },
    });
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: Read<L>): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.register],
      async collect() {
        const samples = await read();
        this.reset();
        for (const [labels, value] of samples) this.set(labels, value);
      },
    });
  }

  /** Unlabelled counters, each a field of what `read` returns. */
  counters<T>(read: () => T, table: Scalars<T>): void {
    for (const [name, help, value] of table) this.counter(name, help, [], () => one(value(read())));
  }

  /** Unlabelled gauges, each a field of what `read` returns. */
  gauges<T>(read: () => T, table: Scalars<T>): void {
    for (const [name, help, value] of table) this.gauge(name, help, [], () => one(value(read())));
  }
}

const one = (value: number): Samples<never> => [[{}, value]];

/**
 * `GET /metrics` for Prometheus, with prom-client: one Registry per server (several servers
 * run in one process in the tests), released with it. Open unless `--metrics-token` is set
 * (`auth.ts`): like `/healthz` it reveals counts, never names or numbers; keep the HTTP port
 * off the public internet (README). The list of metrics is in docs/console.md.
 */
export function metricsRoutes(
  app: FastifyInstance,
  deps: HttpDeps,
  eventStreams: () => number,
  logger: Logger,
): { close(): void } {
  const register = new Registry();
  const processMetrics = new ProcessMetrics(register);
  const calls = new CallMetrics(register, deps, logger);
  const rtp = new RtpAccounting(register, () => deps.metrics().legs);
  const m = new Collected(register);

  m.gauge('agentline_calls', 'Customer calls in progress by state.', ['state'], () => {
    const states = new Map(
      Object.keys(CUSTOMER_CALL_TRANSITIONS)
        .filter((s) => s !== 'ended')
        .map((s) => [s, 0]),
    );
    for (const cc of deps.acd.liveCalls) states.set(cc.state, (states.get(cc.state) ?? 0) + 1);
    return [...states].map(([state, n]) => [{ state }, n] as const);
  });

  m.gauge('agentline_agents', 'Agents by state.', ['state'], async () => {
    const agents = await deps.store.directory.listAgents();
    const known = new Map((await deps.store.agentStates.listAgentStates()).map((s) => [s.agentId, s.state]));
    const states = new Map<string, number>(AGENT_STATES.map((s) => [s, 0]));
    for (const a of agents) {
      const s = known.get(a.id) ?? 'logged_out';
      states.set(s, (states.get(s) ?? 0) + 1);
    }
    return [...states].map(([state, n]) => [{ state }, n] as const);
  });

  const queues = async (): Promise<{ labels: LabelValues<'company' | 'department'>; waits: number[] }[]> => {
    const now = deps.clock.wallNow();
    const rows = [];
    for (const company of await deps.store.directory.listCompanies())
      for (const d of await deps.store.directory.listDepartments(company.id))
        rows.push({
          labels: { company: String(company.id), department: d.code },
          waits: deps.acd.waiting(d.id).map((cc) => now - (cc.enteredAt ?? now)),
        });
    return rows;
  };
  m.gauge(
    'agentline_queue_length',
    'Calls waiting in a department queue.',
    ['company', 'department'],
    async () => (await queues()).map((q) => [q.labels, q.waits.length] as const),
  );
  m.gauge(
    'agentline_queue_longest_wait_seconds',
    'Wait of the longest-waiting call of a queue.',
    ['company', 'department'],
    async () =>
      (await queues()).map(
        (q) => [q.labels, Math.round(q.waits.reduce((a, b) => Math.max(a, b), 0) / 1000)] as const,
      ),
  );

  // The SIP layer's counters.
  const sip = () => deps.metrics().sip;
  m.counters(sip, [
    ['agentline_sip_messages_received_total', 'SIP messages received.', (c) => c.received],
    ['agentline_sip_messages_sent_total', 'SIP messages sent.', (c) => c.sent],
    [
      'agentline_sip_dropped_total',
      'SIP messages dropped (malformed, unroutable or failed).',
      (c) => c.dropped,
    ],
    ['agentline_sip_bad_requests_total', 'Malformed SIP requests answered with 400.', (c) => c.badRequests],
    [
      'agentline_sip_retransmissions_absorbed_total',
      'Request retransmissions absorbed by a transaction.',
      (c) => c.retransmissionsAbsorbed,
    ],
  ]);
  m.counter(
    'agentline_sip_requests_total',
    'SIP requests received and sent, by method (retransmissions included; unknown methods are "other").',
    ['direction', 'method'],
    () =>
      (['received', 'sent'] as const).flatMap((direction) =>
        [...sip().requests[direction]].map(([method, n]) => [{ direction, method }, n] as const),
      ),
  );
  m.counter(
    'agentline_sip_responses_total',
    'SIP responses received and sent, by the method they answer and status code.',
    ['direction', 'method', 'code'],
    () =>
      (['received', 'sent'] as const).flatMap((direction) =>
        [...sip().responses[direction]].map(([key, n]) => {
          const [method = '', code = ''] = key.split(' ');
          return [{ direction, method, code }, n] as const;
        }),
      ),
  );

  m.counters(
    () => deps.metrics().registrar,
    [
      ['agentline_register_challenges_total', 'REGISTER 401 challenges sent.', (r) => r.challenged],
      [
        'agentline_register_auth_failures_total',
        'REGISTER digest answers refused (wrong password, unknown user).',
        (r) => r.failed,
      ],
      [
        'agentline_register_throttled_total',
        'REGISTERs refused with 503 because their (address, user) or address was blocked.',
        (r) => r.throttled,
      ],
      ['agentline_register_blocks_total', 'REGISTER throttle blocks imposed.', (r) => r.blocks],
      [
        'agentline_register_accepted_total',
        'REGISTERs accepted (bindings added, refreshed or removed).',
        (r) => r.registered,
      ],
    ],
  );

  const byDirection = (sent: number, received: number) =>
    [
      [{ direction: 'sent' }, sent],
      [{ direction: 'received' }, received],
    ] as const;
  m.counter('agentline_rtp_packets_total', 'RTP packets.', ['direction'], () => {
    const t = rtp.totals();
    return byDirection(t.packetsSent, t.packetsReceived);
  });
  m.counter('agentline_rtp_bytes_total', 'RTP bytes (headers included).', ['direction'], () => {
    const t = rtp.totals();
    return byDirection(t.bytesSent, t.bytesReceived);
  });
  m.counters(
    () => rtp.totals(),
    [
      [
        'agentline_rtp_packets_lost_total',
        "Packets missing from the peers' RTP streams (RFC 3550: expected by sequence number, less received).",
        (t) => t.packetsLost,
      ],
      ['agentline_rtp_malformed_total', 'Malformed RTP packets dropped.', (t) => t.malformed],
      [
        'agentline_rtp_dtmf_packets_total',
        'RFC 4733 telephone-event packets received.',
        (t) => t.dtmfPackets,
      ],
    ],
  );
  m.gauge(
    'agentline_rtp_jitter_live_max_seconds',
    'Highest current interarrival jitter (RFC 3550) among the legs alive now.',
    [],
    () => one(rtp.liveJitter()),
  );
  m.counter(
    'agentline_rtp_dropped_packets_total',
    'Valid RTP packets dropped by the source check: from a source that is not the peer, or held back while a new source proves itself (NAT learning).',
    ['reason'],
    () => {
      const t = rtp.totals();
      return [
        [{ reason: 'source' }, t.sourceDropped],
        [{ reason: 'learning' }, t.learningDropped],
      ];
    },
  );
  // Per media worker (--media-workers N); no series with local media.
  const workers = (value: (w: WorkerStats) => number): Samples<'worker'> =>
    deps
      .metrics()
      .mediaWorkers()
      .map((w) => [{ worker: String(w.worker) }, value(w)] as const);
  const perWorker: Scalars<WorkerStats> = [
    [
      'agentline_media_worker_packets_received_total',
      'RTP packets a media worker received.',
      (w) => w.packetsIn,
    ],
    ['agentline_media_worker_packets_sent_total', 'RTP packets a media worker sent.', (w) => w.packetsOut],
    [
      'agentline_media_worker_packets_lost_total',
      'RTP packets lost (RFC 3550) on the way to a media worker.',
      (w) => w.packetsLost,
    ],
    [
      'agentline_media_worker_late_ticks_total',
      '20 ms media ticks a worker woke up late for.',
      (w) => w.lateTicks,
    ],
    [
      'agentline_media_worker_restarts_total',
      'Times a media worker died and was restarted.',
      (w) => w.restarts,
    ],
  ];
  for (const [name, help, value] of perWorker) m.counter(name, help, ['worker'], () => workers(value));
  m.gauge('agentline_media_worker_sessions', 'Media sessions open in a worker.', ['worker'], () =>
    workers((w) => w.sessions),
  );
  m.gauge(
    'agentline_media_worker_jitter_seconds',
    'Highest interarrival jitter (RFC 3550) of the audio a worker receives now.',
    ['worker'],
    () => workers((w) => w.jitterSeconds),
  );
  m.gauge(
    'agentline_media_worker_heap_bytes',
    "JavaScript heap a media worker uses now (each worker has its own; the process's is nodejs_heap_size_used_bytes).",
    ['worker'],
    () => workers((w) => w.heapBytes),
  );
  m.gauges(
    () => deps.metrics(),
    [
      ['agentline_legs', 'Call legs (SIP dialog + RTP session) alive.', (d) => d.legs.size],
      ['agentline_rtp_ports_free', 'Free RTP port pairs.', (d) => d.ports.free],
      ['agentline_rtp_ports_capacity', 'RTP port pairs in the range.', (d) => d.ports.capacity],
      [
        'agentline_registrations',
        'Phone registrations (contact bindings) alive.',
        (d) => d.registrations().bindings,
      ],
      [
        'agentline_registered_users',
        'SIP accounts with at least one registration alive.',
        (d) => d.registrations().users,
      ],
      ['agentline_sip_tcp_connections', 'Open SIP TCP connections.', (d) => d.limits.tcpOpen],
    ],
  );
  m.gauge('agentline_event_streams', 'Open live-event (SSE) streams.', [], () => one(eventStreams()));
  m.gauge(
    'agentline_trunk_registered',
    'Trunk registration: 1 registered, 0 not (trunks that register only).',
    ['trunk'],
    () =>
      deps.trunks
        .snapshot()
        .filter((t) => t.registered !== undefined)
        .map((t) => [{ trunk: t.name }, t.registered ? 1 : 0] as const),
  );
  m.gauge(
    'agentline_trunk_up',
    'Trunk reachability (OPTIONS or registration): 1 up, 0 down, -1 unknown.',
    ['trunk'],
    () =>
      deps.trunks
        .snapshot()
        .map((t) => [{ trunk: t.name }, t.status === 'up' ? 1 : t.status === 'down' ? 0 : -1] as const),
  );

  const lim = () => deps.metrics().limits;
  m.counter(
    'agentline_sip_tcp_refused_total',
    'SIP TCP connections closed at once: a cap was reached.',
    ['reason'],
    () => [
      [{ reason: 'total' }, lim().tcp.refusedTotal],
      [{ reason: 'per_source' }, lim().tcp.refusedPerSource],
    ],
  );
  m.counters(lim, [
    [
      'agentline_sip_tcp_idle_closed_total',
      'SIP TCP connections closed for carrying no complete message.',
      (l) => l.tcp.idleClosed,
    ],
    [
      'agentline_sip_invite_rate_limited_total',
      'New INVITEs refused (503) for calls per source and second.',
      (l) => l.invites.rate,
    ],
  ]);
  m.counter(
    'agentline_sip_invite_refused_total',
    'New INVITEs refused (503) by a call limit.',
    ['reason'],
    () => {
      const inv = lim().invites;
      return [
        [{ reason: 'rate' }, inv.rate],
        [{ reason: 'max_calls' }, inv.max_calls],
        [{ reason: 'ports_low' }, inv.ports_low],
      ];
    },
  );

  app.get('/metrics', { config: { auth: 'metrics' } }, async (_req, reply) => {
    const text = await register.metrics();
    return reply.header('content-type', register.contentType).send(text);
  });

  return {
    close(): void {
      rtp.close();
      calls.close();
      processMetrics.close();
      register.clear();
    },
  };
}
