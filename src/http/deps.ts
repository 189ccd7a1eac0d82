import type { AgentStateMachine } from '../acd/agent-state.ts';
import type { Acd } from '../acd/acd.ts';
import type { AgentAvailability } from '../acd/availability.ts';
import type { FloorEvents } from '../acd/floor-events.ts';
import type { Leg } from '../call/leg.ts';
import type { MonitorCalls } from '../ivr/service-menu/monitor-call.ts';
import type { WorkerStats } from '../media/workers/worker-media.ts';
import type { InviteAdmission } from '../sip/limits/invite-admission.ts';
import type { RegistrarStats } from '../sip/registrar/registrar.ts';
import type { StackCounters } from '../sip/stack.ts';
import type { DigestAlgorithm } from '../sip/registrar/digest.ts';
import type { TcpTransport } from '../sip/transport/tcp.ts';
import type { LiveStore } from '../store/live.ts';
import type { Store } from '../store/store.ts';
import type { Trunks } from '../trunks/trunks.ts';
import type { Clock } from '../util/clock.ts';

/**
 * What the HTTP API may see and do (issue 12): the directory and its rules (`store`), agent
 * states, a read model of live calls and queues, the trunks, and a metrics snapshot. Built by
 * `server.ts`; no route reaches the Server or a SIP/RTP object it is not given here.
 */
export interface HttpDeps {
  store: Store;
  clock: Clock;
  /** Where call recordings are (their rows name files under it). */
  recordingsDir: string;
  /** Agent states: read, watched, and moved by the API (SPEC §3). */
  agentStates: AgentStateMachine;
  /** Live calls and queues (Acd); a supervisor ends a call or forces an agent out of one. */
  acd: Pick<Acd, 'liveCalls' | 'waiting' | 'onEvent' | 'endCall' | 'forceAgent'>;
  /** Several nodes (issue 15): agent changes and call events of every node, for the event stream. */
  floor?: Pick<FloorEvents, 'onChange' | 'onEvent'>;
  /** The console's listen/whisper/barge: calls the supervisor's phone; absent: 503. */
  monitorCalls?: Pick<MonitorCalls, 'call'>;
  /** Several nodes (issue 15): the live calls of every node, for the board. */
  live?: Pick<LiveStore, 'nodeId' | 'floorCalls'>;
  /** Whether a call of ours holds an agent (the queue view's ready count, agent deletion). */
  availability: Pick<AgentAvailability, 'isReserved'>;
  trunks: Pick<Trunks, 'view' | 'reload' | 'snapshot'>;
  /** SIP accounts: the server's default digest algorithms; `reload` after a change in the store. */
  sipAccounts: {
    /** The realm of the accounts the API manages (the registrar's). */
    realm: string;
    defaultAlgorithms(): readonly DigestAlgorithm[] | undefined;
    reload(): Promise<void>;
  };
  /** `/healthz` and sign-in. */
  status: {
    ready(): boolean;
    sipPort(): number;
    adminTokenSha256(): string;
    metricsToken(): string | undefined;
  };
  /** Counters and gauges of the SIP and media layers, read at each scrape. */
  metrics(): MetricsSnapshot;
}

export interface MetricsSnapshot {
  /** Legs alive now (RTP counters are summed over them). */
  legs: ReadonlySet<Leg>;
  ports: { free: number; capacity: number };
  /** Per media worker (none with local media, --media-workers 0). */
  mediaWorkers(): readonly WorkerStats[];
  sip: StackCounters;
  registrar: RegistrarStats;
  /** Registrations alive now. */
  registrations(): { users: number; bindings: number };
  limits: {
    tcp: TcpTransport['stats'];
    tcpOpen: number;
    invites: InviteAdmission['counters'];
  };
}
