import type { Clock, TimerHandle } from '../../util/clock.ts';
import { StatefulFlow, type TransitionTable } from '../../util/state-machine.ts';
import type { SipRequest, SipResponse } from '../message/types.ts';
import type { Endpoint } from '../transport/transport.ts';
import type { TimerConfig } from './timers.ts';

/**
 * Client transactions, RFC 3261 §17.1: the INVITE machine (§17.1.1, timers A,
 * B, D) and the non-INVITE machine (§17.1.2, timers E, F, K).
 */
export type ClientTxState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'terminated';

export const CLIENT_TX_TRANSITIONS: TransitionTable<ClientTxState> = {
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

/** Timer A (INVITE) only runs in Calling; Timer E (non-INVITE) in Trying and Proceeding. */
const RETRANSMITTING: Record<'invite' | 'other', readonly ClientTxState[]> = {
  invite: ['calling'],
  other: ['trying', 'proceeding'],
};

export class ClientTransaction extends StatefulFlow<ClientTxState> {
  /** Timer B or F, or the 64·T1 wait after a CANCEL (§9.1). */
  private timeout: TimerHandle | undefined;
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
    const isInvite = request.method === 'INVITE';
    super({
      name: 'client-transaction',
      initial: isInvite ? 'calling' : 'trying',
      transitions: CLIENT_TX_TRANSITIONS,
      clock: env.clock,
    });
    this.isInvite = isInvite;
    this.interval = env.timers.t1;
    this.onStateChange(({ to }) => this.entered(to));
  }

  private get reliable(): boolean {
    return this.destination.transport !== 'udp';
  }

  private get retransmitting(): readonly ClientTxState[] {
    return RETRANSMITTING[this.isInvite ? 'invite' : 'other'];
  }

  start(): void {
    this.env.send(this.request, this.destination);
    if (!this.reliable) this.armRetransmit();
    // §17.1.1.2: Timer B only runs in Calling; once the far end rings, the TU decides how long to wait.
    // Timer F runs through Trying and Proceeding.
    this.timeout = this.machine.arm(64 * this.env.timers.t1, () => this.timedOut(), this.retransmitting);
  }

  private armRetransmit(): void {
    this.machine.arm(this.interval, () => this.retransmit(), this.retransmitting);
  }

  private retransmit(): void {
    this.env.send(this.request, this.destination);
    this.interval = this.isInvite ? 2 * this.interval : Math.min(2 * this.interval, this.env.timers.t2);
    // §17.1.2.2: in Proceeding a non-INVITE retransmits every T2.
    if (!this.isInvite && this.state === 'proceeding') this.interval = this.env.timers.t2;
    this.armRetransmit();
  }

  private timedOut(): void {
    this.machine.transition('terminated', 'timeout');
    this.user.onTimeout();
  }

  receive(res: SipResponse): void {
    const { status } = res;
    switch (this.state) {
      case 'calling':
      case 'trying':
      case 'proceeding':
        if (status < 200) {
          if (this.state !== 'proceeding') this.machine.transition('proceeding', 'provisional');
          this.user.onResponse(res);
          return;
        }
        if (this.isInvite && status < 300) {
          // §17.1.1.2: 2xx goes to the TU, which ACKs it end to end.
          this.machine.transition('terminated', '2xx');
          this.user.onResponse(res);
          return;
        }
        if (this.isInvite) {
          this.ack = this.env.buildAck(this.request, res);
          this.env.send(this.ack, this.destination);
        }
        this.machine.transition('completed', 'final');
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
    if (!this.isInvite || !this.machine.is('calling', 'proceeding')) return;
    this.machine.disarm(this.timeout);
    this.timeout = this.machine.arm(64 * this.env.timers.t1, () => this.timedOut(), [
      'calling',
      'proceeding',
    ]);
  }

  /** §17.1.4: a transport failure ends the transaction at once and tells the TU. */
  transportError(err: Error): void {
    if (!this.machine.is('calling', 'trying', 'proceeding')) return;
    this.machine.transition('terminated', 'transport error');
    if (this.user.onTransportError) this.user.onTransportError(err);
    else this.user.onTimeout();
  }

  /** Leaving a state has cleared its timers (A/E, B/F stop at Completed); this arms the new one's. */
  private entered(to: ClientTxState): void {
    // §17.1.2.2 (Figure 6): entering Proceeding leaves the running Timer E alone;
    // retransmit() resets it to T2 when it next fires.
    if (to === 'completed') {
      const { timers } = this.env;
      // Timer D (INVITE: 64·T1, which is the 32 s minimum at the default T1) or K
      // (T4); zero on reliable transports.
      const wait = this.reliable ? 0 : this.isInvite ? 64 * timers.t1 : timers.t4;
      this.machine.arm(wait, () =>
        this.machine.transition('terminated', this.isInvite ? 'timer D' : 'timer K'),
      );
    }
    if (to === 'terminated') this.env.onTerminated(this);
  }

  destroy(): void {
    this.machine.transition('terminated', 'destroyed');
  }
}
