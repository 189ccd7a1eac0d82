import type { Clock } from '../../util/clock.ts';
import type { SipRequest, SipResponse } from '../message/types.ts';
import type { Endpoint } from '../transport/transport.ts';
import { type TimerConfig, TxTimers } from './timers.ts';

/**
 * Server transactions, RFC 3261 §17.2. One class serves both kinds: the INVITE
 * machine (§17.2.1, timers G, H, I) and the non-INVITE machine (§17.2.2, timer J)
 * differ only in which states and timers they use, and the table below says which.
 */
export type ServerTxState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'terminated';

const ALLOWED: Record<ServerTxState, readonly ServerTxState[]> = {
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

export class ServerTransaction {
  state: ServerTxState;
  lastResponse: SipResponse | undefined;
  private lastBytes: SipResponse | undefined;
  /** Retransmission G, timeout H or J, wait I. */
  private readonly running: TxTimers;
  private interval: number;
  /** Called when the ACK for a non-2xx final response arrives (INVITE only). */
  onAck: ((ack: SipRequest) => void) | null = null;
  /** Timer H fired: the ACK never came. */
  onTimeout: (() => void) | null = null;

  constructor(
    readonly key: string,
    readonly request: SipRequest,
    readonly source: Endpoint,
    readonly responseTarget: Endpoint,
    private readonly env: ServerTxEnv,
  ) {
    this.isInvite = request.method === 'INVITE';
    // §17.2.1: an INVITE server transaction starts in Proceeding; §17.2.2: others in Trying.
    this.state = this.isInvite ? 'proceeding' : 'trying';
    this.interval = env.timers.t1;
    this.running = new TxTimers(env.clock);
  }

  readonly isInvite: boolean;
  private get reliable(): boolean {
    return this.source.transport !== 'udp';
  }

  /** The transaction user's response. Final responses move the machine on. */
  respond(res: SipResponse): void {
    if (this.state === 'completed' || this.state === 'confirmed' || this.state === 'terminated') return;
    this.lastResponse = res;
    this.lastBytes = res;
    this.env.send(res, this.responseTarget);
    if (res.status < 200) {
      if (this.state === 'trying') this.transition('proceeding');
      return;
    }
    if (this.isInvite && res.status < 300) {
      // §17.2.1: a 2xx ends the transaction; the UA core retransmits the 2xx itself.
      this.transition('terminated');
      return;
    }
    this.transition('completed');
  }

  /** A retransmission of the request (or an ACK for our non-2xx) reached us. */
  receive(req: SipRequest): void {
    if (req.method === 'ACK') {
      if (this.isInvite && this.state === 'completed') {
        this.transition('confirmed');
        this.onAck?.(req);
      }
      return;
    }
    // Retransmitted request: §17.2.1/§17.2.2 resend the most recent response.
    if ((this.state === 'proceeding' || this.state === 'completed') && this.lastBytes) {
      this.env.send(this.lastBytes, this.responseTarget);
    }
  }

  /** The transport failed to deliver a response (§17.2.4). */
  transportError(): void {
    this.transition('terminated');
  }

  private transition(to: ServerTxState): void {
    if (!ALLOWED[this.state].includes(to)) return;
    this.state = to;
    const { clock, timers } = this.env;
    switch (to) {
      case 'completed':
        if (this.isInvite) {
          if (!this.reliable) this.running.retransmit = clock.setTimeout(() => this.fireG(), this.interval);
          this.running.timeout = clock.setTimeout(() => {
            this.onTimeout?.();
            this.transition('terminated');
          }, 64 * timers.t1);
        } else {
          const j = this.reliable ? 0 : 64 * timers.t1;
          this.running.timeout = clock.setTimeout(() => this.transition('terminated'), j);
        }
        break;
      case 'confirmed':
        this.running.clear();
        this.running.wait = clock.setTimeout(
          () => this.transition('terminated'),
          this.reliable ? 0 : timers.t4,
        );
        break;
      case 'terminated':
        this.running.clear();
        this.env.onTerminated(this);
        break;
      default:
        break;
    }
  }

  private fireG(): void {
    if (this.state !== 'completed' || !this.lastBytes) return;
    this.env.send(this.lastBytes, this.responseTarget);
    this.interval = Math.min(2 * this.interval, this.env.timers.t2);
    this.running.retransmit = this.env.clock.setTimeout(() => this.fireG(), this.interval);
  }

  /** Ends the machine at once (shutdown). */
  destroy(): void {
    if (this.state !== 'terminated') this.transition('terminated');
  }
}
