import type { Clock } from '../../util/clock.ts';
import { StatefulFlow, type TransitionTable } from '../../util/state-machine.ts';
import type { SipRequest, SipResponse } from '../message/types.ts';
import type { Endpoint } from '../transport/transport.ts';
import type { TimerConfig } from './timers.ts';

/**
 * Server transactions, RFC 3261 §17.2. One class serves both kinds: the INVITE
 * machine (§17.2.1, timers G, H, I) and the non-INVITE machine (§17.2.2, timer J)
 * differ only in which states and timers they use, and the table below says which.
 */
export type ServerTxState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'terminated';

export const SERVER_TX_TRANSITIONS: TransitionTable<ServerTxState> = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  terminated: [],
};

export interface ServerTxEnv {
  clock: Clock;
  timers: TimerConfig;
  /** Sends a response to the address §18.2.2 picks for this transaction. */
  send(res: SipResponse, to: Endpoint): void;
  onTerminated(tx: ServerTransaction): void;
}

export class ServerTransaction extends StatefulFlow<ServerTxState> {
  lastResponse: SipResponse | undefined;
  private lastBytes: SipResponse | undefined;
  private interval: number;
  /** Called when the ACK for a non-2xx final response arrives (INVITE only). */
  onAck: ((ack: SipRequest) => void) | null = null;
  /** Timer H fired: the ACK never came. */
  onTimeout: (() => void) | null = null;
  readonly isInvite: boolean;

  constructor(
    readonly key: string,
    readonly request: SipRequest,
    readonly source: Endpoint,
    readonly responseTarget: Endpoint,
    private readonly env: ServerTxEnv,
  ) {
    const isInvite = request.method === 'INVITE';
    // §17.2.1: an INVITE server transaction starts in Proceeding; §17.2.2: others in Trying.
    super({
      name: 'server-transaction',
      initial: isInvite ? 'proceeding' : 'trying',
      transitions: SERVER_TX_TRANSITIONS,
      clock: env.clock,
    });
    this.isInvite = isInvite;
    this.interval = env.timers.t1;
    this.onStateChange(({ to }) => this.entered(to));
  }

  private get reliable(): boolean {
    return this.source.transport !== 'udp';
  }

  /** The transaction user's response. Final responses move the machine on. */
  respond(res: SipResponse): void {
    if (!this.machine.is('trying', 'proceeding')) return;
    this.lastResponse = res;
    this.lastBytes = res;
    this.env.send(res, this.responseTarget);
    if (res.status < 200) {
      if (this.state === 'trying') this.machine.transition('proceeding', 'provisional');
      return;
    }
    if (this.isInvite && res.status < 300) {
      // §17.2.1: a 2xx ends the transaction; the UA core retransmits the 2xx itself.
      this.machine.transition('terminated', '2xx');
      return;
    }
    this.machine.transition('completed', 'final');
  }

  /** A retransmission of the request (or an ACK for our non-2xx) reached us. */
  receive(req: SipRequest): void {
    if (req.method === 'ACK') {
      if (this.isInvite && this.state === 'completed') {
        this.machine.transition('confirmed', 'ACK');
        this.onAck?.(req);
      }
      return;
    }
    // Retransmitted request: §17.2.1/§17.2.2 resend the most recent response.
    if (this.machine.is('proceeding', 'completed') && this.lastBytes) {
      this.env.send(this.lastBytes, this.responseTarget);
    }
  }

  /** The transport failed to deliver a response (§17.2.4). */
  transportError(): void {
    this.machine.transition('terminated', 'transport error');
  }

  /** Leaving a state has cleared its timers (G and H stop at Confirmed); this arms the new one's. */
  private entered(to: ServerTxState): void {
    const { timers } = this.env;
    const end = (reason: string) => () => this.machine.transition('terminated', reason);
    switch (to) {
      case 'completed':
        if (this.isInvite) {
          if (!this.reliable) this.machine.arm(this.interval, () => this.fireG());
          this.machine.arm(64 * timers.t1, () => {
            this.onTimeout?.();
            this.machine.transition('terminated', 'timer H');
          });
        } else {
          this.machine.arm(this.reliable ? 0 : 64 * timers.t1, end('timer J'));
        }
        break;
      case 'confirmed':
        this.machine.arm(this.reliable ? 0 : timers.t4, end('timer I'));
        break;
      case 'terminated':
        this.env.onTerminated(this);
        break;
      default:
        break;
    }
  }

  /** Timer G: only armed, so only fired, in Completed. */
  private fireG(): void {
    if (!this.lastBytes) return;
    this.env.send(this.lastBytes, this.responseTarget);
    this.interval = Math.min(2 * this.interval, this.env.timers.t2);
    this.machine.arm(this.interval, () => this.fireG());
  }

  /** Ends the machine at once (shutdown). */
  destroy(): void {
    this.machine.transition('terminated', 'destroyed');
  }
}
