import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../deps.ts';
import type { Leg } from '../../call/leg.ts';
import type { RtpStats } from '../../media/media-session.ts';
import { AGENT_STATES } from '../../acd/agent-state.ts';
import { CUSTOMER_CALL_TRANSITIONS } from '../../acd/customer-call.ts';

type RtpTotals = Pick<
  RtpStats,
  | 'packetsSent'
  | 'packetsReceived'
  | 'bytesSent'
  | 'bytesReceived'
  | 'malformed'
  | 'dtmfPackets'
  | 'sourceDropped'
  | 'learningDropped'
>;
const RTP_KEYS = [
  'packetsSent',
  'packetsReceived',
  'bytesSent',
  'bytesReceived',
  'malformed',
  'dtmfPackets',
  'sourceDropped',
  'learningDropped',
] as const;

const zero = (): RtpTotals => ({
  packetsSent: 0,
  packetsReceived: 0,
  bytesSent: 0,
  bytesReceived: 0,
  malformed: 0,
  dtmfPackets: 0,
  sourceDropped: 0,
  learningDropped: 0,
});

/**
 * RTP counters over the server's life: legs that ended (folded in when they end)
 * plus the legs alive now. A leg is noticed by a sweep each second and at each
 * scrape, so only a leg that lives less than a second between two sweeps is missed.
 */
