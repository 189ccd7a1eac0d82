import type { Clock } from '../../util/clock.ts';
import type { SipRequest, SipResponse } from '../message/types.ts';
import type { Endpoint } from '../transport/transport.ts';
import { type TimerConfig, TxTimers } from './timers.ts';

/**
 * Client transactions, RFC 3261 §17.1: the INVITE machine (§17.1.1, timers A,
 * B, D) and the non-INVITE machine (§17.1.2, timers E, F, K).
 */
export type ClientTxState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'terminated';

const ALLOWED: Record<ClientTxState, readonly ClientTxState[]> = {
  calling: ['proceeding', 'completed', 'terminated'],
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

export interface ClientTxEnv {
  clock: Clock;
  timers: TimerConfig;
  send(req: SipRequest, to: Endpoint): void;
  /** Builds the ACK for a non-2xx final response (§17.1.1.3). */
  buildAck(req: SipRequest, res: SipResponse): SipRequest;
  onTerminated(tx: ClientTransaction): void;
}

export interface ClientTxUser {
  onResponse(res: SipResponse): void;
  /** Timer B or F fired: no final response (treated as 408). */
  onTimeout(): void;
  /**
   * §17.1.4: the connection the request went on failed (refused, reset, a TLS
   * handshake that did not verify). §8.1.3.1 treats this as a 503; without this
   * handler it is taken for a timeout.
   */
  onTransportError?(err: Error): void;
}

export class ClientTransaction {
  state: ClientTxState;
  /** Retransmission A or E, timeout B or F, wait D or K. */
  private readonly running: TxTimers;
  private interval: number;
  private ack: SipRequest | undefined;
  readonly isInvite: boolean;

  constructor(
    readonly key: string,
    readonly request: SipRequest,
    readonly destination: Endpoint,
    private readonly user: ClientTxUser,
    private readonly env: ClientTxEnv,
  ) {
    this.isInvite = request.method === 'INVITE';
    this.state = this.isInvite ? 'calling' : 'trying';
    this.interval = env.timers.t1;
    this.running = new TxTimers(env.clock);
  }

  private get reliable(): boolean {
    return this.destination.transport !== 'udp';
  }

  start(): void {
    const { clock, timers } = this.env;
    this.env.send(this.request, this.destination);
    if (!this.reliable) this.running.retransmit = clock.setTimeout(() => this.retransmit(), this.interval);
    this.running.timeout = clock.setTimeout(() => {
      if (this.state === 'completed' || this.state === 'terminated') return;
      // §17.1.1.2: Timer B only runs in Calling; once the far end rings, the TU decides how long to wait.
      if (this.isInvite && this.state !== 'calling') return;
      this.transition('terminated');
      this.user.onTimeout();
    }, 64 * timers.t1);
  }

  private retransmit(): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    // §17.1.1.2: an INVITE stops retransmitting once a provisional response arrives.
    if (this.isInvite && this.state !== 'calling') return;
    this.env.send(this.request, this.destination);
    this.interval = this.isInvite ? 2 * this.interval : Math.min(2 * this.interval, this.env.timers.t2);
    // §17.1.2.2: in Proceeding a non-INVITE retransmits every T2.
    if (!this.isInvite && this.state === 'proceeding') this.interval = this.env.timers.t2;
    this.running.retransmit = this.env.clock.setTimeout(() => this.retransmit(), this.interval);
  }

  receive(res: SipResponse): void {
    const { status } = res;
    switch (this.state) {
      case 'calling':
      case 'trying':
      case 'proceeding':
        if (status < 200) {
          if (this.state !== 'proceeding') this.transition('proceeding');
          this.user.onResponse(res);
          return;
        }
        if (this.isInvite && status < 300) {
          // §17.1.1.2: 2xx goes to the TU, which ACKs it end to end.
          this.transition('terminated');
          this.user.onResponse(res);
          return;
        }
        if (this.isInvite) {
          this.ack = this.env.buildAck(this.request, res);
          this.env.send(this.ack, this.destination);
        }
        this.transition('completed');
        this.user.onResponse(res);
        return;
      case 'completed':
        // Retransmitted final response: re-ACK it (INVITE), otherwise absorb.
        if (this.isInvite && this.ack && status >= 300) this.env.send(this.ack, this.destination);
        return;
      case 'terminated':
        return;
    }
  }

  /**
   * §9.1: once a CANCEL is sent, an INVITE still without a final response is
   * given up 64·T1 later (Timer B no longer runs once the far end rang).
   */
  cancelSent(): void {
    if (!this.isInvite || this.state === 'completed' || this.state === 'terminated') return;
    const { clock, timers } = this.env;
    clock.clearTimeout(this.running.timeout);
    this.running.timeout = clock.setTimeout(() => {
      if (this.state === 'completed' || this.state === 'terminated') return;
      this.transition('terminated');
      this.user.onTimeout();
    }, 64 * timers.t1);
  }

  /** §17.1.4: a transport failure ends the transaction at once and tells the TU. */
  transportError(err: Error): void {
    if (this.state === 'terminated' || this.state === 'completed') return;
    this.transition('terminated');
    if (this.user.onTransportError) this.user.onTransportError(err);
    else this.user.onTimeout();
  }

  private transition(to: ClientTxState): void {
    if (!ALLOWED[this.state].includes(to)) return;
    this.state = to;
    const { clock, timers } = this.env;
    // §17.1.2.2 (Figure 6): entering Proceeding leaves the running Timer E alone;
    // retransmit() resets it to T2 when it next fires.
    if (to === 'completed') {
      this.running.clear();
      // Timer D (INVITE: 64·T1, which is the 32 s minimum at the default T1) or K
      // (T4); zero on reliable transports.
      const wait = this.reliable ? 0 : this.isInvite ? 64 * timers.t1 : timers.t4;
      this.running.wait = clock.setTimeout(() => this.transition('terminated'), wait);
    }
    if (to === 'terminated') {
      this.running.clear();
      this.env.onTerminated(this);
    }
  }

  destroy(): void {
    if (this.state !== 'terminated') this.transition('terminated');
  }
}
