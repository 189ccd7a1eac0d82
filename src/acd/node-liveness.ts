/**
 * Node liveness (issue 15 item 3): every node beats into the live store every `intervalMs`, and
 * at each beat takes out the nodes silent for `staleMs` — its calls died with it (their dialogs
 * and media were there), so the agents they held are freed (`node_lost` in their history), its
 * CDRs closed as `node_lost`, its queue places gone. Exactly one surviving node does each
 * clean-up (the store's conditional delete of the node's row), and re-arms the break and wrap-up
 * timers the lost node may have owned.
 */
import type { Logger } from 'pino';
import type { LiveStore, LostNode } from '../store/live.ts';
import type { AgentStateMachine } from './agent-state.ts';

export const HEARTBEAT_MS = 2000;
/** Three missed beats: a node lost is freed within staleMs + HEARTBEAT_MS = 8 s. */
export const STALE_MS = 6000;
export const REASON_NODE_LOST = 'node_lost';

export interface NodeLivenessDeps {
  live: LiveStore;
  states: AgentStateMachine;
  logger: Pick<Logger, 'warn' | 'error'>;
  intervalMs?: number;
  staleMs?: number;
  /** Run after each beat (this node's own periodic checks of the shared state). */
  onBeat?: () => Promise<void>;
}

export class NodeLiveness {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();

  constructor(private readonly deps: NodeLivenessDeps) {}

  /** The first beat now; then one each interval (real time: other processes watch it). */
  async start(): Promise<void> {
    await this.deps.live.heartbeat();
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.beat());
    }, this.deps.intervalMs ?? HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Takes `lost` out on this node's side: frees its agents, re-arms the timers it may have owned. */
  async recover(lost: LostNode, reason: string): Promise<void> {
    await this.deps.states.recoverLost(lost.agents, reason);
    await this.deps.live.send({ kind: 'pass', from: this.deps.live.nodeId });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
  }

  private async beat(): Promise<void> {
    const { live, logger } = this.deps;
    try {
      await live.heartbeat();
      for (const lost of await live.takeLostNodes(this.deps.staleMs ?? STALE_MS)) {
        logger.warn(
          { node: lost.nodeId, agents: lost.agents, calls: lost.calls },
          'node lost (no heartbeat): its agents are freed and its calls closed as node_lost',
        );
        await this.recover(lost, REASON_NODE_LOST);
      }
      await this.deps.onBeat?.();
    } catch (err) {
      logger.warn({ err }, 'node heartbeat failed (PostgreSQL unreachable?)');
    }
  }
}