class RtpAccounting {
  private readonly ended = zero();
  private readonly seen = new WeakSet<Leg>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly legs: () => ReadonlySet<Leg>) {
    this.timer = setInterval(() => this.sweep(), 1000);
    this.timer.unref();
  }

  sweep(): void {
    for (const leg of this.legs()) {
      if (this.seen.has(leg)) continue;
      this.seen.add(leg);
      leg.on('ended', () => {
        const stats = leg.mediaSession.stats();
        for (const k of RTP_KEYS) this.ended[k] += stats[k];
      });
    }
  }

  totals(): RtpTotals {
    this.sweep();
    const t = { ...this.ended };
    for (const leg of this.legs())
      if (leg.state !== 'ended') {
        const stats = leg.mediaSession.stats();
        for (const k of RTP_KEYS) t[k] += stats[k];
      }
    return t;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** Prometheus text exposition (format 0.0.4). */
class Exposition {
  private readonly lines: string[] = [];

  metric(
    name: string,
    type: 'gauge' | 'counter',
    help: string,
    samples: [Record<string, string | number> | null, number][],
  ): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l =
        labels && Object.keys(labels).length
          ? `{${Object.entries(labels)
              .map(([k, v]) => `${k}="${escape(String(v))}"`)
              .join(',')}}`
          : '';
      this.lines.push(`${name}${l} ${value}`);
    }
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

const escape = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/**
 * `GET /metrics` for Prometheus. Open unless `--metrics-token` is set (`auth.ts`): like `/healthz` it reveals counts,
 * never names or numbers; keep the HTTP port off the public internet (README).
 */
export function metricsRoutes(
  app: FastifyInstance,
  deps: HttpDeps,
  eventStreams: () => number,
): { close(): void } {
  const rtp = new RtpAccounting(() => deps.metrics().legs);

  app.get('/metrics', { config: { auth: 'metrics' } }, async (_req, reply) => {
    const out = new Exposition();
    const now = deps.clock.wallNow();

    const callStates = new Map(
      Object.keys(CUSTOMER_CALL_TRANSITIONS)
        .filter((s) => s !== 'ended')
        .map((s) => [s, 0]),
    );
    for (const cc of deps.acd.liveCalls) callStates.set(cc.state, (callStates.get(cc.state) ?? 0) + 1);
    out.metric(
      'agentline_calls',
      'gauge',
      'Customer calls in progress by state.',
      [...callStates].map(([state, n]) => [{ state }, n]),
    );

    const agents = await deps.store.directory.listAgents();
    const known = new Map((await deps.store.agentStates.listAgentStates()).map((s) => [s.agentId, s.state]));
    const agentStates = new Map<string, number>(AGENT_STATES.map((s) => [s, 0]));
    for (const a of agents) {
      const s = known.get(a.id) ?? 'logged_out';
      agentStates.set(s, (agentStates.get(s) ?? 0) + 1);
    }
    out.metric(
      'agentline_agents',
      'gauge',
      'Agents by state.',
      [...agentStates].map(([state, n]) => [{ state }, n]),
    );

    const waiting: [Record<string, string | number>, number][] = [];
    const longest: [Record<string, string | number>, number][] = [];
    for (const company of await deps.store.directory.listCompanies()) {
      for (const d of await deps.store.directory.listDepartments(company.id)) {
        const labels = { company: company.id, department: d.code };
        const q = deps.acd.waiting(d.id);
        waiting.push([labels, q.length]);
        longest.push([
          labels,
          Math.round(q.reduce((m, cc) => Math.max(m, now - (cc.enteredAt ?? now)), 0) / 1000),
        ]);
      }
    }
    out.metric('agentline_queue_length', 'gauge', 'Calls waiting in a department queue.', waiting);
    out.metric(
      'agentline_queue_longest_wait_seconds',
      'gauge',
      'Wait of the longest-waiting call of a queue.',
      longest,
    );

    // The SIP and media layers' counters, read once the store's answers are in.
    const m = deps.metrics();
    const c = m.sip;
    out.metric('agentline_sip_messages_received_total', 'counter', 'SIP messages received.', [
      [null, c.received],
    ]);
    out.metric('agentline_sip_messages_sent_total', 'counter', 'SIP messages sent.', [[null, c.sent]]);
    out.metric(
      'agentline_sip_dropped_total',
      'counter',
      'SIP messages dropped (malformed, unroutable or failed).',
      [[null, c.dropped]],
    );
    out.metric('agentline_sip_bad_requests_total', 'counter', 'Malformed SIP requests answered with 400.', [
      [null, c.badRequests],
    ]);
    out.metric(
      'agentline_sip_retransmissions_absorbed_total',
      'counter',
      'Request retransmissions absorbed by a transaction.',
      [[null, c.retransmissionsAbsorbed]],
    );
    out.metric(
      'agentline_sip_requests_total',
      'counter',
      'SIP requests received by method.',
      [...c.requestsByMethod].sort().map(([method, n]) => [{ method }, n]),
    );
    out.metric(
      'agentline_sip_responses_total',
      'counter',
      'SIP responses sent and received by status code.',
      [...c.responsesByStatus].sort((a, b) => a[0] - b[0]).map(([code, n]) => [{ code }, n]),
    );

    const reg = m.registrar;
    out.metric('agentline_register_challenges_total', 'counter', 'REGISTER 401 challenges sent.', [
      [null, reg.challenged],
    ]);
    out.metric(
      'agentline_register_auth_failures_total',
      'counter',
      'REGISTER digest answers refused (wrong password, unknown user).',
      [[null, reg.failed]],
    );
    out.metric(
      'agentline_register_throttled_total',
      'counter',
      'REGISTERs refused with 503 because their (address, user) or address was blocked.',
      [[null, reg.throttled]],
    );
    out.metric('agentline_register_blocks_total', 'counter', 'REGISTER throttle blocks imposed.', [
      [null, reg.blocks],
    ]);

    const t = rtp.totals();
    out.metric('agentline_rtp_packets_total', 'counter', 'RTP packets.', [
      [{ direction: 'sent' }, t.packetsSent],
      [{ direction: 'received' }, t.packetsReceived],
    ]);
    out.metric('agentline_rtp_bytes_total', 'counter', 'RTP bytes (headers included).', [
      [{ direction: 'sent' }, t.bytesSent],
      [{ direction: 'received' }, t.bytesReceived],
    ]);
    out.metric('agentline_rtp_malformed_total', 'counter', 'Malformed RTP packets dropped.', [
      [null, t.malformed],
    ]);
    out.metric(
      'agentline_rtp_dropped_packets_total',
      'counter',
      'Valid RTP packets dropped by the source check: from a source that is not the peer, or held back while a new source proves itself (NAT learning).',
      [
        [{ reason: 'source' }, t.sourceDropped],
        [{ reason: 'learning' }, t.learningDropped],
      ],
    );
    out.metric('agentline_rtp_dtmf_packets_total', 'counter', 'RFC 4733 telephone-event packets received.', [
      [null, t.dtmfPackets],
    ]);

    out.metric('agentline_legs', 'gauge', 'Call legs (SIP dialog + RTP session) alive.', [
      [null, m.legs.size],
    ]);
    out.metric('agentline_rtp_ports_free', 'gauge', 'Free RTP port pairs.', [[null, m.ports.free]]);
    out.metric('agentline_rtp_ports_capacity', 'gauge', 'RTP port pairs in the range.', [
      [null, m.ports.capacity],
    ]);
    out.metric('agentline_event_streams', 'gauge', 'Open live-event (SSE) streams.', [
      [null, eventStreams()],
    ]);
    const trunks = deps.trunks.snapshot();
    out.metric(
      'agentline_trunk_registered',
      'gauge',
      'Trunk registration: 1 registered, 0 not (trunks that register only).',
      trunks.filter((t) => t.registered !== undefined).map((t) => [{ trunk: t.name }, t.registered ? 1 : 0]),
    );
    out.metric(
      'agentline_trunk_up',
      'gauge',
      'Trunk reachability (OPTIONS or registration): 1 up, 0 down, -1 unknown.',
      trunks.map((t) => [{ trunk: t.name }, t.status === 'up' ? 1 : t.status === 'down' ? 0 : -1]),
    );

    const lim = m.limits;
    out.metric('agentline_sip_tcp_connections', 'gauge', 'Open SIP TCP connections.', [[null, lim.tcpOpen]]);
    out.metric(
      'agentline_sip_tcp_refused_total',
      'counter',
      'SIP TCP connections closed at once: a cap was reached.',
      [
        [{ reason: 'total' }, lim.tcp.refusedTotal],
        [{ reason: 'per_source' }, lim.tcp.refusedPerSource],
      ],
    );
    out.metric(
      'agentline_sip_tcp_idle_closed_total',
      'counter',
      'SIP TCP connections closed for carrying no complete message.',
      [[null, lim.tcp.idleClosed]],
    );
    out.metric(
      'agentline_sip_invite_rate_limited_total',
      'counter',
      'New INVITEs refused (503) for calls per source and second.',
      [[null, lim.invites.rate]],
    );
    out.metric(
      'agentline_sip_invite_refused_total',
      'counter',
      'New INVITEs refused (503) by a call limit.',
      [
        [{ reason: 'rate' }, lim.invites.rate],
        [{ reason: 'max_calls' }, lim.invites.max_calls],
        [{ reason: 'ports_low' }, lim.invites.ports_low],
      ],
    );

    return reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(out.toString());
  });

  return rtp;
}
