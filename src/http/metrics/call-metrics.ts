import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AcdEvent } from '../../acd/acd.ts';
import type { AgentStateChange } from '../../acd/agent-state.ts';
import type { HttpDeps } from '../deps.ts';

type DepartmentLabels = { company: string; department: string };

/** Seconds; 20 s is the usual service-level threshold (80 % answered within 20 s). */
const WAIT_BUCKETS = [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];
const HANDLE_BUCKETS = [10, 30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600];

/**
 * Customer-call metrics, from the ACD's events and the agents' state changes (nothing is
 * asked of the ACD itself): calls by outcome, queue waits and handle times per department.
 * Labels are the identifiers people use — company id and department code — looked up
 * when the event comes, never the department's database id.
 */
export class CallMetrics {
  private readonly calls: Counter<'company' | 'department' | 'outcome'>;
  private readonly wait: Histogram<'company' | 'department' | 'outcome'>;
  private readonly handle: Histogram<'company' | 'department'>;
  /** Per call: where and since when it waits (its last `enter`). */
  private readonly waiting = new Map<string, { departmentId: number | null; at: number }>();
  /** Per agent connected by the queue: the call's department and when they were connected. */
  private readonly handling = new Map<
    number,
    { departmentId: number | null; companyId: number; at: number }
  >();
  private readonly unsubscribe: (() => void)[];

  constructor(
    register: Registry,
    private readonly deps: Pick<HttpDeps, 'acd' | 'agentStates' | 'store'>,
    private readonly log: Logger,
  ) {
    this.calls = new Counter({
      name: 'agentline_calls_total',
      help: 'Customer calls ended, by outcome (as in the CDR) and the department they ended in.',
      labelNames: ['company', 'department', 'outcome'],
      registers: [register],
    });
    this.wait = new Histogram({
      name: 'agentline_queue_wait_seconds',
      help: "Time a call waited in a department's queue, each time it entered one, until it was connected to an agent (answered: ringing, whisper and accept key included), its caller hung up (abandoned) or it overflowed.",
      labelNames: ['company', 'department', 'outcome'],
      buckets: WAIT_BUCKETS,
      registers: [register],
    });
    this.handle = new Histogram({
      name: 'agentline_handle_seconds',
      help: 'Time an agent spent on a queue call of a department: talk, hold and wrap-up, from connect until the agent is free.',
      labelNames: ['company', 'department'],
      buckets: HANDLE_BUCKETS,
      registers: [register],
    });
    this.unsubscribe = [
      deps.acd.onEvent((e) => this.onAcdEvent(e)),
      deps.agentStates.onChange((c) => this.onAgentState(c)),
    ];
  }

  private onAcdEvent(e: AcdEvent): void {
    switch (e.kind) {
      case 'enter':
        this.waiting.set(e.callId, { departmentId: e.departmentId, at: e.at });
        return;
      case 'connect':
        this.endWait(e, 'answered');
        if (e.agentId !== null) {
          this.endHandling(e.agentId, e.at);
          this.handling.set(e.agentId, { departmentId: e.departmentId, companyId: e.companyId, at: e.at });
        }
        return;
      case 'abandon':
        return this.endWait(e, 'abandoned');
      case 'overflow':
        return this.endWait(e, 'overflow');
      case 'ended':
        this.waiting.delete(e.callId);
        if (e.detail !== null)
          this.observe(e.companyId, e.departmentId, (labels) =>
            this.calls.inc({ ...labels, outcome: e.detail ?? '' }),
          );
        return;
      default:
        return;
    }
  }

  /** The agent's part ends when they are neither talking nor wrapping up. */
  private onAgentState(c: AgentStateChange): void {
    if (c.to !== 'busy' && c.to !== 'wrap_up') this.endHandling(c.agentId, c.at);
  }

  private endWait(e: AcdEvent, outcome: 'answered' | 'abandoned' | 'overflow'): void {
    const w = this.waiting.get(e.callId);
    // No `enter` in this department: it overflowed before queueing (nobody logged in).
    if (!w || w.departmentId !== e.departmentId) return;
    this.waiting.delete(e.callId);
    const seconds = Math.max(0, e.at - w.at) / 1000;
    this.observe(e.companyId, e.departmentId, (labels) => this.wait.observe({ ...labels, outcome }, seconds));
  }

  private endHandling(agentId: number, at: number): void {
    const h = this.handling.get(agentId);
    if (!h) return;
    this.handling.delete(agentId);
    const seconds = Math.max(0, at - h.at) / 1000;
    this.observe(h.companyId, h.departmentId, (labels) => this.handle.observe(labels, seconds));
  }

  /** Runs `record` with the department's code once it is read (the event has its database id). */
  private observe(
    companyId: number,
    departmentId: number | null,
    record: (l: DepartmentLabels) => void,
  ): void {
    const code =
      departmentId === null
        ? Promise.resolve('')
        : this.deps.store.directory.getDepartment(departmentId).then((d) => d?.code ?? '');
    code.then(
      (department) => record({ company: String(companyId), department }),
      (err: unknown) => this.log.debug({ err, departmentId }, 'department of a call metric not read'),
    );
  }

  close(): void {
    for (const off of this.unsubscribe) off();
  }
}
