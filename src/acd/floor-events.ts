/**
 * The console's live events of the whole floor (issue 15): this node's agent state changes and
 * queue events go out on the live store's channel (LISTEN/NOTIFY), and those of the other nodes
 * come in, so every node's event stream (SSE) shows every agent and every call. Metrics stay
 * per node: they listen to the local sources, not to this.
 */
import type { Logger } from 'pino';
import type { LiveStore } from '../store/live.ts';
import type { AgentStateChange, AgentStateListener, AgentStateMachine } from './agent-state.ts';
import type { AcdEvent } from './call-log.ts';

type Topic = 'agent' | 'call';

export class FloorEvents {
  private readonly agentListeners = new Set<AgentStateListener>();
  private readonly callListeners = new Set<(e: AcdEvent) => void>();
  private readonly offs: (() => void)[];

  constructor(
    private readonly live: LiveStore,
    local: {
      agentStates: Pick<AgentStateMachine, 'onChange'>;
      acd: { onEvent(fn: (e: AcdEvent) => void): () => void };
    },
    private readonly log: Pick<Logger, 'warn'>,
  ) {
    this.offs = [
      local.agentStates.onChange((c) => {
        this.tell('agent', c);
        this.share('agent', c);
      }),
      local.acd.onEvent((e) => {
        this.tell('call', e);
        this.share('call', e);
      }),
      live.onMessage((m) => {
        if (m.kind !== 'event' || m.from === live.nodeId) return;
        if (m.topic === 'agent' || m.topic === 'call') this.tell(m.topic, m.data);
      }),
    ];
  }

  /** Agent state changes on every node. */
  onChange(fn: AgentStateListener): () => void {
    this.agentListeners.add(fn);
    return () => this.agentListeners.delete(fn);
  }

  /** Queue and call events on every node. */
  onEvent(fn: (e: AcdEvent) => void): () => void {
    this.callListeners.add(fn);
    return () => this.callListeners.delete(fn);
  }

  close(): void {
    for (const off of this.offs) off();
    this.agentListeners.clear();
    this.callListeners.clear();
  }

  private tell(topic: Topic, data: unknown): void {
    if (topic === 'agent') for (const fn of [...this.agentListeners]) fn(data as AgentStateChange);
    else for (const fn of [...this.callListeners]) fn(data as AcdEvent);
  }

  private share(topic: Topic, data: unknown): void {
    this.live
      .send({ kind: 'event', from: this.live.nodeId, topic, data })
      .catch((err: unknown) =>
        this.log.warn({ err }, 'could not share a console event with the other nodes'),
      );
  }
}
